"""The interface of a replica backend, and what the gateway knows of one replica."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Protocol


@dataclass(eq=False)
class Replica:
    """One running server of a library's image in multi-model mode."""

    slot: str  # stable across restarts of the same replica: the affinity key (`library-index`)
    library: str
    url: str  # http://host:port of its server
    handle: Any = None  # the backend's own object (a process, a container)
    started_at: float = field(default_factory=time.monotonic)
    healthy: bool = False
    failures: int = 0  # consecutive failed health checks
    in_flight: int = 0
    ready_at: Optional[float] = None
    log_path: Optional[Path] = None

    def describe(self) -> Dict[str, Any]:
        handle = self.handle
        return {
            "slot": self.slot,
            "url": self.url,
            "healthy": self.healthy,
            "in_flight": self.in_flight,
            "pid": getattr(handle, "pid", None),  # a process's
            "container": getattr(handle, "short_id", None),  # a container's
            "uptime_s": round(time.monotonic() - self.started_at, 1),
        }


class Backend(Protocol):
    """Starts, watches and stops replicas. Calls may block: the pool runs them off the event loop."""

    name: str

    def start(self, library: str, slot: str, pinned: str = "") -> Replica:
        """Start a replica of `library` (it answers `/health` once its server is up); `pinned`: the
        comma-separated models it loads at start."""
        ...

    def exited(self, replica: Replica) -> bool:
        """Whether the replica's process or container is gone."""
        ...

    def stop(self, replica: Replica, grace: float) -> None:
        """Stop the replica (SIGTERM, then kill after `grace` seconds) and forget it."""
        ...

    def logs(self, replica: Replica) -> str:
        """The end of the replica's log, for error reports."""
        ...

    def close(self) -> None:
        """Release what the backend holds (clients, temporary files)."""
        ...
