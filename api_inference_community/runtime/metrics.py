"""Prometheus metrics of one server (a registry per app, not global state), labelled by model.

`Metrics` owns the registry and is itself the view of the server's main model (single-model
mode); `for_model(model_id)` gives the view of another model (multi-model mode). Names are
documented in the README.
"""

from __future__ import annotations

from typing import Any, Dict

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
LOAD_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
STATES = ("loading", "ready", "failed", "dead")


class _Families:
    """Every instrument of the server, labelled by model."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        m = ["model"]
        self.requests = Counter(
            "aic_requests_total", "Inference requests answered, by HTTP status", [*m, "status"], registry=r
        )
        self.request_seconds = Histogram(
            "aic_request_duration_seconds", "Time from request to answer", m, buckets=LATENCY_BUCKETS, registry=r
        )
        self.queue_seconds = Histogram(
            "aic_queue_time_seconds",
            "Time a request waited before its batch started",
            m,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            "aic_inference_duration_seconds", "Time of one model call", m, buckets=LATENCY_BUCKETS, registry=r
        )
        self.batch_size = Histogram("aic_batch_size", "Items per model call", m, buckets=BATCH_BUCKETS, registry=r)
        self.batch_failures = Counter(
            "aic_batch_failures_total", "Batches that failed and were run again request by request", m, registry=r
        )
        self.queue_depth = Gauge("aic_queue_depth", "Requests waiting for the model", m, registry=r)
        self.load_seconds = Gauge("aic_model_load_seconds", "Time the model took to load", m, registry=r)
        self.model_state = Gauge("aic_model_state", "1 for the model's current state", [*m, "state"], registry=r)
        # the cache of a multi-model server
        self.cache_requests = Counter(
            "aic_cache_requests_total", "Requests for a model, by whether it was loaded (hit) or not (miss)",
            [*m, "result"], registry=r,
        )  # fmt: skip
        self.loads = Counter("aic_model_loads_total", "Model loads, by outcome", [*m, "outcome"], registry=r)
        self.load_duration = Histogram(
            "aic_model_load_duration_seconds", "Time of each model load", m, buckets=LOAD_BUCKETS, registry=r
        )
        self.evictions = Counter("aic_model_evictions_total", "Models unloaded to make room", m, registry=r)
        self.resident_bytes = Gauge(
            "aic_model_resident_bytes", "Memory a loaded model added when it loaded", m, registry=r
        )
        self.resident_models = Gauge("aic_resident_models", "Models loaded now", registry=r)
        self.cache_bytes = Gauge("aic_resident_model_bytes", "Memory of all loaded models", registry=r)


class _Requests:
    """`requests.labels(status=...)` of one model."""

    def __init__(self, family: Counter, model_id: str) -> None:
        self._family = family
        self._model_id = model_id

    def labels(self, **labels: Any) -> Any:
        return self._family.labels(model=self._model_id, **labels)


class ModelMetrics:
    """The instruments of one model (engine and request counters), bound to its label."""

    def __init__(self, families: _Families, model_id: str) -> None:
        self._families = families
        self.model_id = model_id
        self.requests = _Requests(families.requests, model_id)
        self.request_seconds = families.request_seconds.labels(model=model_id)
        self.queue_seconds = families.queue_seconds.labels(model=model_id)
        self.inference_seconds = families.inference_seconds.labels(model=model_id)
        self.batch_size = families.batch_size.labels(model=model_id)
        self.batch_failures = families.batch_failures.labels(model=model_id)
        self.queue_depth = families.queue_depth.labels(model=model_id)
        self.load_seconds = families.load_seconds.labels(model=model_id)

    def set_state(self, state: str) -> None:
        for name in STATES:
            self._families.model_state.labels(model=self.model_id, state=name).set(1 if name == state else 0)

    def forget(self) -> None:
        """Drop the gauges of a model that is no longer loaded (counters keep their history)."""
        for gauge in (self._families.queue_depth, self._families.load_seconds, self._families.resident_bytes):
            try:
                gauge.remove(self.model_id)
            except KeyError:
                pass
        for name in STATES:
            try:
                self._families.model_state.remove(self.model_id, name)
            except KeyError:
                pass


class Metrics(ModelMetrics):
    """The server's registry, and the view of its main model (single-model mode)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, model_id: str = "") -> None:
        families = _Families()
        super().__init__(families, model_id)
        self.registry = families.registry
        self.cache = families
        self._views: Dict[str, ModelMetrics] = {model_id: self}

    def for_model(self, model_id: str) -> ModelMetrics:
        """The instruments of `model_id` (one view per model)."""
        view = self._views.get(model_id)
        if view is None:
            view = self._views[model_id] = ModelMetrics(self._families, model_id)
        return view

    def render(self) -> bytes:
        return generate_latest(self.registry)
