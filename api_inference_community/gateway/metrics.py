"""The gateway's Prometheus metrics, labelled by library (the README lists them)."""

from __future__ import annotations

from typing import Any, Dict, Tuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..runtime.metrics import LATENCY_BUCKETS, LOAD_BUCKETS


class GatewayMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        lib = ["library"]
        self.requests = Counter(
            "aic_gateway_requests_total", "Requests answered, by library and HTTP status", [*lib, "status"], registry=r
        )
        self.request_seconds = Histogram(
            "aic_gateway_request_duration_seconds",
            "Time from request to answer",
            lib,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("aic_gateway_in_flight", "Requests being forwarded to the pool", lib, registry=r)
        self.retries = Counter(
            "aic_gateway_retries_total", "Requests sent to another replica after a connection failure", lib, registry=r
        )
        self.replicas = Gauge("aic_gateway_replicas", "Replicas of the pool, by state", [*lib, "state"], registry=r)
        self.desired_replicas = Gauge("aic_gateway_desired_replicas", "Replicas the pool keeps", lib, registry=r)
        self.pool_starts = Counter("aic_gateway_pool_starts_total", "Pools started from zero", lib, registry=r)
        self.pool_stops = Counter("aic_gateway_pool_stops_total", "Pools stopped when idle", lib, registry=r)
        self.replica_starts = Counter("aic_gateway_replica_starts_total", "Replicas started", lib, registry=r)
        self.replica_failures = Counter(
            "aic_gateway_replica_failures_total", "Replicas replaced, by reason", [*lib, "reason"], registry=r
        )
        self.cold_start_seconds = Histogram(
            "aic_gateway_cold_start_seconds", "From a pool's start to its first healthy replica", lib,
            buckets=LOAD_BUCKETS, registry=r,
        )  # fmt: skip

        self._answered: Dict[Tuple[str, int], Tuple[Any, Any]] = {}  # (library, status): its two series

    def answered(self, library: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration (each labelled series is looked up once)."""
        series = self._answered.get((library, status))
        if series is None:  # bounded: libraries x HTTP statuses
            series = self._answered[(library, status)] = (
                self.requests.labels(library=library, status=str(status)),
                self.request_seconds.labels(library=library),
            )
        series[0].inc()
        series[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
