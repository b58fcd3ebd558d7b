"""The autoscaler in the gateway: every AUTOSCALE_INTERVAL seconds, each pool is sampled, the decision
(`policy.decide`) taken, logged, exported, and applied through `Pool.scale`.

A sample is the pool's time-averaged concurrency since the previous one (in flight plus held
waiting), or the sum of its replicas' queue depth (`aic_queue_depth` of their `/metrics`) when that
is larger: requests that reach the replicas other ways than through this gateway count too.
A pool's scale runs beside the loop (a process backend may take seconds to stop a replica); its
next decision waits for it. Pools whose engine scales them (`kubernetes`: KEDA) are never driven:
the metrics (`metrics.PoolDemand`) are still exported for that engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import Awaitable, Callable, Dict, Mapping, Optional, Tuple

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from ..backends.base import Replica
from ..pools import Pool
from ..settings import GatewaySettings
from .metrics import AutoscaleMetrics
from .policy import STEADY, TO_ZERO, Decision, History, Observation, Policy, decide

logger = logging.getLogger(__name__)

QUEUE_DEPTH = "aic_queue_depth"
SCRAPE_TIMEOUT_S = 1.0

Scrape = Callable[[Replica, str], Awaitable[Tuple[int, bytes]]]  # (replica, path) -> (status, body)


def policy_from(settings: GatewaySettings) -> Policy:
    """The policy the AUTOSCALE_* settings describe (POOL_IDLE_TIMEOUT: the idle period before zero)."""
    return Policy(
        target=settings.autoscale_target,
        min_replicas=settings.autoscale_min_replicas,
        max_replicas=settings.autoscale_max_replicas,
        stable_window_s=settings.autoscale_stable_window_s,
        panic_window_s=settings.autoscale_panic_window_s,
        panic_threshold=settings.autoscale_panic_threshold,
        idle_s=settings.idle_timeout_s,
        activation=min(settings.replicas, settings.autoscale_max_replicas),
    )


def queue_depth(text: str) -> float:
    """The sum of `aic_queue_depth` over every model in a replica's metrics."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == QUEUE_DEPTH:
            total += sum(sample.value for sample in family.samples)
    return total


class Autoscaler:
    """Drives the pools' `desired` from their load, when AUTOSCALE is on and their engine lets it."""

    def __init__(
        self,
        pools: Mapping[str, Pool],
        settings: GatewaySettings,
        registry: CollectorRegistry,
        scrape: Optional[Scrape] = None,
        clock: Callable[[], float] = time.monotonic,  # the pools' clock (their last request)
    ) -> None:
        self.pools = pools
        self.settings = settings
        self.policy = policy_from(settings)
        self.scrape = scrape
        self.clock = clock
        self.metrics = AutoscaleMetrics(registry, pools)
        self.histories: Dict[str, History] = {}
        self.counted: Dict[str, Tuple[float, int]] = {}  # library -> (when, arrivals) at its last sample
        self.applying: Dict[str, asyncio.Task] = {}
        self._loop: Optional[asyncio.Task] = None

    @property
    def driven(self) -> Dict[str, Pool]:
        """The pools this autoscaler decides for."""
        if not self.settings.autoscale:
            return {}
        return {library: pool for library, pool in self.pools.items() if pool.scalable}

    def policy_of(self, pool: Pool) -> Policy:
        # a pool of pinned models never goes to zero (its models are loaded at start)
        return replace(self.policy, min_replicas=max(self.policy.min_replicas, 1)) if pool.pinned else self.policy

    def start(self) -> None:
        driven = self.driven
        if not driven:
            return
        for pool in driven.values():
            pool.autoscaled = True
        logger.info("Autoscaling %s: %s", ", ".join(sorted(driven)), self.policy)
        self._loop = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        tasks = [task for task in (self._loop, *self.applying.values()) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None
        self.applying.clear()

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:
                logger.exception("An autoscaling round failed")
            await asyncio.sleep(self.settings.autoscale_interval_s)

    async def step(self) -> Dict[str, Decision]:
        """One round over every driven pool whose last scale is done: {library: decision}."""
        decisions: Dict[str, Decision] = {}
        for library, pool in self.driven.items():
            running = self.applying.get(library)
            if running is not None and not running.done():
                continue  # its last scale is still being applied
            concurrency = await self.observe(pool)
            now = self.clock()
            since, before = self.counted.get(library, (now, pool.arrivals))
            self.counted[library] = (now, pool.arrivals)
            rate = (pool.arrivals - before) / (now - since) if now > since else None
            observation = Observation(now, concurrency, len(pool.healthy), pool.desired, pool.last_used, rate)
            decision = decide(self.policy_of(pool), self.histories.get(library, History()), observation)
            self.histories[library] = decision.history
            decisions[library] = decision
            self.metrics.record(library, concurrency, decision)
            self.log(library, observation, decision)
            if decision.reason != STEADY:
                self.applying[library] = asyncio.get_running_loop().create_task(self.apply(pool, decision))
        return decisions

    async def observe(self, pool: Pool) -> float:
        """The pool's concurrency since the last sample: the gateway's view, or its replicas' if larger."""
        seen = pool.concurrency.average()
        if self.scrape is None or not pool.healthy:
            return seen
        depths = await asyncio.gather(*(self._depth(replica) for replica in pool.healthy))
        return max(seen, sum(depths))

    async def _depth(self, replica: Replica) -> float:
        assert self.scrape is not None
        try:
            status, body = await asyncio.wait_for(self.scrape(replica, "/metrics"), SCRAPE_TIMEOUT_S)
            return queue_depth(body.decode("utf-8", "replace")) if status == 200 else 0.0
        except Exception:  # a replica that cannot tell counts for nothing; its health check sees the rest
            return 0.0

    async def apply(self, pool: Pool, decision: Decision) -> None:
        if decision.reason == TO_ZERO:
            if pool.in_flight or pool.waiting:  # a request came in since the sample: not idle after all
                return
            pool.metrics.pool_stops.labels(library=pool.library).inc()
        await pool.scale(decision.replicas)

    @staticmethod
    def log(library: str, observation: Observation, decision: Decision) -> None:
        level = logging.DEBUG if decision.reason == STEADY else logging.INFO
        logger.log(
            level,
            "Autoscale %s: %s %d -> %d (concurrency %.2f, stable %.2f, panic %.2f, ready %d)",
            library,
            decision.reason,
            observation.current,
            decision.replicas,
            observation.concurrency,
            decision.stable,
            decision.panic,
            observation.ready,
        )
