#!/usr/bin/env python
"""Benchmark an image: a live server under closed-loop load, and the model's raw batched throughput.

For one image folder, app, model and task this script

1. starts the server as a real process on 127.0.0.1 (a free port) and waits for /ready;
2. at each concurrency, runs a closed-loop load generator (N persistent keep-alive connections,
   each sending its next request as soon as the previous one answered) while a separate process
   polls GET /health every 100 ms and times it;
3. optionally soaks the same server (windows of continuous load at one concurrency), reporting
   throughput and the server's RSS per window;
4. stops the server, then measures the raw in-process throughput of the image's Pipeline
   (`pipeline.batch([...])` at each batch size) in a subprocess, so that nothing competes with it;
5. prints one table, the ratios (server / raw) and whether each target is met.

The load generator is one asyncio event loop driving raw sockets (no HTTP library on the hot
path), so that it costs the shared cores as little as possible; its CPU use is reported.

    cd /work/main
    .venv/bin/python scripts/benchmark.py --image docker_images/sentence_transformers \\
        --task feature-extraction --concurrency 1,8,32 --duration 15 --soak 6 --window 20
    .venv/bin/python scripts/benchmark.py --image docker_images/sentence_transformers \\
        --env BACKEND=onnx --concurrency 1,32

Against the fake app of the core's tests (no model):

    .venv/bin/python scripts/benchmark.py --image tests --app fake_app:app --model tests \\
        --concurrency 1,8 --duration 2 --warmup 1 --raw-seconds 1
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import multiprocessing
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api_inference_community.maintainers.bundled import BundledModelMissing, bundled_model_dir  # noqa: E402

DEFAULT_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on the street.",
    "How do I reset my password?",
    "The weather is lovely today.",
    "Machine learning models turn text into vectors.",
    "She bought fresh bread at the bakery.",
    "This restaurant serves the best pizza in town.",
    "Can you recommend a good book about history?",
)

# Targets of issue #3.
TARGET_THROUGHPUT_RATIO = 0.7  # server items/s at 32 clients >= 0.7 x raw batch-32 items/s
TARGET_LATENCY_OVERHEAD_MS = 5.0  # server p50 at 1 client <= raw batch-1 p50 + 5 ms
TARGET_PROBE_P99_MS = 10.0  # /health p99 < 10 ms at every concurrency
TARGET_SOAK_RATIO = 0.95  # soak: last window throughput / first >= 0.95
TARGET_RSS_GROWTH = 1.05  # soak: last window RSS / first <= 1.05 ("flat")

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- helpers


def bundled_model() -> str:
    try:
        return str(bundled_model_dir())
    except BundledModelMissing:
        return ""


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def parse_env(pairs: Sequence[str]) -> Dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env expects KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def int_list(text: str) -> List[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def process_cpu_seconds(pid: int, tid: Optional[int] = None) -> float:
    """User + system CPU time of a process (or one of its threads), from /proc."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    try:
        with open(path) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def rss_mb(pid: int) -> Optional[float]:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def system_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent busy (from /proc/stat), summed over cores."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def wait_for_quiet(threshold: float, max_wait: float, sample: float = 3.0) -> float:
    """Wait (at most `max_wait` s) until the machine's busy CPU is below `threshold` cores; return it."""
    deadline = time.monotonic() + max_wait
    while True:
        before = system_busy_seconds()
        time.sleep(sample)
        busy = (system_busy_seconds() - before) / sample
        if busy < threshold or time.monotonic() >= deadline:
            if busy >= threshold:
                print(f"warning: the machine is still busy ({busy:.2f} cores in use)", file=sys.stderr, flush=True)
            return busy
        print(f"  waiting for the machine to be quiet ({busy:.2f} cores in use)", file=sys.stderr, flush=True)


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_info() -> Dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from api_inference_community.runtime.threads import available_cpus

    return {
        "cpus": available_cpus(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def parse_metrics(text: str) -> Dict[str, float]:
    """The sums and counts of the server's histograms (Prometheus text format)."""
    wanted = ("aic_batch_size", "aic_inference_duration_seconds", "aic_queue_time_seconds")
    values: Dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.partition(" ")
        if name.endswith(("_sum", "_count")) and name.rsplit("_", 1)[0] in wanted:
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


# ---------------------------------------------------------------- load generator


class _Connection(asyncio.Protocol):
    """One keep-alive connection of the closed loop: one request in flight at a time."""

    def __init__(self, generator: LoadGenerator) -> None:
        self.generator = generator
        self.transport: Optional[asyncio.Transport] = None
        self.buffer = bytearray()
        self.need = -1  # bytes of the response being read (headers + body), once headers are in
        self.status = 0
        self.close_after = False
        self.sent_at = 0.0
        self.in_flight = False
        self.items = 0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            if self.need < 0:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                lines = bytes(buffer[:end]).split(b"\r\n")
                self.status = int(lines[0].split(b" ", 2)[1])
                length, self.close_after = None, False
                for line in lines[1:]:
                    key, _, value = line.partition(b":")
                    key = key.strip().lower()
                    if key == b"content-length":
                        length = int(value)
                    elif key == b"connection" and value.strip().lower() == b"close":
                        self.close_after = True
                if length is None:  # chunked answers are not expected from this server
                    self.status = -1
                    self.close_after = True
                    length = len(buffer) - end - 4
                self.need = end + 4 + length
            if len(buffer) < self.need:
                return
            del buffer[: self.need]
            self.need = -1
            self.in_flight = False
            self.generator.completed(self, self.status)
            if self.closed or self.in_flight:
                return

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.closed = True
        self.generator.lost(self)


class LoadGenerator:
    """N closed-loop clients on one asyncio loop; records (sent, answered, status, items)."""

    def __init__(
        self,
        host: str,
        port: int,
        requests: Sequence[bytes],
        items: Sequence[int],
        concurrency: int,
        stop_at: float,
        drain_timeout: float = 60.0,
    ) -> None:
        self.host, self.port = host, port
        self.requests, self.items = list(requests), list(items)
        self.concurrency = concurrency
        self.stop_at = stop_at
        self.drain_timeout = drain_timeout
        self.records: List[Tuple[float, float, int, int]] = []
        self.connection_errors: List[float] = []
        self._next = 0
        self._active = 0
        self._done: Optional[asyncio.Future] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._connections: List[_Connection] = []

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._done = self._loop.create_future()
        self._active = self.concurrency
        for _ in range(self.concurrency):
            self._loop.create_task(self._open_and_send())
        try:
            await asyncio.wait_for(asyncio.shield(self._done), timeout=self.stop_at - time.perf_counter() + 60)
        except asyncio.TimeoutError:
            pass
        for connection in self._connections:
            if connection.transport is not None and not connection.closed:
                connection.transport.close()

    async def _open_and_send(self) -> None:
        while time.perf_counter() < self.stop_at:
            try:
                _, connection = await self._loop.create_connection(lambda: _Connection(self), self.host, self.port)
            except OSError:
                self.connection_errors.append(time.perf_counter())
                await asyncio.sleep(0.05)
                continue
            self._connections.append(connection)
            self.send(connection)
            return
        self._finish_one()

    def send(self, connection: _Connection) -> None:
        index = self._next % len(self.requests)
        self._next += 1
        connection.items = self.items[index]
        connection.in_flight = True
        connection.sent_at = time.perf_counter()
        connection.transport.write(self.requests[index])

    def completed(self, connection: _Connection, status: int) -> None:
        now = time.perf_counter()
        self.records.append((connection.sent_at, now, status, connection.items))
        if connection.close_after:
            connection.transport.close()  # connection_lost reopens it
            return
        if now < self.stop_at:
            self.send(connection)
        else:
            self._finish_one()

    def lost(self, connection: _Connection) -> None:
        now = time.perf_counter()
        if connection.in_flight:
            connection.in_flight = False
            self.connection_errors.append(now)
        elif not connection.close_after:
            return  # closed by us after it finished
        if now < self.stop_at:
            self._loop.create_task(self._open_and_send())
        else:
            self._finish_one()

    def _finish_one(self) -> None:
        self._active -= 1
        if self._active <= 0 and self._done is not None and not self._done.done():
            self._done.set_result(None)


async def http_get(host: str, port: int, path: str, timeout: float = 10.0) -> Tuple[int, bytes]:
    """A one-off GET on its own connection, without blocking the loop."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# ---------------------------------------------------------------- health probe (its own process)


def _probe_main(host: str, port: int, interval: float, keepalive: bool, stop, pipe) -> None:
    import http.client

    records: List[Tuple[float, float, int]] = []
    connection = None
    tick = time.perf_counter()
    while not stop.is_set():
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=10)
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            keep = False
        else:
            keep = keepalive
        records.append((started, time.perf_counter() - started, status))
        if not keep and connection is not None:
            connection.close()
            connection = None
        tick += interval
        delay = tick - time.perf_counter()
        if delay > 0:
            stop.wait(delay)
        else:
            tick = time.perf_counter()
    pipe.send(records)
    pipe.close()


class Probe:
    """Polls GET /health every `interval` seconds from a separate process; times each call."""

    def __init__(self, host: str, port: int, interval: float = 0.1, keepalive: bool = False) -> None:
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_probe_main, args=(host, port, interval, keepalive, self._stop, sender), daemon=True
        )
        self._process.start()
        sender.close()
        self.records: List[Tuple[float, float, int]] = []

    def stop(self) -> List[Tuple[float, float, int]]:
        self._stop.set()
        if self._receiver.poll(30):
            self.records = self._receiver.recv()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
        return self.records


# ---------------------------------------------------------------- measuring windows


class Sampler:
    """Server-side and generator-side counters at the boundaries of the measured windows."""

    def __init__(self, host: str, port: int, pid: int) -> None:
        self.host, self.port, self.pid = host, port, pid
        self.samples: List[Dict[str, Any]] = []

    async def sample(self) -> Dict[str, Any]:
        snapshot: Dict[str, Any] = {
            "t": time.perf_counter(),
            "server_cpu": process_cpu_seconds(self.pid),
            "loop_cpu": process_cpu_seconds(self.pid, self.pid),  # the main thread runs the event loop
            "generator_cpu": own_cpu_seconds(),
            "system_cpu": system_busy_seconds(),
            "rss_mb": rss_mb(self.pid),
        }
        try:
            status, body = await http_get(self.host, self.port, "/metrics")
            snapshot["metrics"] = parse_metrics(body.decode(errors="replace")) if status == 200 else {}
        except (OSError, asyncio.TimeoutError, ValueError, IndexError):
            snapshot["metrics"] = {}
        self.samples.append(snapshot)
        return snapshot


def summarize_window(
    records: Sequence[Tuple[float, float, int, int]],
    errors: Sequence[float],
    probes: Sequence[Tuple[float, float, int]],
    start: Dict[str, Any],
    end: Dict[str, Any],
) -> Dict[str, Any]:
    """Figures of the requests answered within [start, end] (closed loop: completion rate)."""
    t0, t1 = start["t"], end["t"]
    wall = t1 - t0
    done = [r for r in records if t0 <= r[1] < t1]
    ok = [r for r in done if r[2] == 200]
    latencies = [(r[1] - r[0]) * 1000 for r in ok]
    probe_ok = [p[1] * 1000 for p in probes if t0 <= p[0] < t1 and p[2] == 200]
    probe_failed = sum(1 for p in probes if t0 <= p[0] < t1 and p[2] != 200)
    m0, m1 = start.get("metrics", {}), end.get("metrics", {})

    def delta(name: str) -> Optional[float]:
        return m1[name] - m0[name] if name in m0 and name in m1 else None

    batches = delta("aic_batch_size_count")
    items_in_batches = delta("aic_batch_size_sum")
    inference_s = delta("aic_inference_duration_seconds_sum")
    queue_count, queue_s = delta("aic_queue_time_seconds_count"), delta("aic_queue_time_seconds_sum")
    statuses: Dict[str, int] = {}
    for r in done:
        if r[2] != 200:
            statuses[str(r[2])] = statuses.get(str(r[2]), 0) + 1
    return {
        "seconds": wall,
        "requests": len(ok),
        "req_per_s": len(ok) / wall,
        "items_per_s": sum(r[3] for r in ok) / wall,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "mean_ms": float(np.mean(latencies)) if latencies else None,
        "errors": len(done) - len(ok) + sum(1 for e in errors if t0 <= e < t1),
        "error_statuses": statuses,
        "probe_count": len(probe_ok),
        "probe_failed": probe_failed,
        "probe_p50_ms": percentile(probe_ok, 50),
        "probe_p99_ms": percentile(probe_ok, 99),
        "probe_max_ms": max(probe_ok) if probe_ok else None,
        "mean_batch": items_in_batches / batches if batches else None,
        "model_calls_per_s": batches / wall if batches is not None else None,
        "model_busy": inference_s / wall if inference_s is not None else None,
        "queue_ms": 1000 * queue_s / queue_count if queue_count else None,
        "server_cpu": (end["server_cpu"] - start["server_cpu"]) / wall,
        "loop_cpu": (end["loop_cpu"] - start["loop_cpu"]) / wall,
        "generator_cpu": (end["generator_cpu"] - start["generator_cpu"]) / wall,
        # everything else on the machine (the probe, other users): noise if large
        "other_cpu": (
            (end["system_cpu"] - start["system_cpu"])
            - (end["server_cpu"] - start["server_cpu"])
            - (end["generator_cpu"] - start["generator_cpu"])
        )
        / wall,
        "rss_mb": end.get("rss_mb"),
    }


def run_load(
    server_url: Tuple[str, int],
    pid: int,
    requests: Sequence[bytes],
    items: Sequence[int],
    concurrency: int,
    warmup: float,
    windows: Sequence[float],
    probe_interval: float,
    probe_keepalive: bool,
) -> List[Dict[str, Any]]:
    """Closed-loop load for `warmup` + sum(windows) seconds; one summary per window."""
    host, port = server_url
    probe = Probe(host, port, probe_interval, probe_keepalive)  # forked before the loop exists
    sampler = Sampler(host, port, pid)

    async def main() -> LoadGenerator:
        begin = time.perf_counter()
        boundaries = [begin + warmup]
        for window in windows:
            boundaries.append(boundaries[-1] + window)
        generator = LoadGenerator(host, port, requests, items, concurrency, stop_at=boundaries[-1])
        load = asyncio.ensure_future(generator.run())
        for boundary in boundaries:
            await asyncio.sleep(max(0.0, boundary - time.perf_counter()))
            await sampler.sample()
        await load
        return generator

    try:
        generator = asyncio.run(main())
    finally:
        probes = probe.stop()
    samples = sampler.samples
    return [
        summarize_window(generator.records, generator.connection_errors, probes, samples[i], samples[i + 1])
        for i in range(len(samples) - 1)
    ]


# ---------------------------------------------------------------- raw in-process throughput


def raw_child(config: Dict[str, Any]) -> Dict[str, Any]:
    """Runs in a subprocess whose cwd is the image folder and whose environment holds --env."""
    sys.path.insert(0, os.getcwd())
    from api_inference_community.runtime.settings import get_settings
    from api_inference_community.runtime.threads import available_cpus, configure_torch_threads
    from api_inference_community.tasks.registry import TASKS
    from api_inference_community.tasks.validation import Limits, parse_payload

    settings = get_settings()  # first call: reads the environment set up by the parent
    module = importlib.import_module(config["app"].split(":")[0])  # builds the app, starts nothing
    pipeline_class = module.ALLOWED_TASKS[config["task"]]
    spec = TASKS[config["task"]]
    payloads = [parse_payload(body.encode(), spec, Limits(max_inputs=settings.max_inputs)) for body in config["bodies"]]
    started = time.perf_counter()
    pipeline = pipeline_class(config["model"])
    load_seconds = time.perf_counter() - started
    configure_torch_threads(settings.num_threads or available_cpus())  # as the inference worker does
    batching = pipeline_class.supports_batching()
    torch = sys.modules.get("torch")

    def call(batch: List[Any], parameters: Dict[str, Any]) -> List[Any]:
        if batching:
            return pipeline.batch(batch, **parameters)
        return [pipeline(one, **parameters) for one in batch]

    results = []
    for size in config["batches"]:
        chosen = [payloads[i % len(payloads)] for i in range(size)]
        batch = [p.inputs for p in chosen]
        parameters = chosen[0].parameters
        items = sum(spec.count_items(x) for x in batch)
        other = 0.0
        for attempt in range(config["retries"] + 1):
            if attempt:
                print(f"  raw batch {size}: others used {other:.2f} cores, measuring again", file=sys.stderr)
                if config["quiet_wait"] > 0:
                    wait_for_quiet(config["quiet_below"], config["quiet_wait"])
            warm_until = time.perf_counter() + config["warmup"]
            for _ in range(3):
                call(batch, parameters)
            while time.perf_counter() < warm_until:
                call(batch, parameters)
            timings: List[float] = []
            own0, system0, wall0 = own_cpu_seconds(), system_busy_seconds(), time.perf_counter()
            deadline = time.perf_counter() + config["seconds"]
            while time.perf_counter() < deadline or len(timings) < config["min_iterations"]:
                tick = time.perf_counter()
                outputs = call(batch, parameters)
                timings.append(time.perf_counter() - tick)
                if len(outputs) != len(batch):
                    raise RuntimeError("the pipeline returned a wrong number of outputs")
            wall = time.perf_counter() - wall0
            own = (own_cpu_seconds() - own0) / wall
            other = (system_busy_seconds() - system0) / wall - own
            if other < config["noise_limit"]:
                break
        total = sum(timings)
        results.append(
            {
                "batch": size,
                "items": items,
                "iterations": len(timings),
                "items_per_s": items * len(timings) / total,
                "p50_ms": percentile([t * 1000 for t in timings], 50),
                "p99_ms": percentile([t * 1000 for t in timings], 99),
                "mean_ms": 1000 * total / len(timings),
                "cpu": own,
                "other_cpu": other,
                "attempts": attempt + 1,
            }
        )
    return {
        "pipeline": f"{pipeline_class.__module__}.{pipeline_class.__qualname__}",
        "batching": batching,
        "backend": settings.backend,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "load_seconds": load_seconds,
        "batches": results,
    }


def run_raw(args: argparse.Namespace, image: Path, env: Dict[str, str], bodies: List[str]) -> Dict[str, Any]:
    config = {
        "app": args.app,
        "task": args.task,
        "model": args.model,
        "bodies": bodies,
        "batches": int_list(args.raw_batches),
        "seconds": args.raw_seconds,
        "warmup": args.raw_warmup,
        "min_iterations": args.raw_min_iterations,
        "retries": args.retries,
        "noise_limit": args.noise_limit,
        "quiet_below": args.quiet_below,
        "quiet_wait": args.quiet_wait,
    }
    process = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--raw-child", json.dumps(config)],
        cwd=str(image),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if process.returncode != 0:
        raise RuntimeError(f"the raw measurement failed ({process.returncode}):\n{process.stderr[-5000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" for _ in headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


LEVEL_HEADERS = (
    "clients",
    "req/s",
    "items/s",
    "p50 ms",
    "p99 ms",
    "probe p50",
    "probe p99",
    "probe max",
    "errors",
    "mean batch",
    "model busy",
    "server CPU",
    "loop CPU",
    "gen CPU",
    "other CPU",
)


def level_row(label: str, r: Dict[str, Any]) -> List[str]:
    errors = str(r["errors"] + r["probe_failed"])
    if r["probe_failed"]:
        errors += f" ({r['probe_failed']} probe)"
    return [
        label,
        fmt(r["req_per_s"]),
        fmt(r["items_per_s"]),
        fmt(r["p50_ms"]),
        fmt(r["p99_ms"]),
        fmt(r["probe_p50_ms"], 2),
        fmt(r["probe_p99_ms"], 2),
        fmt(r["probe_max_ms"], 2),
        errors,
        fmt(r["mean_batch"]),
        pct(r["model_busy"]),
        pct(r["server_cpu"]),
        pct(r["loop_cpu"]),
        pct(r["generator_cpu"]),
        pct(max(0.0, r["other_cpu"])),  # tick rounding can make it slightly negative
    ]


def evaluate(results: Dict[str, Any]) -> Dict[str, Any]:
    levels = {r["concurrency"]: r for r in results.get("levels", [])}
    raw = {b["batch"]: b for b in (results.get("raw") or {}).get("batches", [])}
    ratios: Dict[str, Any] = {}
    targets: List[Dict[str, Any]] = []
    if levels and raw:
        top = 32 if 32 in levels else max(levels)
        big = 32 if 32 in raw else max(raw)
        ratio = levels[top]["items_per_s"] / raw[big]["items_per_s"]
        ratios["throughput"] = {"clients": top, "raw_batch": big, "ratio": ratio}
        targets.append(
            {
                "name": f"items/s at {top} clients >= {TARGET_THROUGHPUT_RATIO} x raw batch-{big}",
                "value": f"{ratio:.2f} x ({levels[top]['items_per_s']:.1f} / {raw[big]['items_per_s']:.1f})",
                "met": ratio >= TARGET_THROUGHPUT_RATIO,
            }
        )
        if 1 in levels and 1 in raw and levels[1]["p50_ms"] is not None:
            overhead = levels[1]["p50_ms"] - raw[1]["p50_ms"]
            ratios["latency_overhead_ms"] = overhead
            targets.append(
                {
                    "name": f"p50 at 1 client <= raw batch-1 p50 + {TARGET_LATENCY_OVERHEAD_MS:g} ms",
                    "value": f"+{overhead:.2f} ms ({levels[1]['p50_ms']:.2f} vs {raw[1]['p50_ms']:.2f})",
                    "met": overhead <= TARGET_LATENCY_OVERHEAD_MS,
                }
            )
    for label, rows in (("clients", results.get("levels", [])), ("soak window", results.get("soak", []))):
        for r in rows:
            value = r["probe_p99_ms"]
            name = r["concurrency"] if label == "clients" else r["window"]
            targets.append(
                {
                    "name": f"/health p99 < {TARGET_PROBE_P99_MS:g} ms ({label} {name})",
                    "value": f"{fmt(value, 2)} ms",
                    "met": value is not None and value < TARGET_PROBE_P99_MS and r["probe_failed"] == 0,
                }
            )
    soak = results.get("soak") or []
    if len(soak) >= 2:
        ratio = soak[-1]["items_per_s"] / soak[0]["items_per_s"] if soak[0]["items_per_s"] else 0.0
        ratios["soak_throughput"] = ratio
        targets.append(
            {
                "name": f"soak throughput last/first >= {TARGET_SOAK_RATIO}",
                "value": f"{ratio:.3f}",
                "met": ratio >= TARGET_SOAK_RATIO,
            }
        )
        first, last = soak[0]["rss_mb"], soak[-1]["rss_mb"]
        if first and last:
            ratios["soak_rss"] = last / first
            targets.append(
                {
                    "name": f"soak RSS flat (last/first <= {TARGET_RSS_GROWTH})",
                    "value": f"{first:.0f} -> {last:.0f} MB ({last / first:.3f})",
                    "met": last / first <= TARGET_RSS_GROWTH,
                }
            )
    return {"ratios": ratios, "targets": targets}


def render(results: Dict[str, Any], markdown: bool) -> str:
    out: List[str] = []
    heading = "### " if markdown else "== "
    config = results["config"]
    out.append(
        f"{heading}{config['image']} {config['app']} task={config['task']} "
        f"env={' '.join(f'{k}={v}' for k, v in config['env'].items()) or '(none)'}"
    )
    out.append("")
    if results.get("levels"):
        out.append(f"Server, closed loop ({config['duration']:g} s per level after {config['warmup']:g} s warm-up):")
        out.append("")
        rows = [level_row(str(r["concurrency"]), r) for r in results["levels"]]
        out.append(table(LEVEL_HEADERS, rows, markdown))
        out.append("")
    if results.get("soak"):
        soak_config = results["soak_config"]
        out.append(
            f"Soak: {soak_config['windows']} x {soak_config['window']:g} s at {soak_config['concurrency']} clients"
            " (one server, continuous load):"
        )
        out.append("")
        headers = ("window",) + LEVEL_HEADERS[1:] + ("RSS MB",)
        rows = [level_row(str(r["window"]), r) + [fmt(r["rss_mb"])] for r in results["soak"]]
        out.append(table(headers, rows, markdown))
        out.append("")
    raw = results.get("raw")
    if raw:
        out.append(
            f"Raw in-process ({raw['pipeline']}, {'batch()' if raw['batching'] else '__call__'}, "
            f"backend={raw['backend']}, torch threads={raw['torch_threads']}, load {raw['load_seconds']:.1f} s):"
        )
        out.append("")
        rows = [
            [
                str(b["batch"]),
                fmt(b["items_per_s"]),
                fmt(b["p50_ms"], 2),
                fmt(b["p99_ms"], 2),
                str(b["iterations"]),
                pct(b.get("cpu")),
                pct(max(0.0, b.get("other_cpu", 0.0))),
            ]
            for b in raw["batches"]
        ]
        headers = ("batch", "items/s", "p50 ms", "p99 ms", "iterations", "CPU", "other CPU")
        out.append(table(headers, rows, markdown))
        out.append("")
    ratios = results["evaluation"]["ratios"]
    if ratios:
        out.append("Ratios:")
        out.append("")
        if "throughput" in ratios:
            t = ratios["throughput"]
            out.append(
                f"- server items/s at {t['clients']} clients / raw batch-{t['raw_batch']} items/s: {t['ratio']:.2f}"
            )
        if "latency_overhead_ms" in ratios:
            out.append(f"- server p50 at 1 client - raw batch-1 p50: {ratios['latency_overhead_ms']:+.2f} ms")
        if "soak_throughput" in ratios:
            out.append(f"- soak items/s last window / first window: {ratios['soak_throughput']:.3f}")
        if "soak_rss" in ratios:
            out.append(f"- soak RSS last window / first window: {ratios['soak_rss']:.3f}")
        out.append("")
    targets = results["evaluation"]["targets"]
    if targets:
        out.append("Targets:")
        out.append("")
        for t in targets:
            out.append(f"- [{'x' if t['met'] else ' '}] {t['name']}: {t['value']} -> {'met' if t['met'] else 'MISSED'}")
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- main


def build_requests(args: argparse.Namespace, port: int, bodies: Sequence[str]) -> List[bytes]:
    requests = []
    for body in bodies:
        data = body.encode()
        head = (
            f"POST {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        requests.append(head.encode() + data)
    return requests


def items_of(bodies: Sequence[str], task: str) -> List[int]:
    from api_inference_community.tasks.registry import TASKS
    from api_inference_community.tasks.validation import parse_payload

    spec = TASKS[task]
    return [spec.count_items(parse_payload(body.encode(), spec).inputs) for body in bodies]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--image", default="docker_images/sentence_transformers", help="the image folder (cwd)")
    parser.add_argument("--app", default="app.main:app", help="the app, module:attribute, importable from --image")
    parser.add_argument("--model", default=None, help="MODEL_ID (default: the bundled all-MiniLM-L6-v2)")
    parser.add_argument("--task", default="feature-extraction")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="server environment")
    parser.add_argument("--concurrency", default="1,8,32", help="client counts, comma separated ('' for none)")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per concurrency level")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds of load before each level")
    parser.add_argument("--payload", action="append", default=[], help="a JSON body (repeatable; rotated)")
    parser.add_argument("--path", default="/", help="the inference route")
    parser.add_argument("--raw-batches", default="1,32", help="raw batch sizes ('' to skip the raw measurement)")
    parser.add_argument("--raw-seconds", type=float, default=10.0, help="timed seconds per raw batch size")
    parser.add_argument("--raw-warmup", type=float, default=2.0, help="warm-up seconds per raw batch size")
    parser.add_argument("--raw-min-iterations", type=int, default=10)
    parser.add_argument("--soak", type=int, default=0, metavar="WINDOWS", help="soak windows (0: no soak)")
    parser.add_argument("--window", type=float, default=20.0, help="seconds per soak window")
    parser.add_argument("--soak-concurrency", type=int, default=32)
    parser.add_argument("--probe-interval", type=float, default=0.1, help="seconds between /health probes")
    parser.add_argument(
        "--probe-keepalive", action="store_true", help="reuse the probe's connection (default: a new one per probe)"
    )
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument(
        "--quiet-below",
        type=float,
        default=0.2,
        metavar="CORES",
        help="before each phase, wait until the machine uses fewer cores than this (others' work)",
    )
    parser.add_argument("--quiet-wait", type=float, default=0.0, metavar="SECONDS", help="at most this long (0: never)")
    parser.add_argument(
        "--noise-limit",
        type=float,
        default=0.15,
        metavar="CORES",
        help="a measurement during which other processes used more cores than this is noisy",
    )
    parser.add_argument("--retries", type=int, default=0, help="measure a noisy level (or raw batch) again, this often")
    parser.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    parser.add_argument("--raw-child", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.raw_child is not None:
        print(json.dumps(raw_child(json.loads(args.raw_child))))
        return 0

    from api_inference_community.testing.live import live_server

    # Stopped by a signal (even from a background shell, where SIGINT is ignored): unwind, so that
    # live_server stops the server process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    image = Path(args.image)
    if not image.is_absolute():
        image = (Path.cwd() / image) if (Path.cwd() / image).is_dir() else ROOT / image
    if not image.is_dir():
        raise SystemExit(f"no image folder {image}")
    image = image.resolve()
    args.model = args.model or bundled_model()
    if not args.model:
        raise SystemExit("--model is required (the bundled all-MiniLM-L6-v2 is not installed)")
    args.model = str(Path(args.model).resolve()) if Path(args.model).exists() else args.model
    bodies = args.payload or [json.dumps({"inputs": s}) for s in DEFAULT_SENTENCES]
    items = items_of(bodies, args.task)
    extra_env = parse_env(args.env)
    env = {"MODEL_ID": args.model, "TASK": args.task, "HF_HUB_OFFLINE": "1", **extra_env}
    concurrencies = int_list(args.concurrency)

    results: Dict[str, Any] = {
        "config": {
            "image": os.path.relpath(image, ROOT) if image.is_relative_to(ROOT) else str(image),
            "app": args.app,
            "model": args.model,
            "task": args.task,
            "env": extra_env,
            "concurrency": concurrencies,
            "duration": args.duration,
            "warmup": args.warmup,
            "payloads": bodies,
            "probe_interval": args.probe_interval,
            "probe_keepalive": args.probe_keepalive,
            "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        },
        "machine": machine_info(),
        "levels": [],
        "soak": [],
    }

    if concurrencies or args.soak:
        log = sys.stderr
        if args.quiet_wait > 0:
            results["busy_before_server"] = wait_for_quiet(args.quiet_below, args.quiet_wait)
        print(f"starting {args.app} in {image} ({env})", file=log, flush=True)
        started = time.perf_counter()
        with live_server(args.app, env, cwd=image, timeout=args.ready_timeout) as server:
            results["server_ready_s"] = time.perf_counter() - started
            pid = server.process.pid
            address = ("127.0.0.1", server.port)
            requests = build_requests(args, server.port, bodies)

            def measure(concurrency: int, windows: List[float], what: str) -> List[Dict[str, Any]]:
                """Load at `concurrency`; again (up to --retries) when other processes disturbed it."""
                for attempt in range(args.retries + 1):
                    if args.quiet_wait > 0:
                        wait_for_quiet(args.quiet_below, args.quiet_wait)  # the idle server uses ~0
                    print(f"  {what}: {args.warmup:g} s warm-up + {' + '.join(f'{w:g}' for w in windows)} s", file=log)
                    summaries = run_load(
                        address,
                        pid,
                        requests,
                        items,
                        concurrency,
                        args.warmup,
                        windows,
                        args.probe_interval,
                        args.probe_keepalive,
                    )
                    noise = max(w["other_cpu"] for w in summaries)
                    for w in summaries:
                        w["concurrency"], w["attempts"] = concurrency, attempt + 1
                        print(f"    {w['items_per_s']:.1f} items/s, p50 {fmt(w['p50_ms'])} ms", file=log, flush=True)
                    time.sleep(0.5)
                    if noise < args.noise_limit:
                        break
                    print(f"    noisy: other processes used {noise:.2f} cores", file=log, flush=True)
                return summaries

            for concurrency in concurrencies:
                results["levels"] += measure(concurrency, [args.duration], f"{concurrency} clients")
            if args.soak:
                windows = measure(args.soak_concurrency, [args.window] * args.soak, "soak")
                for number, window in enumerate(windows, 1):
                    window["window"] = number
                results["soak"] = windows
                results["soak_config"] = {
                    "windows": args.soak,
                    "window": args.window,
                    "concurrency": args.soak_concurrency,
                }
        tracebacks = server.logs().count("Traceback")
        results["server_log_tracebacks"] = tracebacks
        if tracebacks:
            print(f"warning: {tracebacks} tracebacks in the server log {server.log_path}", file=log)

    if int_list(args.raw_batches):
        if args.quiet_wait > 0:
            results["busy_before_raw"] = wait_for_quiet(args.quiet_below, args.quiet_wait)
        print(f"raw in-process: batches {args.raw_batches}", file=sys.stderr, flush=True)
        results["raw"] = run_raw(args, image, env, bodies)

    results["evaluation"] = evaluate(results)
    print(render(results, args.markdown))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
