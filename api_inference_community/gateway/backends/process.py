"""The `process` backend: each replica is a local server process of `docker_images/<library>`, on 127.0.0.1.

The embedded default: no Docker needed. Replicas run with the gateway's Python (the project's
environment), from the library's folder, in multi-model mode, each on a free port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Optional

from ...hub.libraries import DEFAULT_ROOT, IMAGES_DIR
from ..settings import GatewaySettings
from .base import Replica

LOG_TAIL_BYTES = 8192


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ProcessBackend:
    name = "process"

    def __init__(self, settings: GatewaySettings, root: Path = DEFAULT_ROOT, log_dir: Optional[Path] = None) -> None:
        self.settings = settings
        self.root = Path(root)
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="aic-gateway-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def environment(self, library: str, port: int) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("MODEL_ID", "TASK", "PINNED_MODELS")}
        env.update(self.settings.replica_environment())
        env.update({"HOST": "127.0.0.1", "PORT": str(port), "MULTI_MODEL": "1", "LIBRARY_NAME": library})
        env["PYTHONUNBUFFERED"] = "1"
        for name, value in (
            ("MODELS_DIR", self.settings.models_dir),
            ("HF_HOME", self.settings.hf_home),
            ("HF_HUB_OFFLINE", "1" if self.settings.hf_hub_offline else None),
        ):
            if value:
                env[name] = str(Path(value).resolve()) if name != "HF_HUB_OFFLINE" else value
        return env

    def start(self, library: str, slot: str, pinned: str = "") -> Replica:
        port = free_port()
        env = self.environment(library, port)
        if pinned:
            env["PINNED_MODELS"] = pinned
        log_path = self.log_dir / f"{slot}-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "api_inference_community.serve", "app.main:app"],
                cwd=str(self.root / IMAGES_DIR / library),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # signals to the gateway's terminal do not reach it directly
            )
        return Replica(slot, library, f"http://127.0.0.1:{port}", handle=process, log_path=log_path)

    def exited(self, replica: Replica) -> bool:
        return replica.handle.poll() is not None

    def stop(self, replica: Replica, grace: float) -> None:
        process: subprocess.Popen = replica.handle
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace + 5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self, replica: Replica) -> str:
        path = replica.log_path
        if path is None:
            return ""
        try:
            with open(path, "rb") as handle:
                handle.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        pass
