"""A target: what one request is answered with (a task, a model's engine, its instruments)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple, Type

from ..pipelines import Pipeline
from ..tasks.registry import TaskSpec
from .engine import InferenceEngine
from .metrics import ModelMetrics


@dataclass(frozen=True)
class Target:
    """What one request is answered with: a task, the engine of a model, that model's instruments."""

    spec: TaskSpec
    engine: InferenceEngine
    metrics: ModelMetrics
    pipeline_class: Type[Pipeline]

    @property
    def sampling_rate(self) -> Optional[int]:
        """The rate audio is decoded at: the loaded pipeline's, else its class's."""
        pipeline = self.engine.pipeline
        return pipeline.sampling_rate if pipeline is not None else self.pipeline_class.sampling_rate

    @property
    def image_size(self) -> Optional[Tuple[int, int]]:
        """The size images may be decoded down to: the loaded pipeline's (known once loaded)."""
        pipeline = self.engine.pipeline
        return pipeline.image_size if pipeline is not None else None
