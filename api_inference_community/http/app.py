"""The app factory: one call builds the server of an image from its ALLOWED_TASKS."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import AsyncIterator, Callable, Mapping, Optional, Type

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Route

from ..hub.libraries import IMAGES_DIR
from ..pipelines import Pipeline
from ..runtime.lifecycle import PROCESS
from ..runtime.logs import configure_logging
from ..runtime.service import Service
from ..runtime.settings import Settings, get_settings
from . import handlers
from .headers import EXPOSED_HEADERS
from .openapi import openapi_endpoint
from .responses import http_error

logger = logging.getLogger(__name__)


def create_app(
    allowed_tasks: Mapping[str, Type[Pipeline]],
    settings: Optional[Settings] = None,
    library: Optional[str] = None,
) -> Starlette:
    """Build the server for an image: `ALLOWED_TASKS` maps task names to Pipeline classes.

    With MODEL_ID, the server serves that model on every path; without (or with MULTI_MODEL=1),
    it serves any model of its library by URL (`/models/{org/name}`). `library`: the library's
    name (LIBRARY_NAME, else the image folder the pipelines live in).
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    service = Service(allowed_tasks, settings, library or library_of(allowed_tasks, settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if service.models is not None:
            await service.models.start()
        elif service.engine is not None:
            service.engine.start()
        else:
            logger.error(service.unknown_task().message)
        yield
        grace = PROCESS.remaining(settings.shutdown_grace_s)  # what the server's shutdown left of it
        if service.models is not None:
            await service.models.stop(grace)
        elif service.engine is not None:
            await service.engine.stop(grace)

    middleware = [Middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes)]
    if settings.cors_allow_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_allow_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["*"],
                expose_headers=EXPOSED_HEADERS.split(", "),
            )
        )
    routes = [
        Route("/health", handlers.liveness, methods=["GET"]),
        Route("/ready", handlers.readiness, methods=["GET"]),
        Route("/metrics", handlers.metrics_endpoint, methods=["GET"]),
        Route("/info", handlers.info, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint, methods=["GET"]),
    ]
    if service.models is not None:
        routes += [
            Route("/models", handlers.list_models, methods=["GET"]),
            Route("/models/{model_id:path}/pipeline/{task}", handlers.model_inference, methods=["POST"]),
            Route("/models/{model_id:path}", handlers.model_inference, methods=["POST"]),
            Route("/pipeline/{task}/{model_id:path}", handlers.model_inference, methods=["POST"]),
            Route("/status/{model_id:path}", handlers.model_status, methods=["GET"]),
        ]
    routes += [
        Route("/{path:path}", handlers.status_ok, methods=["GET"]),
        Route("/{path:path}", handlers.inference, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    app.state.service = service
    app.get_pipeline = _pipeline_getter(service)  # type: ignore[attr-defined]  # upstream compatibility
    return app


def library_of(allowed_tasks: Mapping[str, Type[Pipeline]], settings: Settings) -> str:
    """The library an app serves: LIBRARY_NAME, else the `docker_images/<library>` its pipelines come from."""
    if settings.library_name:
        return settings.library_name
    for pipeline_class in allowed_tasks.values():
        module = sys.modules.get(pipeline_class.__module__)
        path = Path(getattr(module, "__file__", "") or "").resolve()
        for parent in path.parents:
            if parent.parent.name == IMAGES_DIR:
                return parent.name
    return "unknown"


def _pipeline_getter(service: Service) -> Callable[[], Pipeline]:
    def get_pipeline() -> Pipeline:
        """The loaded pipeline (upstream apps call `app.get_pipeline()`)."""
        engine = service.engine
        if engine is None:
            raise OSError(service.unknown_task().message)
        if engine.pipeline is None:
            raise OSError(f"Model {service.settings.model_id} is {engine.state.value}")
        return engine.pipeline

    return get_pipeline
