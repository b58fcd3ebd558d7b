"""The server process's life: when its shutdown began, and how a dead worker ends it with an error code.

One per process (signals and exit codes belong to the process, not to an app). The server runner
attaches its uvicorn server; without one (an app under a test client), a fatal error is only logged
and reported by the app's health routes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Optional

logger = logging.getLogger(__name__)

EXIT_WORKER_DIED = 70  # EX_SOFTWARE: an internal error stopped the process; the supervisor restarts it


class ProcessLifecycle:
    """Shutdown clock and exit code of the server process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: Optional[Any] = None
        self.exit_code = 0
        self.shutdown_started: Optional[float] = None

    def attach(self, server: Any) -> None:
        """The uvicorn server to stop when the process must end (its `should_exit` is polled)."""
        self._server = server

    def begin_shutdown(self) -> None:
        """Start the shutdown clock (the first call wins)."""
        with self._lock:
            if self.shutdown_started is None:
                self.shutdown_started = time.monotonic()

    def remaining(self, grace: float) -> float:
        """Seconds left of a `grace` period counted from the start of the shutdown (all of it before)."""
        started = self.shutdown_started
        return grace if started is None else max(0.0, grace - (time.monotonic() - started))

    def fail(self, reason: str, code: int = EXIT_WORKER_DIED) -> None:
        """End the process with `code` (not 0) so that Docker or Kubernetes restarts it."""
        logger.critical("%s: the server stops with exit code %d", reason, code)
        self.exit_code = code
        self.begin_shutdown()
        server = self._server
        if server is not None:
            server.should_exit = True


PROCESS = ProcessLifecycle()
