"""The gateway under test: started as a real process on 127.0.0.1, its pools and replicas read from
`GET /pools`, stopped by its pid; replicas it leaves behind are stopped by theirs.

Replicas of the `process` backend run in sessions of their own, so a gateway that dies without
stopping its pools would leave them running: every replica pid seen is remembered and, once the
gateway has exited, any that still runs a server is stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Set

from .sequential import Session

GATEWAY_COMMAND = (sys.executable, "-m", "api_inference_community", "gateway")


class RunningGateway:
    """A gateway process (the core's LiveServer) and the replicas it was seen to run."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.port: int = server.port
        self.pid: int = server.process.pid
        self.replica_pids: Set[int] = set()

    def pools(self) -> Dict[str, Any]:
        with Session(self.port, timeout=30) as session:
            status, pools = session.get_json("/pools")
        if status != 200 or not isinstance(pools, dict):
            raise RuntimeError(f"GET /pools answered {status}")
        for pool in pools.values():
            self.replica_pids.update(r["pid"] for r in pool.get("replicas", []) if r.get("pid"))
        return pools

    def replicas(self, library: str) -> List[Dict[str, Any]]:
        """The library's replicas: slot, url, healthy, pid..."""
        return list(self.pools().get(library, {}).get("replicas", []))

    def wait_healthy(self, library: str, count: int, timeout: float = 300.0) -> List[Dict[str, Any]]:
        """Wait until `count` replicas of `library` are healthy; they are returned."""
        deadline = time.monotonic() + timeout
        while True:
            healthy = [r for r in self.replicas(library) if r.get("healthy")]
            if len(healthy) >= count:
                return healthy
            if time.monotonic() > deadline:
                raise TimeoutError(f"{library}: {len(healthy)} of {count} replicas healthy after {timeout:g} s")
            time.sleep(0.2)

    def metrics(self) -> str:
        with Session(self.port, timeout=30) as session:
            return session.request("GET", "/metrics").body.decode(errors="replace")


def port_of(url: str) -> int:
    """The port of `http://127.0.0.1:PORT`."""
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def histogram_sum_count(metrics_text: str, name: str, labels: str = "") -> Dict[str, float]:
    """The `_sum` and `_count` of a histogram series (`labels`: a substring its labels must hold)."""
    found = {"sum": 0.0, "count": 0.0}
    for line in metrics_text.splitlines():
        for part in ("sum", "count"):
            if line.startswith(f"{name}_{part}") and labels in line:
                found[part] += float(line.rsplit(" ", 1)[1])
    return found


@contextlib.contextmanager
def running_gateway(
    env: Mapping[str, str], command: Sequence[str] = GATEWAY_COMMAND, timeout: float = 120.0
) -> Iterator[RunningGateway]:
    """A gateway with `env` on a free port of 127.0.0.1, up (`/health`) until the block ends."""
    from api_inference_community.testing.live import LiveServer

    server = LiveServer("", dict(env), command=list(command))
    gateway = RunningGateway(server)
    try:
        server.wait_until("/health", 200, timeout)
        yield gateway
    finally:
        with contextlib.suppress(Exception):
            gateway.pools()  # the replicas running now, to stop any the gateway leaves behind
        server.stop(90)
        stop_leftovers(gateway.replica_pids)


def stop_leftovers(pids: Set[int], grace: float = 10.0) -> List[int]:
    """Stop (SIGTERM, then SIGKILL) the given replica pids that still run a server; the ones stopped."""
    alive = [pid for pid in pids if _is_server(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_is_server(pid) for pid in alive):
        time.sleep(0.1)
    for pid in alive:
        if _is_server(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return alive


def _is_server(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read()
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return b"api_inference_community.serve" in command and state != "Z"


def docker_engine(image: str) -> Optional[str]:
    """None when a Docker engine answers (DOCKER_HOST or the default socket) and holds `image`; else why not."""
    try:
        import docker
        import docker.errors
    except ImportError:
        return "the Docker SDK (`docker`) is not installed"
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # no engine: any of the SDK's connection errors
        return f"no Docker engine answers ({type(error).__name__})"
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        return f"the engine has no image {image} (build it: tests/docker does)"
    except Exception as error:
        return f"the engine cannot list images ({type(error).__name__})"
    finally:
        client.close()
    return None
