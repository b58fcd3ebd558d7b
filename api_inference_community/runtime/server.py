"""Run an app with uvicorn: one process, graceful shutdown within SHUTDOWN_GRACE."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from typing import Optional, Sequence

import uvicorn

from .settings import get_settings


def run(app: str, host: Optional[str] = None, port: Optional[int] = None) -> None:
    """Serve `app` ("module:attribute") until SIGTERM or SIGINT."""
    settings = get_settings()
    # OpenMP threads (PyTorch's) sleep instead of spinning between operators, so they leave the
    # event loop its share of the CPUs; set OMP_WAIT_POLICY=ACTIVE to override.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # uvicorn drains, then re-raises SIGTERM to the previous handler: make that an exit 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        app,
        host=host or settings.host,
        port=settings.port if port is None else port,
        workers=1,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
        proxy_headers=False,
        server_header=False,
    )


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api_inference_community.serve", description=run.__doc__)
    parser.add_argument("app", nargs="?", default="app.main:app", help="the ASGI app, as module:attribute")
    parser.add_argument("--host", default=None, help="address to bind (default: HOST, or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to bind (default: PORT, or 8000)")
    args = parser.parse_args(argv)
    run(args.app, args.host, args.port)


if __name__ == "__main__":
    main()
