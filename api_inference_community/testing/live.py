"""A real server process on 127.0.0.1 for tests: started, awaited, stopped by its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, Mapping, Optional, Sequence

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A real uvicorn process on 127.0.0.1, serving `app` ("module:attribute") from `cwd`.

    `command`: another command line to run instead (its port comes from PORT and GATEWAY_PORT).
    """

    def __init__(
        self,
        app: str,
        env: Mapping[str, str],
        cwd: Optional[Path] = None,
        port: Optional[int] = None,
        command: Optional[Sequence[str]] = None,
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        environment.update({"GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(self.port)})
        environment.setdefault("PYTHONUNBUFFERED", "1")
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"aic-server-{self.port}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            list(command) if command else [sys.executable, "-m", "api_inference_community.serve", app],
            cwd=str(cwd) if cwd else None,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_until(self, path: str = "/health", status: int = 200, timeout: float = 60.0) -> requests.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.logs()}")
            with contextlib.suppress(requests.RequestException):
                response = requests.get(self.url + path, timeout=2)
                if response.status_code == status:
                    return response
            time.sleep(0.1)
        raise TimeoutError(f"{self.url}{path} did not answer {status} within {timeout} s:\n{self.logs()}")

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@contextlib.contextmanager
def live_server(
    app: str, env: Dict[str, str], cwd: Optional[Path] = None, ready_path: str = "/ready", timeout: float = 120.0
) -> Iterator[LiveServer]:
    """Start a server, wait until `ready_path` answers 200, stop it (by its pid) afterwards."""
    server = LiveServer(app, env, cwd)
    try:
        server.wait_until(ready_path, 200, timeout)
        yield server
    finally:
        server.stop()


class ThreadedServer:
    """An ASGI app behind a real uvicorn server on 127.0.0.1, in a thread of this process.

    Cheaper than a process when many servers are needed; the app shares the test's interpreter.
    """

    def __init__(
        self,
        app: object,
        name: str = "server",
        timeout: float = 60.0,
        log_level: str = "warning",
        port: Optional[int] = None,
    ) -> None:
        import threading

        import uvicorn

        self.app = app
        port = port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
