"""The pieces of usage accounting without a gateway: limits, latency histograms, the bounded recorder, sessions."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from api_inference_community.gateway.usage.limits import Limit, Limiter, RateLimited
from api_inference_community.gateway.usage.metrics import UsageMetrics
from api_inference_community.gateway.usage.recorder import Recorder
from api_inference_community.gateway.usage.records import (
    LATENCY_BOUNDS_MS,
    UsageRecord,
    latency_bucket,
    percentiles,
)
from api_inference_community.gateway.usage.sessions import Sessions, load_key
from api_inference_community.gateway.usage.tokens import Token, new_token, token_hash


def record(i: int = 0) -> UsageRecord:
    return UsageRecord(ts=datetime(2026, 1, 1), token_id=1, model="m", task="t", library="l", status=200, latency_ms=i)


def test_rate_limit_is_a_burst_refilled_evenly():
    now = [0.0]
    limiter = Limiter(clock=lambda: now[0])
    limit = Limit(per_minute=60)
    for _ in range(60):
        limiter.acquire("k", limit).release()
    with pytest.raises(RateLimited) as refused:
        limiter.acquire("k", limit)
    assert refused.value.headers["Retry-After"] == "1" and refused.value.limit == "rate"
    now[0] = 1.0
    limiter.acquire("k", limit).release()  # one per second as the burst refills
    with pytest.raises(RateLimited):
        limiter.acquire("k", limit)
    limiter.acquire("other", limit).release()  # keys are independent
    limiter.acquire("k", Limit()).release()  # 0: no limit


def test_concurrency_counts_until_released_once():
    limiter = Limiter()
    first = limiter.acquire("k", Limit(concurrency=2))
    limiter.acquire("k", Limit(concurrency=2))
    with pytest.raises(RateLimited) as refused:
        limiter.acquire("k", Limit(concurrency=2))
    assert refused.value.limit == "concurrency" and refused.value.status_code == 429
    first.release()
    first.release()  # a second release gives nothing back
    assert limiter.in_flight("k") == 1
    limiter.acquire("k", Limit(concurrency=2))


def test_latency_buckets_and_percentiles_within_their_precision():
    assert latency_bucket(0.0) == 0 and latency_bucket(0.5) == 0 and latency_bucket(0.51) == 1
    assert latency_bucket(10**9) == len(LATENCY_BOUNDS_MS)  # the unbounded last bucket
    rng = random.Random(7)
    latencies = [rng.lognormvariate(3.0, 1.0) for _ in range(20_000)]  # ms, median ~20
    counts: dict = {}
    for value in latencies:
        counts[latency_bucket(value)] = counts.get(latency_bucket(value), 0) + 1
    estimated = percentiles(counts)
    exact = np.percentile(latencies, [50, 95, 99])
    for estimate, truth in zip(estimated, exact):
        assert truth / 1.19 <= estimate <= truth * 1.19
    assert percentiles({}) == [0.0, 0.0, 0.0]


def test_a_full_buffer_drops_and_counts_without_blocking():
    registry = CollectorRegistry()
    metrics = UsageMetrics(registry)
    gate, written = threading.Event(), []

    def write(batch):
        gate.wait(10)
        written.extend(batch)

    recorder = Recorder(write, metrics, capacity=3, batch=1, interval_s=0.01)
    recorder.start()
    accepted = [recorder.add(record(1))]
    time.sleep(0.1)  # the writer holds the first record, blocked
    started = time.perf_counter()
    accepted += [recorder.add(record(i)) for i in range(2, 8)]
    assert time.perf_counter() - started < 0.05  # never waits for the writer
    assert accepted == [True, True, True, True, False, False, False]
    assert registry.get_sample_value("aic_gateway_usage_records_total", {"outcome": "dropped"}) == 3
    assert registry.get_sample_value("aic_gateway_usage_buffered") == 3
    gate.set()
    recorder.stop(5)
    assert [r.latency_ms for r in written] == [1, 2, 3, 4]
    assert registry.get_sample_value("aic_gateway_usage_records_total", {"outcome": "written"}) == 4


def test_failed_writes_are_retried_and_stop_writes_everything():
    registry = CollectorRegistry()
    failures, written = [2], []

    def write(batch):
        if failures[0]:
            failures[0] -= 1
            raise ConnectionError("database away")
        written.extend(batch)

    recorder = Recorder(write, UsageMetrics(registry), capacity=1000, batch=7, interval_s=60)
    recorder.start()
    for i in range(100):
        recorder.add(record(i))
    recorder.stop(10)  # the long interval never elapsed: stop wrote them
    assert sorted(r.latency_ms for r in written) == list(range(100))
    assert registry.get_sample_value("aic_gateway_usage_write_failures_total") == 2


def test_what_stop_cannot_write_is_counted_as_lost():
    registry = CollectorRegistry()

    def write(batch):
        raise ConnectionError("database away")

    recorder = Recorder(write, UsageMetrics(registry), capacity=10, batch=10, interval_s=60)
    recorder.start()
    for i in range(4):
        recorder.add(record(i))
    started = time.monotonic()
    recorder.stop(0.3)
    assert time.monotonic() - started < 3
    assert registry.get_sample_value("aic_gateway_usage_records_total", {"outcome": "lost"}) == 4


def test_expiry_runs_in_the_writer():
    registry = CollectorRegistry()
    calls = []
    recorder = Recorder(
        lambda batch: None, UsageMetrics(registry), interval_s=0.01, expire=lambda: calls.append(1) or 5
    )
    recorder.start()
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    recorder.stop(1)
    assert calls and registry.get_sample_value("aic_gateway_usage_rows_expired_total") == 5


def test_session_cookies_are_signed_bound_to_the_token_and_expire(tmp_path):
    key = load_key(None, str(tmp_path))
    assert load_key(None, str(tmp_path)) == key and (tmp_path / "session.key").stat().st_mode & 0o777 == 0o600
    now = [1000.0]
    sessions = Sessions(key, ttl_s=60, clock=lambda: now[0])
    secret = new_token()
    token = Token(id=3, name="a", prefix=secret[:12], hash=token_hash(secret))
    value = sessions.issue(token)
    assert secret not in value and token.hash not in value
    assert sessions.token_of(value, {3: token}) == token
    ident, expires, signature = value.split(".")
    for forged in (
        f"4.{expires}.{signature}",  # another token's id
        f"{ident}.{int(expires) + 3600}.{signature}",  # a later expiry
        f"{ident}.{expires}.{signature[:-2]}xx",
        "garbage",
        "1.2.3.4",
    ):
        assert sessions.token_of(forged, {3: token, 4: token}) is None
    other = Sessions(load_key("a configured secret", str(tmp_path)), ttl_s=60, clock=lambda: now[0])
    assert other.token_of(value, {3: token}) is None  # another key
    revoked = Token(id=3, name="a", prefix=token.prefix, hash=token.hash, revoked_at=datetime(2026, 1, 1))
    assert sessions.token_of(value, {3: revoked}) is None
    now[0] += 61
    assert sessions.token_of(value, {3: token}) is None  # expired
