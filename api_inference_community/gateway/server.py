"""Run the gateway with uvicorn until SIGTERM; its pools' replicas are stopped on the way out."""

from __future__ import annotations

import math
import os
from typing import List, Optional

import uvicorn

from ..runtime.logs import configure_logging
from ..runtime.server import serve
from .app import create_gateway_app
from .settings import GatewaySettings


def run(settings: GatewaySettings, pinned_models: Optional[List[str]] = None) -> None:
    """Serve the gateway on settings.host:port (pinned models: their pools start at once)."""
    configure_logging(settings.log_level)
    pinned = pinned_models if pinned_models is not None else _split(os.environ.get("PINNED_MODELS", ""))
    app = create_gateway_app(settings, pinned_models=pinned)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        proxy_headers=False,
        server_header=False,
        lifespan="on",
    )
    serve(config)


def _split(value: str) -> List[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
