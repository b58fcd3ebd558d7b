"""The app factory: one call builds the server of an image from its ALLOWED_TASKS."""

from __future__ import annotations

import contextlib
import logging
from typing import AsyncIterator, Callable, Mapping, Optional, Type

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Route

from ..pipelines import Pipeline
from ..runtime.logs import configure_logging
from ..runtime.service import Service
from ..runtime.settings import Settings, get_settings
from . import handlers
from .headers import EXPOSED_HEADERS

logger = logging.getLogger(__name__)


def create_app(
    allowed_tasks: Mapping[str, Type[Pipeline]],
    settings: Optional[Settings] = None,
) -> Starlette:
    """Build the server for an image: `ALLOWED_TASKS` maps task names to Pipeline classes."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    service = Service(allowed_tasks, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if service.engine is not None:
            service.engine.start()
        else:
            logger.error(service.unknown_task().message)
        yield
        if service.engine is not None:
            await service.engine.stop(settings.shutdown_grace_s)

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
        Route("/{path:path}", handlers.status_ok, methods=["GET"]),
        Route("/{path:path}", handlers.inference, methods=["POST"]),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.service = service
    app.get_pipeline = _pipeline_getter(service)  # type: ignore[attr-defined]  # upstream compatibility
    return app


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
