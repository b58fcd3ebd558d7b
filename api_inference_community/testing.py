"""Helpers for the tests of the core and of every image (shared, never copied)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, Mapping, Optional

import requests

DEFAULT_REVISION = "0123456789abcdef0123456789abcdef01234567"


def make_hub_cache(cache_dir: Path, repo_id: str, files: Path, revision: str = DEFAULT_REVISION) -> Path:
    """Lay `files` out as the Hub cache does (`models--org--name/snapshots/<rev>`, `refs/main`).

    `cache_dir` is the hub cache (`$HF_HOME/hub`). Returns the snapshot directory.
    """
    repo_dir = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / revision
    blobs = repo_dir / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    for source in sorted(Path(files).rglob("*")):
        if not source.is_file():
            continue
        relative = source.relative_to(files)
        blob = blobs / hashlib.sha256(source.read_bytes()).hexdigest()
        shutil.copyfile(source, blob)
        target = snapshot / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        target.symlink_to(os.path.relpath(blob, target.parent))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    return snapshot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A real uvicorn process on 127.0.0.1, serving `app` ("module:attribute") from `cwd`."""

    def __init__(self, app: str, env: Mapping[str, str], cwd: Optional[Path] = None, port: Optional[int] = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        environment.setdefault("PYTHONUNBUFFERED", "1")
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"aic-server-{self.port}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api_inference_community.serve", app],
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
