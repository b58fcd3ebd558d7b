"""The engines behind `pipeline_route`: the core's `InferenceEngine`, one per task, kept on the app.

Upstream apps build their own Starlette app and hand their model over with `app.get_pipeline()`.
Here that model runs in an `InferenceEngine` like any `create_app` model (one worker thread, a
bounded queue, a deadline per request, jobs dropped when their client leaves, metrics): the
engine's "pipeline class" calls `app.get_pipeline()` in its worker thread. Upstream reads TASK on
every request, so there is an engine per task, created on first use; one whose load failed is
dropped, and the next request tries again, as upstream calls `get_pipeline()` on every request.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from starlette.applications import Starlette

from ..errors import InvalidInput
from ..hub.resolve import is_local_model
from ..pipelines import Pipeline
from ..runtime.admission import DecodePool, MemoryBudget
from ..runtime.engine import InferenceEngine
from ..runtime.metrics import Metrics
from ..runtime.settings import Settings, get_settings
from ..tasks.registry import TaskSpec
from .events import add_shutdown_handler

logger = logging.getLogger(__name__)


class UpstreamPipeline(Pipeline):
    """An upstream app's pipeline object behind the core's `Pipeline` interface.

    Upstream shows the message of an AssertionError, ValueError or TypeError raised by a pipeline
    to the client (400); other exceptions are the engine's 500, their details in the log only.
    """

    def __init__(self, pipe: Any) -> None:
        self.pipe = pipe
        try:
            self.sampling_rate = pipe.sampling_rate
        except Exception:  # undeclared: audio tasks answer 500, as upstream
            self.sampling_rate = None

    def __call__(self, inputs: Any, **parameters: Any) -> Any:
        try:
            return self.pipe(inputs, **parameters)
        except (AssertionError, ValueError, TypeError) as error:
            raise InvalidInput(str(error)) from error


@dataclass
class LegacyModel:
    """The engine of one task, and why `get_pipeline()` failed if it did (shown to clients, as upstream)."""

    engine: InferenceEngine
    load_errors: List[str]

    @property
    def load_error(self) -> Optional[str]:
        return self.load_errors[-1] if self.load_errors else None


@dataclass
class LegacyModels:
    """What `pipeline_route` keeps per app: its settings, engines by task, metrics and admission bounds."""

    app: Starlette
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    models: Dict[str, LegacyModel] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bodies = MemoryBudget(self.settings.body_memory_budget, "request body data")
        self.decoders = DecodePool(self.settings.decode_workers)

    def engine(self, spec: TaskSpec) -> LegacyModel:
        """The model serving `spec`, its engine started (loading) on first use."""
        model = self.models.get(spec.name)
        if model is None:
            model = self.models[spec.name] = self._start(spec)
        return model

    def _start(self, spec: TaskSpec) -> LegacyModel:
        app, load_errors = self.app, []

        def load(path: str) -> Pipeline:
            try:
                pipe = app.get_pipeline()  # type: ignore[attr-defined]
            except Exception as error:
                load_errors.append(str(error))
                raise
            return UpstreamPipeline(pipe)

        settings = self.settings.model_copy(update={"task": spec.name})
        engine = InferenceEngine(spec, load, settings, self.metrics, resolve=lambda: _model_folder(settings))
        engine.start()
        return LegacyModel(engine, load_errors)

    def forget(self, spec: TaskSpec, model: LegacyModel) -> None:
        """Drop a model whose engine cannot serve (failed load, dead worker): the next request loads again."""
        if self.models.get(spec.name) is model:
            del self.models[spec.name]

    async def stop(self) -> None:
        """Stop every engine (the app shuts down); a later request starts them again."""
        models, self.models = list(self.models.values()), {}
        await asyncio.gather(*(model.engine.stop(self.settings.shutdown_grace_s) for model in models))


def _model_folder(settings: Settings) -> Path:
    """Where the load-time estimate looks: MODEL_ID when it is a folder (the app finds its model itself)."""
    return Path(settings.model_id) if is_local_model(settings.model_id) else Path(os.devnull)


def legacy_models(app: Starlette) -> LegacyModels:
    """The app's `LegacyModels`, created on the first request (the app's settings, else the environment's)."""
    models: Optional[LegacyModels] = getattr(app.state, "legacy_models", None)
    if models is None:
        settings = getattr(app.state, "settings", None) or get_settings()
        models = app.state.legacy_models = LegacyModels(app, settings)
        if not add_shutdown_handler(app, models.stop):
            logger.info("The app has no shutdown hook: its inference engines stop with the process")
    return models
