"""Watching a live server under attack: its memory, its /health latency, its metrics and its answers."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import requests

from api_inference_community.testing.live import LiveServer

MAX_ERROR_BYTES = 4096  # an error body is a few messages and a count, never an echo of the request
HEALTH_RIGHT_AFTER_S = 0.25  # /health right after a hostile request (one probe, on 2 busy cores)
HEALTH_UNDER_ATTACK_S = 0.5  # the slowest /health while hostile work runs (2 cores shared with the attackers)
DEFAULT_MEMORY_BOUND_MIB = 64  # peak RSS growth of a request that should cost nothing


# ------------------------------------------------------------------ memory


def memory_kib(pid: int) -> Dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


class PeakMemory:
    """The peak RSS growth of a process over a block: `with PeakMemory(pid) as peak: ...; peak.growth_mib`.

    The kernel's peak (VmHWM) is reset at the start (`clear_refs`), so the peak is exact; where that
    is not allowed, RSS is sampled every 5 ms instead.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start_kib = 0
        self.peak_kib = 0
        self._sampled: Optional[threading.Thread] = None
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            self._sampled = threading.Thread(target=self._sample, daemon=True)
        self.start_kib = memory_kib(self.pid)["VmRSS"]
        if self._sampled is not None:
            self._sampled.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak_kib = max(self.peak_kib, memory_kib(self.pid)["VmRSS"])

    def __exit__(self, *exc_info: object) -> None:
        if self._sampled is not None:
            self._stop.set()
            self._sampled.join()
        else:
            self.peak_kib = memory_kib(self.pid)["VmHWM"]

    @property
    def growth_mib(self) -> float:
        return max(0, self.peak_kib - self.start_kib) / 1024


# ------------------------------------------------------------------ latency


def health_latency(url: str, timeout: float = 10.0) -> Tuple[int, float]:
    """GET /health once: (status, seconds)."""
    started = time.perf_counter()
    response = requests.get(url + "/health", timeout=timeout)
    return response.status_code, time.perf_counter() - started


