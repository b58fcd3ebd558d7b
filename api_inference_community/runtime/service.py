"""The service behind the routes: settings, metrics, admission bounds, and the model(s) it serves.

Single-model mode (MODEL_ID set): one task, one engine, built at start. Multi-model mode (no
MODEL_ID, or MULTI_MODEL=1): a `ModelCache` loading any model of the library by its URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Tuple, Type

from ..errors import UnknownTask
from ..hub.resolve import resolve_model
from ..pipelines import Pipeline
from ..tasks.registry import TASKS, TaskSpec
from ..tasks.validation import Limits
from .admission import DecodePool, MemoryBudget
from .engine import InferenceEngine
from .lifecycle import PROCESS
from .metrics import Metrics
from .models import ModelCache
from .settings import Settings
from .target import Target


class Service:
    """What the routes need: settings, metrics, admission bounds, and the engine or the model cache."""

    def __init__(
        self, allowed_tasks: Mapping[str, Type[Pipeline]], settings: Settings, library: Optional[str] = None
    ) -> None:
        for task in allowed_tasks:
            if task not in TASKS:
                raise ValueError(f"ALLOWED_TASKS names `{task}`, which is not a known task")
        self.settings = settings
        self.allowed_tasks = dict(allowed_tasks)
        self.metrics = Metrics(settings.model_id)
        self.bodies = MemoryBudget(settings.body_memory_budget, "request body data")
        self.inputs = MemoryBudget(settings.queue_memory_budget, "decoded input data")
        self.decoders = DecodePool(settings.decode_workers)
        self.models: Optional[ModelCache] = None
        self.spec: Optional[TaskSpec] = None
        self.engine: Optional[InferenceEngine] = None
        if settings.serves_many_models:
            self.models = ModelCache(allowed_tasks, settings, self.metrics, library or "unknown")
        elif settings.task in allowed_tasks:
            self.spec = TASKS[settings.task]
            pipeline_class = allowed_tasks[settings.task]
            self.engine = InferenceEngine(
                self.spec,
                pipeline_class,
                settings,
                self.metrics,
                resolve=lambda: self.resolve(pipeline_class),
                on_fatal=PROCESS.fail,
            )
        else:
            self.metrics.set_state("failed")

    def resolve(self, pipeline_class: Type[Pipeline]) -> Path:
        """The model's folder, fetching only the files the pipeline declares it needs."""
        return resolve_model(self.settings, allow_patterns=pipeline_class.model_files(self.settings))

    def target(self) -> Target:
        """The single model's target; UnknownTask (400) when TASK is not one this image serves."""
        if self.spec is None or self.engine is None:
            raise self.unknown_task()
        return Target(self.spec, self.engine, self.metrics, self.allowed_tasks[self.spec.name])

    @property
    def sampling_rate(self) -> Optional[int]:
        return self.target().sampling_rate if self.engine is not None else None

    def unknown_task(self) -> UnknownTask:
        known = ", ".join(sorted(self.allowed_tasks)) or "none"
        task = self.settings.task or "(TASK is not set)"
        return UnknownTask(f"The task `{task}` is not supported by this image; it supports: {known}")

    def limits(self, sampling_rate: Optional[int] = None, image_size: Optional[Tuple[int, int]] = None) -> Limits:
        """The request limits; audio decodes at `sampling_rate`, else at the single model's rate."""
        rate = sampling_rate if sampling_rate is not None else self.sampling_rate
        return Limits.from_settings(self.settings, rate, image_size)
