"""Run the gateway with uvicorn until SIGTERM; its pools' replicas are stopped on the way out."""

from __future__ import annotations

import logging
import math
import os
from typing import Any, List, Optional

import uvicorn
from starlette.types import ASGIApp

from ..runtime.logs import configure_logging
from ..runtime.server import serve
from .app import create_gateway_app
from .settings import GatewaySettings


def run(settings: GatewaySettings, pinned_models: Optional[List[str]] = None) -> None:
    """Serve the gateway on settings.host:port (pinned models: their pools start at once)."""
    configure_logging(settings.log_level)
    pinned = pinned_models if pinned_models is not None else _split(os.environ.get("PINNED_MODELS", ""))
    serve(uvicorn_config(create_gateway_app(settings, pinned_models=pinned), settings))


INFERENCE_PATHS = ("/models/", "/pipeline/")  # POSTs there reach `inference`, which logs each one


class LoggedByTheGateway(logging.Filter):
    """Drops uvicorn's access line of an inference request: the gateway logs it itself, with its
    request id, model, library, status and time (one line per request, not two)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (
            isinstance(args, tuple)
            and len(args) >= 3
            and args[1] == "POST"
            and str(args[2]).startswith(INFERENCE_PATHS)
        )


def uvicorn_config(app: ASGIApp, settings: GatewaySettings, **options: Any) -> uvicorn.Config:
    """The gateway's server settings (`options` override them).

    uvloop and httptools (the core installs them where they exist) carry the event loop and the
    HTTP parsing: about a fifth less CPU per proxied request than asyncio's loop and h11.
    """
    config = uvicorn.Config(
        app,
        **{
            "host": settings.host,
            "port": settings.port,
            "log_level": settings.log_level,
            "timeout_graceful_shutdown": math.ceil(settings.shutdown_grace_s),
            "proxy_headers": False,
            "server_header": False,
            "lifespan": "on",
            "loop": "auto",  # uvloop when installed
            "http": "auto",  # httptools when installed
            **options,
        },
    )
    access = logging.getLogger("uvicorn.access")  # configured by uvicorn.Config
    if not any(isinstance(f, LoggedByTheGateway) for f in access.filters):
        access.addFilter(LoggedByTheGateway())
    return config


def _split(value: str) -> List[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