class HealthSampler:
    """GET /health every `interval` seconds in a thread while a block runs; failures count as `timeout`."""

    def __init__(self, url: str, interval: float = 0.02, timeout: float = 10.0) -> None:
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.latencies: List[float] = []
        self.failures: List[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, seconds = health_latency(self.url, self.timeout)
                self.latencies.append(seconds)
                if status != 200:
                    self.failures.append(f"status {status}")
            except requests.RequestException as error:
                self.latencies.append(self.timeout)
                self.failures.append(type(error).__name__)
            self._stop.wait(self.interval)

    def __enter__(self) -> HealthSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)

    def summary(self) -> str:
        ordered = sorted(self.latencies)
        median = ordered[len(ordered) // 2] if ordered else 0.0
        return f"{len(ordered)} probes, median {median * 1000:.1f} ms, max {self.worst * 1000:.1f} ms"


# ------------------------------------------------------------------ metrics and logs


Sample = Tuple[str, Dict[str, str], float]  # name, labels, value
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_samples(url: str) -> List[Sample]:
    """Every sample of /metrics."""
    samples = []
    for line in requests.get(url + "/metrics", timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            name, _, labels = series.partition("{")
            samples.append((name, dict(_LABEL.findall(labels)), float(value)))
    return samples


def metric_sum(url: str, name: str, where: Callable[[Dict[str, str]], bool] = lambda labels: True) -> float:
    """The sum of `name`'s samples over its labels (every model, every status...) that pass `where`."""
    return sum(value for sample, labels, value in metric_samples(url) if sample == name and where(labels))


def server_errors(url: str) -> float:
    """Requests the server answered (or recorded) with a 5xx status."""
    return metric_sum(url, "aic_requests_total", lambda labels: labels.get("status", "").startswith("5"))


def inference_runs(url: str) -> float:
    """Model calls so far."""
    return metric_sum(url, "aic_batch_size_count")


def queue_depth(url: str) -> float:
    """Requests waiting for the model (`aic_queue_depth`, over every model)."""
    return metric_sum(url, "aic_queue_depth")


# ------------------------------------------------------------------ answers


@dataclass
class Answer:
    """What came back: status, headers (lower-case names), at most `limit` bytes of body, and its full size."""

    status: int
    headers: Dict[str, str]
    body: bytes
    size: int
    seconds: float = 0.0

    def describe(self) -> str:
        kind = self.headers.get("content-type", "?")
        return f"{self.status} {kind}, {self.size} bytes in {self.seconds:.2f} s: {self.body[:160]!r}"


def send(method: str, url: str, *, limit: int = 64 * 1024, timeout: float = 60.0, **kwargs: Any) -> Answer:
    """One request; reads at most `limit` bytes of the answer (a 25 MB error body is not downloaded)."""
    headers = {"accept-encoding": "identity", **kwargs.pop("headers", {})}  # sizes as sent, not gzipped
    started = time.perf_counter()
    with requests.request(method, url, stream=True, timeout=timeout, headers=headers, **kwargs) as response:
        body = response.raw.read(limit + 1, decode_content=True)
        declared = response.headers.get("content-length", "")
        size = int(declared) if declared.isdigit() else len(body)
        if len(body) > limit:  # more than was read: the declared size, or at least what came
            size = max(size, len(body))
        received = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, received, body, size, time.perf_counter() - started)


def assert_json_error(answer: Answer, statuses: Sequence[int], max_bytes: int = MAX_ERROR_BYTES) -> Dict[str, Any]:
    """The answer is one of `statuses`, a JSON object with an `error`, at most `max_bytes` long."""
    assert answer.status in statuses, answer.describe()
    assert answer.size <= max_bytes, f"error body of {answer.size} bytes (bound {max_bytes}): {answer.describe()}"
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.describe()
    document = json.loads(answer.body)
    assert isinstance(document, dict) and document.get("error"), answer.describe()
    return document


@dataclass
class Observed:
    """An answer to a hostile request, the server's peak memory growth meanwhile, and its slowest /health."""

    answer: Answer
    memory_mib: float
    worst_health_s: float = 0.0

    def describe(self) -> str:
        return f"{self.answer.describe()}; peak RSS +{self.memory_mib:.0f} MiB; /health max {self.worst_health_s:.3f} s"

    def assert_error(
        self, statuses: Sequence[int], memory_bound: float = DEFAULT_MEMORY_BOUND_MIB, max_bytes: int = MAX_ERROR_BYTES
    ) -> Dict[str, Any]:
        """A short JSON error with one of `statuses`, at a peak memory growth of at most `memory_bound` MiB."""
        document = assert_json_error(self.answer, statuses, max_bytes)
        assert self.memory_mib <= memory_bound, self.describe()
        return document


def close_to(got: Any, expected: Any, tolerance: float = 1e-4) -> bool:
    """JSON values equal, numbers within `tolerance`."""
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and got.keys() == expected.keys()
            and all(close_to(got[k], v, tolerance) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(close_to(g, e, tolerance) for g, e in zip(got, expected))
        )
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return isinstance(got, (int, float)) and abs(got - expected) <= tolerance
    return bool(got == expected)


# ------------------------------------------------------------------ targets


@dataclass
class Target:
    """A live server under test and the normal request it must keep answering, with its first answer."""

    server: LiveServer
    normal: Mapping[str, Any]  # keyword arguments of requests.post for the normal request
    baseline: Any = None
    log_offset: int = 0  # how much of the server's log `new_log` has already returned

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pid(self) -> int:
        return self.server.process.pid

    @classmethod
    def ready(cls, server: LiveServer, timeout: float = 120.0, **normal: Any) -> Target:
        """Wait until `server` is ready, then record its answer to the normal request (`requests.post` keywords)."""
        server.wait_until("/ready", 200, timeout)
        target = cls(server, normal)
        target.record_baseline()
        target.new_log()
        return target

    def ask(self) -> requests.Response:
        return requests.post(self.url, timeout=60, **self.normal)

    def record_baseline(self) -> None:
        response = self.ask()
        assert response.status_code == 200, response.text
        self.baseline = response.json()

    def new_log(self) -> str:
        """What the server logged since the last call."""
        text = self.server.logs()
        fresh, self.log_offset = text[self.log_offset :], len(text)
        return fresh

    def assert_still_serving(self, health_bound: float = HEALTH_RIGHT_AFTER_S) -> None:
        """/health answers 200 within `health_bound`, and the normal request gets its usual answer."""
        assert self.server.process.poll() is None, f"the server exited:\n{self.server.logs()[-3000:]}"
        status, seconds = health_latency(self.url)
        assert status == 200 and seconds <= health_bound, f"/health: {status} in {seconds * 1000:.1f} ms"
        response = self.ask()
        assert response.status_code == 200, response.text[:300]
        assert close_to(response.json(), self.baseline), "the normal request's answer changed"


def observe(
    target: Target, method: str = "POST", path: str = "", sample_health: bool = False, **kwargs: Any
) -> Observed:
    """Send one request (`send` keywords) to `target`, watching its peak memory, and its /health when asked."""
    sampler = HealthSampler(target.url) if sample_health else None
    with PeakMemory(target.pid) as peak:
        if sampler is not None:
            with sampler:
                answer = send(method, target.url + path, **kwargs)
        else:
            answer = send(method, target.url + path, **kwargs)
    return Observed(answer, peak.growth_mib, sampler.worst if sampler is not None else 0.0)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> Optional[float]:
    """Seconds until `condition()` held, or None if it did not within `timeout`."""
    started = time.perf_counter()
    while True:
        if condition():
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            return None
        time.sleep(interval)
