"""Prometheus metrics of one server (a registry per app, not global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
STATES = ("loading", "ready", "failed")


class Metrics:
    """The instruments the server updates; names are documented in the README."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "aic_requests_total", "Inference requests answered, by HTTP status", ["status"], registry=r
        )
        self.request_seconds = Histogram(
            "aic_request_duration_seconds", "Time from request to answer", buckets=LATENCY_BUCKETS, registry=r
        )
        self.queue_seconds = Histogram(
            "aic_queue_time_seconds",
            "Time a request waited before its batch started",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            "aic_inference_duration_seconds", "Time of one model call (one batch)", buckets=LATENCY_BUCKETS, registry=r
        )
        self.batch_size = Histogram("aic_batch_size", "Items per model call", buckets=BATCH_BUCKETS, registry=r)
        self.queue_depth = Gauge("aic_queue_depth", "Requests waiting for the model", registry=r)
        self.load_seconds = Gauge("aic_model_load_seconds", "Time the model took to load", registry=r)
        self.model_state = Gauge("aic_model_state", "1 for the model's current state", ["state"], registry=r)
        self.set_state("loading")

    def set_state(self, state: str) -> None:
        for name in STATES:
            self.model_state.labels(state=name).set(1 if name == state else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
