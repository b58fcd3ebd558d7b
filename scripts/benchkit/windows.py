"""A closed-loop run cut into measured windows: the load generator, the health probe and the server's
counters sampled at each window's boundaries, summarized per window."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from typing import Any, ContextManager, Dict, List, Optional, Sequence, TextIO, Tuple

import numpy as np

from .loadgen import LoadGenerator, Record
from .machine import own_cpu_seconds, process_cpu_seconds, rss_mb, system_busy_seconds, wait_for_quiet
from .oneshot import http_get
from .probe import Probe, ProbeRecord
from .report import fmt
from .stats import percentile


@dataclass(frozen=True)
class LoadPlan:
    """How each closed-loop run is done: warm-up, probing, and measuring again when others were busy."""

    warmup: float = 3.0
    probe_interval: float = 0.1
    probe_keepalive: bool = False
    retries: int = 0
    noise_limit: float = 0.15  # cores used by other processes above which a run is noisy
    quiet_below: float = 0.2  # before each run, wait until the machine uses fewer cores than this...
    quiet_wait: float = 0.0  # ...at most this long (0: never wait)


def parse_metrics(text: str) -> Dict[str, float]:
    """The sums and counts of the server's histograms (Prometheus text format), summed over their
    label sets (one per model)."""
    wanted = ("aic_batch_size", "aic_inference_duration_seconds", "aic_queue_time_seconds")
    values: Dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if "{" in line:  # name{label="value",...} value
            name, rest = line[: line.index("{")], line[line.rindex("}") + 1 :]
        else:
            name, _, rest = line.partition(" ")
        if name.endswith(("_sum", "_count")) and name.rsplit("_", 1)[0] in wanted:
            try:
                values[name] = values.get(name, 0.0) + float(rest.split()[0])
            except (ValueError, IndexError):
                pass
    return values


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
    records: Sequence[Record],
    errors: Sequence[float],
    probes: Sequence[ProbeRecord],
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
        "mean_batch": items_in_batches / batches if batches and items_in_batches is not None else None,
        "model_calls_per_s": batches / wall if batches is not None else None,
        "model_busy": inference_s / wall if inference_s is not None else None,
        "queue_ms": 1000 * queue_s / queue_count if queue_count and queue_s is not None else None,
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


def measure(
    server_url: Tuple[str, int],
    pid: int,
    requests: Sequence[bytes],
    items: Sequence[int],
    concurrency: int,
    windows: Sequence[float],
    plan: LoadPlan,
    what: str,
    during: Optional[ContextManager[Any]] = None,
    log: TextIO = sys.stderr,
) -> List[Dict[str, Any]]:
    """`run_load` at `concurrency`, again (up to `plan.retries`) when other processes disturbed it.
    `during` is entered around each run (e.g. a second client sending other traffic)."""
    summaries: List[Dict[str, Any]] = []
    for attempt in range(plan.retries + 1):
        if plan.quiet_wait > 0:
            wait_for_quiet(plan.quiet_below, plan.quiet_wait)  # the idle server uses ~0
        print(f"  {what}: {plan.warmup:g} s warm-up + {' + '.join(f'{w:g}' for w in windows)} s", file=log)
        with during if during is not None else contextlib.nullcontext():
            summaries = run_load(
                server_url,
                pid,
                requests,
                items,
                concurrency,
                plan.warmup,
                windows,
                plan.probe_interval,
                plan.probe_keepalive,
            )
        noise = max(w["other_cpu"] for w in summaries)
        for w in summaries:
            w["concurrency"], w["attempts"] = concurrency, attempt + 1
            print(f"    {w['items_per_s']:.1f} items/s, p50 {fmt(w['p50_ms'])} ms", file=log, flush=True)
        time.sleep(0.5)
        if noise < plan.noise_limit:
            break
        print(f"    noisy: other processes used {noise:.2f} cores", file=log, flush=True)
    return summaries
