"""Hostile traffic and memory bursts against a live server.

- `HostileTraffic`: while a block runs, a second client (its own process) sends hostile requests
  (`hostile_bodies`) in a closed loop, and the server's peak RSS is tracked. Its records give the
  status codes, the error body sizes and the latencies of each kind.
- `run_hostile`: the legitimate clients' figures without, then with, hostile traffic.
- `run_burst`: N concurrent copies of one request (the largest legal image) and the server's peak RSS.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .forked import Forked
from .hostile_bodies import HostileBody
from .machine import PeakRss
from .oneshot import Delivery, Outcome, exchange, http_get, request_bytes
from .probe import Probe
from .stats import percentile
from .windows import LoadPlan, measure

# kind, HTTP status (0: none), body bytes, seconds, failure ("gave up", "closed"...), content type
HostileRecord = Tuple[str, int, int, float, str, str]
_Planned = Tuple[str, bytes, Delivery, int]  # kind, request bytes, delivery, copies


def _send_hostile(
    stop: Any, host: str, port: int, planned: Sequence[_Planned], lanes: int, timeout: float
) -> List[HostileRecord]:
    """The hostile client: `lanes` sequences of requests, each cycling through `planned`, until `stop`."""
    records: List[HostileRecord] = []

    async def lane(offset: int) -> None:
        index = offset
        while True:
            kind, request, delivery, copies = planned[index % len(planned)]
            index += 1
            started = time.perf_counter()
            try:
                outcomes = await asyncio.gather(
                    *(exchange(host, port, request, delivery, timeout) for _ in range(copies))
                )
            except asyncio.CancelledError:  # still in flight when told to stop
                records.extend([(kind, 0, 0, time.perf_counter() - started, "unfinished", "")] * copies)
                raise
            records.extend((kind, o.status, o.body_bytes, o.seconds, o.failure, o.content_type) for o in outcomes)

    async def main() -> None:
        tasks = [asyncio.ensure_future(lane(i * len(planned) // lanes)) for i in range(lanes)]
        while not stop.is_set() and not any(t.done() for t in tasks):
            await asyncio.sleep(0.02)
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                print(f"hostile client failed: {result!r}", file=sys.stderr, flush=True)

    asyncio.run(main())
    return records


class HostileTraffic:
    """A context manager: hostile requests from a second client, and the server's peak RSS, during the block.
    Re-enterable; `records` and `memory` describe the last block."""

    def __init__(
        self,
        host: str,
        port: int,
        pid: int,
        path: str,
        bodies: Sequence[HostileBody],
        lanes: int = 1,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.pid = host, port, pid
        self.lanes, self.timeout = lanes, timeout
        self.planned: List[_Planned] = [(b.kind, b.request(port, path), b.delivery, b.copies) for b in bodies]
        self.records: List[HostileRecord] = []
        self.memory: Dict[str, Any] = {}
        self._client: Optional[Forked] = None
        self._peak: Optional[PeakRss] = None

    def __enter__(self) -> HostileTraffic:
        self._peak = PeakRss(self.pid)
        self._client = Forked(_send_hostile, self.host, self.port, self.planned, self.lanes, self.timeout)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        assert self._client is not None and self._peak is not None
        self.records = self._client.stop(default=[], timeout=self.timeout + 30)
        self.memory = self._peak.stop()


def summarize_hostile(records: Sequence[HostileRecord], kinds: Sequence[str]) -> List[Dict[str, Any]]:
    """Per kind (in `kinds` order) and in total: requests, answers by status, error body sizes, latencies."""
    rows = []
    for kind in [*kinds, "all"]:
        mine = [r for r in records if kind in ("all", r[0])]
        outcomes: Dict[str, int] = {}
        for r in mine:
            label = str(r[1]) if r[1] else r[4] or "no answer"
            outcomes[label] = outcomes.get(label, 0) + 1
        errors = [r for r in mine if r[1] >= 400]
        seconds = [r[3] * 1000 for r in mine]
        rows.append(
            {
                "kind": kind,
                "sent": len(mine),
                "outcomes": dict(sorted(outcomes.items())),
                "max_error_bytes": max((r[2] for r in errors), default=None),
                "non_json_errors": sum(1 for r in errors if not r[5].startswith("application/json")),
                "ok_2xx": sum(1 for r in mine if 200 <= r[1] < 300),
                "p50_ms": percentile(seconds, 50),
                "max_ms": max(seconds, default=None),
            }
        )
    return rows


def server_answers(host: str, port: int, timeout: float = 10.0) -> bool:
    """Whether GET /health answers 200 within `timeout` seconds."""
    try:
        status, _ = asyncio.run(http_get(host, port, "/health", timeout))
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        return False
    return status == 200


def run_hostile(
    server_url: Tuple[str, int],
    pid: int,
    requests: Sequence[bytes],
    items: Sequence[int],
    concurrency: int,
    duration: float,
    plan: LoadPlan,
    traffic: HostileTraffic,
) -> Dict[str, Any]:
    """The legitimate clients at `concurrency`, without and then with `traffic`; hostile outcomes, peak RSS."""
    without = measure(server_url, pid, requests, items, concurrency, [duration], plan, "without hostile traffic")
    under = measure(
        server_url, pid, requests, items, concurrency, [duration], plan, "with hostile traffic", during=traffic
    )
    kinds = list(dict.fromkeys(kind for kind, *_ in traffic.planned))
    return {
        "concurrency": concurrency,
        "without": without[0],
        "with": under[0],
        "kinds": summarize_hostile(traffic.records, kinds),
        "memory": traffic.memory,
        "server_answers": server_answers(*server_url),
    }


def run_burst(
    server_url: Tuple[str, int],
    pid: int,
    path: str,
    body: bytes,
    content_type: str,
    clients: int,
    description: str,
    probe_interval: float = 0.1,
    timeout: float = 120.0,
) -> Dict[str, Any]:
    """`clients` concurrent copies of one request; their outcomes, the server's peak RSS and /health meanwhile."""
    host, port = server_url
    request = request_bytes(port, "POST", path, body, content_type)
    probe = Probe(host, port, probe_interval)  # both forked before the loop exists
    peak = PeakRss(pid)

    async def burst() -> List[Outcome]:
        return await asyncio.gather(*(exchange(host, port, request, timeout=timeout) for _ in range(clients)))

    try:
        outcomes = asyncio.run(burst())
    finally:
        memory = peak.stop()
        probes = probe.stop()
    records = [("burst", o.status, o.body_bytes, o.seconds, o.failure, o.content_type) for o in outcomes]
    probe_ok = [p[1] * 1000 for p in probes if p[2] == 200]
    return {
        "clients": clients,
        "image": description,
        "body_bytes": len(body),
        "answers": summarize_hostile(records, [])[0],
        "memory": memory,
        "probe_p99_ms": percentile(probe_ok, 99),
        "probe_max_ms": max(probe_ok, default=None),
        "probe_failed": sum(1 for p in probes if p[2] != 200),
        "server_answers": server_answers(host, port),
    }
