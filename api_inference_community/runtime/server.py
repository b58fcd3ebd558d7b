"""Run an app with uvicorn: one process, graceful shutdown within SHUTDOWN_GRACE in total.

SIGTERM starts the shutdown clock (`lifecycle.PROCESS`): uvicorn stops accepting connections and
lets in-flight requests finish, then the app's lifespan stops its engines with what is left of the
same grace period, so `docker stop -t` just above SHUTDOWN_GRACE never has to kill the process.
Exit codes: 0 after a shutdown, 2 for invalid settings, 3 when the server could not start, 70 when an
inference worker died.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from types import FrameType
from typing import Optional, Sequence

import uvicorn

from .lifecycle import PROCESS
from .settings import SettingsError, get_settings

EXIT_BAD_SETTINGS = 2
EXIT_STARTUP_FAILED = 3  # as uvicorn: the app could not be imported or the port bound


class Server(uvicorn.Server):
    """uvicorn's server, starting the process's shutdown clock when a signal asks it to stop."""

    def handle_exit(self, sig: int, frame: Optional[FrameType]) -> None:
        PROCESS.begin_shutdown()
        super().handle_exit(sig, frame)


def run(app: str, host: Optional[str] = None, port: Optional[int] = None) -> None:
    """Serve `app` ("module:attribute") until SIGTERM or SIGINT, then exit with the process's code."""
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_SETTINGS)
    # OpenMP threads (PyTorch's) sleep instead of spinning between operators, so they leave the
    # event loop its share of the CPUs; set OMP_WAIT_POLICY=ACTIVE to override.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    serve(
        uvicorn.Config(
            app,
            host=host or settings.host,
            port=settings.port if port is None else port,
            workers=1,
            log_level=settings.log_level,
            timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
            proxy_headers=False,
            server_header=False,
        )
    )


def serve(config: uvicorn.Config) -> None:
    """Run a uvicorn server until SIGTERM or SIGINT, then exit with the process's exit code."""
    # uvicorn drains, then re-raises SIGTERM to the previous handler: make that a clean exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(PROCESS.exit_code))
    server = Server(config)
    PROCESS.attach(server)
    server.run()
    sys.exit(PROCESS.exit_code if server.started else EXIT_STARTUP_FAILED)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api_inference_community.serve", description=run.__doc__)
    parser.add_argument("app", nargs="?", default="app.main:app", help="the ASGI app, as module:attribute")
    parser.add_argument("--host", default=None, help="address to bind (default: HOST, or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to bind (default: PORT, or 8000)")
    args = parser.parse_args(argv)
    run(args.app, args.host, args.port)


if __name__ == "__main__":
    main()
