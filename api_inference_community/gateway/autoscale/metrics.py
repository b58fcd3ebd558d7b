"""What the autoscaler sees and decides, as Prometheus metrics on the gateway's registry.

`aic_gateway_concurrency{library}` (requests in flight plus requests held waiting for a replica,
read at scrape time) and `aic_gateway_cold_requests_total{library}` (requests answered 503 because
no replica was ready) are what an outside autoscaler scales on: the KEDA ScaledObjects of
deploy/kubernetes query them. The `aic_autoscale_*` series are the gateway's own decisions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .policy import Decision

if TYPE_CHECKING:
    from ..pools import Pool

CONCURRENCY = "aic_gateway_concurrency"
COLD_REQUESTS = "aic_gateway_cold_requests"  # a counter: exported as aic_gateway_cold_requests_total


class PoolDemand(Collector):
    """Each pool's demand now, read when scraped."""

    def __init__(self, pools: Mapping[str, Pool]) -> None:
        self.pools = pools

    def collect(self) -> Iterator[Metric]:
        concurrency = GaugeMetricFamily(
            CONCURRENCY, "Requests in flight plus requests waiting for a replica", labels=["library"]
        )
        cold = CounterMetricFamily(
            COLD_REQUESTS, "Requests answered 503 because no replica of the pool was ready", labels=["library"]
        )
        for library, pool in self.pools.items():
            concurrency.add_metric([library], pool.in_flight + pool.waiting)
            cold.add_metric([library], pool.cold_requests)
        yield concurrency
        yield cold


class AutoscaleMetrics:
    def __init__(self, registry: CollectorRegistry, pools: Mapping[str, Pool]) -> None:
        registry.register(PoolDemand(pools))
        lib = ["library"]
        self.observed = Gauge(
            "aic_autoscale_observed_concurrency",
            "Concurrency the autoscaler observed: the last sample, and its averages over the stable and panic windows",
            [*lib, "window"],
            registry=registry,
        )
        self.desired = Gauge(
            "aic_autoscale_desired_replicas", "Replicas the autoscaler decided", lib, registry=registry
        )
        self.panic = Gauge(
            "aic_autoscale_panic", "1 while the pool is in panic (fast scale-up)", lib, registry=registry
        )
        self.decisions = Counter(
            "aic_autoscale_decisions_total", "Decisions, by reason (steady, scale-up, ...)", [*lib, "reason"],
            registry=registry,
        )  # fmt: skip

    def record(self, library: str, concurrency: float, decision: Decision) -> None:
        self.observed.labels(library=library, window="sample").set(concurrency)
        self.observed.labels(library=library, window="stable").set(decision.stable)
        self.observed.labels(library=library, window="panic").set(decision.panic)
        self.desired.labels(library=library).set(decision.replicas)
        self.panic.labels(library=library).set(1 if decision.panicking else 0)
        self.decisions.labels(library=library, reason=decision.reason).inc()
