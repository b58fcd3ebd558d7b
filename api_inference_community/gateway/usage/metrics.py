"""The Prometheus metrics of tokens, limits and usage recording, on the gateway's registry.

Tokens appear by name (never by value); requests of a model the gateway could not route count
under `model="-"`, so that made-up model ids cannot grow the number of series.
"""

from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

UNROUTED = "-"
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class UsageMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.requests = Counter(
            "aic_gateway_token_requests_total", "Requests by token name and model", ["token", "model"], registry=r
        )
        self.rate_limited = Counter(
            "aic_gateway_rate_limited_total",
            "Requests refused with 429, by token name and limit (rate or concurrency)",
            ["token", "limit"],
            registry=r,
        )
        self.auth_failures = Counter(
            "aic_gateway_auth_failures_total",
            "Requests refused with 401, by reason (missing, malformed, unknown, revoked)",
            ["reason"],
            registry=r,
        )
        self.records = Counter(
            "aic_gateway_usage_records_total",
            "Usage records by outcome: written, dropped (the buffer was full) or lost (not written at shutdown)",
            ["outcome"],
            registry=r,
        )
        self.buffered = Gauge("aic_gateway_usage_buffered", "Usage records waiting to be written", registry=r)
        self.write_seconds = Histogram(
            "aic_gateway_usage_write_seconds", "Time to write one batch of usage records", buckets=WRITE_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.write_failures = Counter(
            "aic_gateway_usage_write_failures_total", "Batches whose write failed (and was tried again)", registry=r
        )
        self.expired = Counter(
            "aic_gateway_usage_rows_expired_total", "Raw usage rows deleted after the retention period", registry=r
        )

    def watch_buffer(self, size: Callable[[], int]) -> None:
        self.buffered.set_function(size)
