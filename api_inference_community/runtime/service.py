"""The single-model service: the served task, its engine and the server's metrics, built from settings."""

from __future__ import annotations

from typing import Mapping, Optional, Type

from ..errors import UnknownTask
from ..hub.resolve import resolve_model
from ..pipelines import Pipeline
from ..tasks.registry import TASKS, TaskSpec
from ..tasks.validation import Limits
from .engine import InferenceEngine
from .metrics import Metrics
from .settings import Settings


class Service:
    """What the routes need: settings, the task, the engine and the metrics."""

    def __init__(self, allowed_tasks: Mapping[str, Type[Pipeline]], settings: Settings) -> None:
        for task in allowed_tasks:
            if task not in TASKS:
                raise ValueError(f"ALLOWED_TASKS names `{task}`, which is not a known task")
        self.settings = settings
        self.allowed_tasks = dict(allowed_tasks)
        self.metrics = Metrics()
        self.spec: Optional[TaskSpec] = TASKS[settings.task] if settings.task in allowed_tasks else None
        self.engine: Optional[InferenceEngine] = None
        if self.spec is not None:
            self.engine = InferenceEngine(
                self.spec,
                allowed_tasks[settings.task],
                settings,
                self.metrics,
                resolve=lambda: resolve_model(settings),
            )
        else:
            self.metrics.set_state("failed")

    @property
    def sampling_rate(self) -> Optional[int]:
        engine = self.engine
        if engine is not None and engine.pipeline is not None:
            return engine.pipeline.sampling_rate
        return self.allowed_tasks[self.settings.task].sampling_rate if self.spec else None

    def unknown_task(self) -> UnknownTask:
        known = ", ".join(sorted(self.allowed_tasks)) or "none"
        task = self.settings.task or "(TASK is not set)"
        return UnknownTask(f"The task `{task}` is not supported by this image; it supports: {known}")

    def limits(self) -> Limits:
        return Limits.from_settings(self.settings, self.sampling_rate)
