"""A module-level `get_pipeline()` for an image's `app/main.py`, as tests written for the upstream package import it.

    get_pipeline = pipeline_getter(ALLOWED_TASKS)

Calling it reads TASK and MODEL_ID (and the other settings) from the environment at that moment,
raises EnvironmentError for a task the image does not serve, and loads the pipeline from the
model's folder (a Hub id is found in, or fetched into, the cache). The result is cached:
`get_pipeline.cache_clear()` forgets it. The server itself never calls it: `create_app` loads
its model in its engine (`app.get_pipeline()` returns that one).
"""

from __future__ import annotations

import functools
import os
from typing import Callable, Mapping, Optional, Type

from ..hub.resolve import resolve_model
from ..pipelines import Pipeline
from ..runtime.settings import Settings, use_settings


def pipeline_getter(allowed_tasks: Mapping[str, Type[Pipeline]]) -> Callable[..., Pipeline]:
    """`get_pipeline(task=None, model_id=None)`: the pipeline for TASK and MODEL_ID (or those given), cached."""

    @functools.cache
    def get_pipeline(task: Optional[str] = None, model_id: Optional[str] = None) -> Pipeline:
        environ = dict(os.environ)
        environ.update({name: value for name, value in (("TASK", task), ("MODEL_ID", model_id)) if value is not None})
        settings = Settings.from_env(environ)
        if settings.task not in allowed_tasks:
            raise OSError(f"{settings.task} is not a valid pipeline for model : {settings.model_id}")
        pipeline_class = allowed_tasks[settings.task]
        with use_settings(settings):
            return pipeline_class(str(resolve_model(settings)))

    return get_pipeline
