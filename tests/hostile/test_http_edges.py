"""Malformed, mislabelled, truncated, slow and idle HTTP against a live sentence_transformers server.

Raw sockets send what no client library would (hostile_http); each case checks the answer, the
server's memory, that no 5xx is recorded where the client is at fault, and that the server keeps answering.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import List

import pytest
from hostile_http import chunked, close_all, exchange, open_idle, request_head, send_and_leave
from hostile_probes import (
    DEFAULT_MEMORY_BOUND_MIB,
    HEALTH_UNDER_ATTACK_S,
    HealthSampler,
    PeakMemory,
    Target,
    assert_json_error,
    inference_runs,
    observe,
    server_errors,
    wait_until,
)
from hostile_servers import MAX_BODY_BYTES

JSON = {"content-type": "application/json"}
BODY = b'{"inputs": "a sentence"}'


def port_of(target: Target) -> int:
    return target.server.port


# ---------------------------------------------------------------- methods and reserved paths


# Guards against a defect that was: 405 answers are text/plain, not JSON.
@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_on_root_are_405_json(st_target: Target, method: str) -> None:
    runs = inference_runs(st_target.url)
    observe(st_target, method, "/", data=BODY, headers=JSON).assert_error((405,))
    assert inference_runs(st_target.url) == runs
    st_target.assert_still_serving()


# Guards against a defect that was: POST on a reserved path (/health, /ready, /metrics, /info) falls through
# to inference.
@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics", "/info"])
def test_post_on_reserved_paths_is_405_json_without_inference(st_target: Target, path: str) -> None:
    runs = inference_runs(st_target.url)
    observed = observe(st_target, "POST", path, data=BODY, headers=JSON)
    assert inference_runs(st_target.url) == runs, "the model ran for a POST on " + path
    observed.assert_error((405,))
    st_target.assert_still_serving()


def test_get_with_a_body_does_not_run_inference(st_target: Target) -> None:
    runs = inference_runs(st_target.url)
    observed = observe(st_target, "GET", "/", data=BODY, headers=JSON)
    assert observed.answer.status == 200 and observed.answer.body == b'{"ok":"ok"}', observed.describe()
    assert observed.memory_mib <= DEFAULT_MEMORY_BOUND_MIB, observed.describe()
    assert inference_runs(st_target.url) == runs
    st_target.assert_still_serving()


# ---------------------------------------------------------------- bodies that lie about their length


# Guards against a defect that was: a client that leaves while its body is being read becomes a recorded 500
# with a logged traceback (the disconnect is not handled as a cancellation).
@pytest.mark.parametrize("half_close", [False, True], ids=["client-closes", "client-half-closes"])
def test_body_shorter_than_declared_then_the_client_leaves(st_target: Target, half_close: bool) -> None:
    errors = server_errors(st_target.url)
    st_target.new_log()
    head = request_head("POST", "/", {**JSON, "content-length": "1000"})
    with PeakMemory(st_target.pid) as peak:
        if half_close:
            raw = exchange(port_of(st_target), [head, b'{"inputs": "trunc'], half_close=True, timeout=5)
            if raw.status is not None:  # an answer to a truncated body is a client error
                assert_json_error(raw.answer(), (400,))
        else:
            send_and_leave(port_of(st_target), [head, b'{"inputs": "trunc'])
        wait_until(lambda: server_errors(st_target.url) != errors, timeout=0.5)  # give a 5xx time to show
    assert peak.growth_mib <= DEFAULT_MEMORY_BOUND_MIB, f"peak RSS +{peak.growth_mib:.0f} MiB"
    assert server_errors(st_target.url) == errors, "the server recorded a 5xx for a client that left"
    assert "Traceback" not in st_target.new_log()
    st_target.assert_still_serving()


def test_content_length_shorter_than_the_body(st_target: Target) -> None:
    """The first 5 bytes are the request (not JSON: a 400); the rest is never taken as a second request."""
    with PeakMemory(st_target.pid) as peak:
        raw = exchange(port_of(st_target), [request_head("POST", "/", {**JSON, "content-length": "5"}) + BODY])
    assert_json_error(raw.answer(), (400,))
    assert peak.growth_mib <= DEFAULT_MEMORY_BOUND_MIB, f"peak RSS +{peak.growth_mib:.0f} MiB"
    st_target.assert_still_serving()


def test_conflicting_content_lengths(st_target: Target) -> None:
    """Refused by the HTTP parser before the app sees it (its 400 is the server library's plain text)."""
    runs = inference_runs(st_target.url)
    head = request_head("POST", "/", {**JSON, "content-length": "5"})[:-2] + b"Content-Length: 24\r\n\r\n"
    with PeakMemory(st_target.pid) as peak:
        raw = exchange(port_of(st_target), [head + BODY])
    assert raw.status == 400, raw.describe()
    assert peak.growth_mib <= DEFAULT_MEMORY_BOUND_MIB, f"peak RSS +{peak.growth_mib:.0f} MiB"
    assert inference_runs(st_target.url) == runs
    st_target.assert_still_serving()


def test_declared_length_over_the_limit(st_target: Target) -> None:
    head = request_head("POST", "/", {**JSON, "content-length": str(10 * 1024**3)})
    with PeakMemory(st_target.pid) as peak:
        raw = exchange(port_of(st_target), [head], timeout=5)
    assert_json_error(raw.answer(), (413,))
    assert peak.growth_mib <= DEFAULT_MEMORY_BOUND_MIB, f"peak RSS +{peak.growth_mib:.0f} MiB"
    st_target.assert_still_serving()


def test_chunked_body_over_the_limit(st_target: Target) -> None:
    """A chunked body (no length declared) is refused with a 413 once it passes MAX_BODY_BYTES, never buffered."""
    piece = b"a" * 65536
    parts = chunked([piece] * (MAX_BODY_BYTES // len(piece) + 32))  # 2 MiB over the limit
    with PeakMemory(st_target.pid) as peak:
        raw = exchange(port_of(st_target), [request_head("POST", "/", {"transfer-encoding": "chunked"}), *parts])
    assert_json_error(raw.answer(), (413,))
    assert peak.growth_mib <= DEFAULT_MEMORY_BOUND_MIB, f"peak RSS +{peak.growth_mib:.0f} MiB"
    st_target.assert_still_serving()


# ---------------------------------------------------------------- headers


@pytest.mark.parametrize("size", [100_000, 1_000_000], ids=["100KB", "1MB"])
def test_huge_headers(st_target: Target, size: int) -> None:
    """Served or refused (400/431, or the connection closed), never a 5xx; memory stays flat."""
    with PeakMemory(st_target.pid) as peak:
        raw = exchange(port_of(st_target), [request_head("GET", "/health", {"x-padding": "a" * size})])
    assert raw.status in (None, 200, 400, 431), raw.describe()
    assert peak.growth_mib <= DEFAULT_MEMORY_BOUND_MIB, f"peak RSS +{peak.growth_mib:.0f} MiB"
    st_target.assert_still_serving()


# ---------------------------------------------------------------- slow and idle clients


def trickle(sockets: List[socket.socket], data: bytes, until: float, interval: float = 0.1) -> None:
    """Send `data` one byte per socket every `interval` seconds (then header lines, forever) until `until`."""
    position = 0
    while time.monotonic() < until:
        byte = data[position : position + 1] if position < len(data) else b"x"
        for sock in sockets:
            try:
                sock.send(byte)
            except OSError:
                pass
        position += 1
        time.sleep(interval)


def test_slow_senders(st_target: Target) -> None:
    """100 clients trickle a request head and 50 a body, a byte each per 100 ms for 2.5 s; others are served."""
    port = port_of(st_target)
    heads, bodies = open_idle(port, 100), open_idle(port, 50)
    try:
        for sock in bodies:
            sock.sendall(request_head("POST", "/", {**JSON, "content-length": "65536"}))
        until = time.monotonic() + 2.5
        senders = [
            threading.Thread(target=trickle, args=(heads, b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ", until)),
            threading.Thread(target=trickle, args=(bodies, b'{"inputs": "' + b"a" * 60000, until)),
        ]
        with PeakMemory(st_target.pid) as peak, HealthSampler(st_target.url, interval=0.05) as health:
            for sender in senders:
                sender.start()
            time.sleep(0.5)
            st_target.assert_still_serving(health_bound=HEALTH_UNDER_ATTACK_S)
            for sender in senders:
                sender.join()
        assert health.worst <= HEALTH_UNDER_ATTACK_S and not health.failures, health.summary()
        assert peak.growth_mib <= DEFAULT_MEMORY_BOUND_MIB, f"peak RSS +{peak.growth_mib:.0f} MiB"
    finally:
        close_all(heads + bodies)
    st_target.assert_still_serving()


def test_many_idle_connections(st_target: Target) -> None:
    """1,000 connections opened and left idle: the server still answers at once, with little memory."""
    with PeakMemory(st_target.pid) as peak:
        idle = open_idle(port_of(st_target), 1000)
        try:
            time.sleep(0.5)  # the server has accepted them all
            st_target.assert_still_serving()
        finally:
            close_all(idle)
    assert peak.growth_mib <= DEFAULT_MEMORY_BOUND_MIB, f"peak RSS +{peak.growth_mib:.0f} MiB"
    st_target.assert_still_serving()
