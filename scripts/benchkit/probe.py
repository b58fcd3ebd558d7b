"""The health probe: GET /health every `interval` seconds from its own process, each call timed.

A separate process, so that its timings do not depend on the load generator's event loop. By
default it opens a new connection per probe, as a kubelet does.
"""

from __future__ import annotations

import http.client
import time
from typing import Any, List, Optional, Tuple

from .forked import Forked

# (started at (perf_counter seconds), duration (seconds), HTTP status or 0 for a failure)
ProbeRecord = Tuple[float, float, int]


def _probe_loop(stop: Any, host: str, port: int, interval: float, keepalive: bool) -> List[ProbeRecord]:
    records: List[ProbeRecord] = []
    connection: Optional[http.client.HTTPConnection] = None
    tick = time.perf_counter()
    while not stop.is_set():
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=10)
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            keep = False
        else:
            keep = keepalive
        records.append((started, time.perf_counter() - started, status))
        if not keep and connection is not None:
            connection.close()
            connection = None
        tick += interval
        delay = tick - time.perf_counter()
        if delay > 0:
            stop.wait(delay)
        else:
            tick = time.perf_counter()
    return records


class Probe:
    """Polls GET /health every `interval` seconds from a separate process; times each call."""

    def __init__(self, host: str, port: int, interval: float = 0.1, keepalive: bool = False) -> None:
        self._process = Forked(_probe_loop, host, port, interval, keepalive)
        self.records: List[ProbeRecord] = []

    def stop(self) -> List[ProbeRecord]:
        self.records = self._process.stop(default=[])
        return self.records
