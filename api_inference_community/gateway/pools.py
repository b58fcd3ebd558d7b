"""A library's pool: replicas of its image in multi-model mode, started on demand, watched, stopped when idle.

- A pool starts when its library gets its first request (or at start, for pinned models); until a
  replica is ready (`/ready`: up, pinned models loaded), requests get 503 with `estimated_time` (or
  wait, when they ask).
- The supervisor (`supervise`, every POOL_HEALTH_INTERVAL seconds) checks each replica: a replica
  whose process or container exited, or that failed three health checks in a row, is replaced in
  its slot (the same affinity key: its models come back to it).
- A pool without requests for POOL_IDLE_TIMEOUT seconds stops all its replicas (pinned pools never).
- `desired` is how many replicas the pool keeps (GATEWAY_REPLICAS; an autoscaler may change it).
- Placement: a model goes to the replica that answered it last while that one is healthy and not
  overloaded (it is warm there), else to its rendezvous choice (`affinity`).
- Discovered replicas (`swarm`, `kubernetes`): the engine runs them; the pool follows the addresses
  of the library's DNS name (`discovery`) each round, checks each one's `/ready`, and asks the
  engine for `desired` replicas (the `kubernetes` mode never does: KEDA scales).
- For the autoscaler: `concurrency` (requests in flight plus requests held waiting for a replica,
  time-averaged), `arrivals` (requests received), `cold_requests` (answered 503 for want of a ready
  replica); an autoscaled pool never stops on its own when idle (the autoscaler decides).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Awaitable, Callable, Dict, List, Optional, Set
from urllib.parse import urlsplit

from ..errors import ModelLoading, Overloaded
from . import affinity
from .autoscale.meter import ConcurrencyMeter
from .backends.base import Backend, Replica
from .discovery import DiscoveredBackend
from .metrics import GatewayMetrics
from .settings import GatewaySettings

logger = logging.getLogger(__name__)

FAILED_CHECKS_BEFORE_RESTART = 3
DEFAULT_START_SECONDS = 10.0  # the cold-start estimate until one start was measured
MAX_PLACEMENTS = 100_000
# A killed process's sockets close a moment before it can be reaped (longer on a busy machine):
# a broken connection waits this long for the exit before it is taken for a live replica's failure.
EXIT_NOTICE_SECONDS = 2.0

HealthCheck = Callable[[Replica], Awaitable[bool]]


class Pool:
    """The replicas of one library."""

    def __init__(
        self,
        library: str,
        backend: Backend,
        settings: GatewaySettings,
        metrics: GatewayMetrics,
        check: HealthCheck,
        pinned: str = "",
    ) -> None:
        self.library = library
        self.backend = backend
        self.settings = settings
        self.metrics = metrics
        self.check = check
        self.pinned = pinned  # comma-separated models every replica loads at start
        self.replicas: Dict[str, Replica] = {}
        self.in_flight_gauge = metrics.in_flight.labels(library=library)  # looked up once: every request moves it
        # where each model was last answered: it stays there while that replica is healthy (warm)
        self.placement: collections.OrderedDict[str, str] = collections.OrderedDict()
        self.desired = 0
        self.waiting = 0  # requests waiting for the first ready replica
        self.last_used = time.monotonic()
        self.start_seconds: Optional[float] = None  # the last cold start, measured
        self.starting_since: Optional[float] = None
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()
        self.discovery: Optional[DiscoveredBackend] = backend if isinstance(backend, DiscoveredBackend) else None
        self.scalable = self.discovery is None or self.discovery.scales  # False: the engine scales it
        self.autoscaled = False  # the autoscaler decides `desired` (and when the pool goes to zero)
        self.concurrency = ConcurrencyMeter()  # in flight + waiting, time-averaged for the autoscaler
        self.cold_requests = 0  # requests answered 503 because no replica was ready
        self.arrivals = 0  # requests the pool received (the autoscaler's request rate)
        self.stopping: Set[str] = set()  # discovered: addresses of a pool scaled to zero, unused while in DNS

    # ------------------------------------------------------------------ requests

    @property
    def healthy(self) -> List[Replica]:
        return [replica for replica in self.replicas.values() if replica.healthy]

    @property
    def in_flight(self) -> int:
        return sum(replica.in_flight for replica in self.replicas.values())

    def estimated_time(self) -> float:
        """Seconds until a replica should answer (the last cold start, less what has passed)."""
        expected = self.start_seconds or DEFAULT_START_SECONDS
        elapsed = time.monotonic() - self.starting_since if self.starting_since else 0.0
        return max(expected - elapsed, 1.0)

    async def replica_for(self, model_id: str, wait: bool) -> List[Replica]:
        """The healthy replicas for a request of `model_id`, the chosen one first (affinity, spill over).

        Starts the pool if it is stopped. Without a healthy replica: 503 with `estimated_time`, or,
        if the request waits, a bounded wait for the first healthy replica.
        """
        self.last_used = time.monotonic()
        self.arrivals += 1
        if self.desired == 0 and self.scalable:
            await self.scale(self.settings.replicas)
        if not self.healthy:
            if self.starting_since is None:  # an engine outside starts it (kubernetes): counted from now
                self.starting_since = time.monotonic()
            if not wait:
                self.cold_requests += 1
                raise ModelLoading(model_id, self.estimated_time())
            self.waiting += 1  # a waiting request keeps the pool from stopping as idle
            self.concurrency.change(1)
            try:
                await asyncio.wait_for(self._ready.wait(), timeout=self.settings.wait_for_pool_timeout_s)
            except asyncio.TimeoutError:
                self.cold_requests += 1
                raise ModelLoading(model_id, self.estimated_time()) from None
            finally:
                self.waiting -= 1
                self.concurrency.change(-1)
                self.last_used = time.monotonic()
        healthy = self.healthy
        if not healthy:
            raise Overloaded(f"No replica of {self.library} is healthy; retry later", retry_after=5)
        placed = self.replicas.get(self.placement.get(model_id, ""))
        if placed is not None and placed.healthy and placed.in_flight < self.settings.spill_in_flight:
            chosen: Optional[Replica] = placed  # warm where it is: no reload elsewhere
        else:
            chosen = affinity.choose(model_id, healthy, _slot, _in_flight, self.settings.spill_in_flight)
        assert chosen is not None
        return [chosen, *(r for r in affinity.ranked(model_id, healthy, _slot) if r is not chosen)]

    async def gone(self, replica: Replica) -> bool:
        """Whether `replica`'s process or container has exited (asked when its connection broke),
        waiting up to EXIT_NOTICE_SECONDS for the exit to show."""
        deadline = time.monotonic() + EXIT_NOTICE_SECONDS
        while not await asyncio.to_thread(self.backend.exited, replica):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def answered(self, model_id: str, replica: Replica) -> None:
        """`replica` answered a request of `model_id`: the model is warm there."""
        self.placement[model_id] = replica.slot
        self.placement.move_to_end(model_id)
        while len(self.placement) > MAX_PLACEMENTS:
            self.placement.popitem(last=False)

    def begin(self, replica: Replica) -> None:
        """A request goes to `replica` (counted until `end`: the affinity spills on it, the pool is busy)."""
        replica.in_flight += 1
        self.concurrency.change(1)
        self.in_flight_gauge.inc()

    def end(self, replica: Replica) -> None:
        replica.in_flight -= 1
        self.concurrency.change(-1)
        self.in_flight_gauge.dec()
        self.last_used = time.monotonic()

    # ------------------------------------------------------------------ size

    async def scale(self, desired: int) -> None:
        """Keep `desired` replicas: start the missing slots, stop the extra ones (the highest first)."""
        async with self._lock:
            if desired > 0 and self.desired == 0:
                self.starting_since = time.monotonic()
                self.metrics.pool_starts.labels(library=self.library).inc()
                logger.info("Starting the %s pool (%d replicas)", self.library, desired)
            self.desired = desired
            if self.discovery is not None:
                await self._ask_engine(desired)
            else:
                for index in range(desired):
                    slot = f"{self.library}-{index}"
                    if slot not in self.replicas:
                        await self._start(slot)
                for slot in sorted(self.replicas, key=_index)[desired:]:
                    await self._stop(self.replicas.pop(slot))
            if desired == 0:
                self._ready.clear()
                self.starting_since = None
            self._update_gauges()

    async def _ask_engine(self, desired: int) -> None:
        """Discovered replicas: the engine gets `desired`; at zero, the replicas still in DNS are stopping."""
        assert self.discovery is not None
        try:
            await asyncio.to_thread(self.discovery.scale, self.library, desired, self.pinned)
        except Exception:
            logger.exception("Cannot scale the %s pool to %d", self.library, desired)
            self.metrics.replica_failures.labels(library=self.library, reason="scale").inc()
        if desired == 0:  # its replicas stop: until they leave DNS, they are not taken for new ones
            for replica in self.replicas.values():
                replica.healthy = False
                self.stopping.add(replica.url)
            self.replicas.clear()

    async def _discover(self) -> None:
        """Follow the library's DNS name: a new address is a replica (healthy once its `/ready` answers),
        an address gone from DNS is a replica gone."""
        assert self.discovery is not None
        try:
            urls = await asyncio.to_thread(self.discovery.addresses, self.library)
        except Exception:
            logger.exception("Cannot resolve the replicas of %s", self.library)
            return
        self.stopping &= set(urls)  # gone from DNS: an address may come back for a new replica
        urls = [] if self.scalable and self.desired == 0 else [url for url in urls if url not in self.stopping]
        known = {replica.url for replica in self.replicas.values()}
        for url in urls:
            if url not in known:
                slot = f"{self.library}@{urlsplit(url).netloc}"
                self.replicas[slot] = Replica(slot, self.library, url)
                logger.info("Replica %s found at %s", slot, url)
        for slot, replica in list(self.replicas.items()):
            if replica.url not in urls:
                replica.healthy = False
                del self.replicas[slot]
                logger.info("Replica %s left DNS", slot)
        if not self.scalable:
            self.desired = len(urls)

    async def _start(self, slot: str) -> None:
        try:
            replica = await asyncio.to_thread(self.backend.start, self.library, slot, self.pinned)
        except Exception:
            logger.exception("Cannot start a replica of %s", self.library)
            self.metrics.replica_failures.labels(library=self.library, reason="start").inc()
            return
        self.replicas[slot] = replica
        self.metrics.replica_starts.labels(library=self.library).inc()

    async def _stop(self, replica: Replica) -> None:
        replica.healthy = False
        await asyncio.to_thread(self.backend.stop, replica, self.settings.shutdown_grace_s)

    async def stop(self) -> None:
        await self.scale(0)

    # ------------------------------------------------------------------ supervision

    async def supervise(self) -> None:
        """One round: check every replica, replace the dead ones, stop the pool when idle."""
        if self.discovery is not None:
            await self._discover()
        for slot, replica in list(self.replicas.items()):
            if self.discovery is None and await asyncio.to_thread(self.backend.exited, replica):
                logger.warning("Replica %s exited; replacing it\n%s", slot, self.backend.logs(replica)[-2000:])
                self.metrics.replica_failures.labels(library=self.library, reason="exited").inc()
                await self._replace(slot, replica)
                continue
            ok = await self.check(replica)
            if ok:
                replica.failures = 0
                if not replica.healthy:
                    replica.healthy = True
                    replica.ready_at = time.monotonic()
                    self._became_healthy(replica)
            else:
                replica.failures += 1
                if self.discovery is not None:
                    if replica.failures >= FAILED_CHECKS_BEFORE_RESTART:
                        replica.healthy = False  # its engine replaces it; back in use once it answers
                elif replica.healthy and replica.failures >= FAILED_CHECKS_BEFORE_RESTART:
                    logger.warning("Replica %s failed %d health checks; replacing it", slot, replica.failures)
                    self.metrics.replica_failures.labels(library=self.library, reason="unhealthy").inc()
                    await self._replace(slot, replica)
                elif not replica.healthy and time.monotonic() - replica.started_at > self.settings.start_timeout_s:
                    logger.warning(
                        "Replica %s did not start within %.0f s; replacing it", slot, self.settings.start_timeout_s
                    )
                    self.metrics.replica_failures.labels(library=self.library, reason="start-timeout").inc()
                    await self._replace(slot, replica)
        if not self.healthy:
            self._ready.clear()
        idle = time.monotonic() - self.last_used
        busy = self.in_flight or self.waiting
        stops_itself = self.scalable and not self.autoscaled and not self.pinned
        if stops_itself and self.desired and not busy and idle > self.settings.idle_timeout_s:
            logger.info("Stopping the %s pool: idle for %.0f s", self.library, idle)
            self.metrics.pool_stops.labels(library=self.library).inc()
            await self.scale(0)
        self._update_gauges()

    async def _replace(self, slot: str, replica: Replica) -> None:
        self.replicas.pop(slot, None)
        await self._stop(replica)
        if _index(slot) < self.desired:
            await self._start(slot)

    def _became_healthy(self, replica: Replica) -> None:
        if self.starting_since is not None and not self._ready.is_set():
            self.start_seconds = time.monotonic() - self.starting_since
            self.metrics.cold_start_seconds.labels(library=self.library).observe(self.start_seconds)
            logger.info("The %s pool answered after %.1f s", self.library, self.start_seconds)
            self.starting_since = None
        self._ready.set()

    def _update_gauges(self) -> None:
        self.metrics.replicas.labels(library=self.library, state="healthy").set(len(self.healthy))
        self.metrics.replicas.labels(library=self.library, state="starting").set(len(self.replicas) - len(self.healthy))
        self.metrics.desired_replicas.labels(library=self.library).set(self.desired)


def _slot(replica: Replica) -> str:
    return replica.slot


def _in_flight(replica: Replica) -> int:
    return replica.in_flight


def _index(slot: str) -> int:
    return int(slot.rsplit("-", 1)[1])
