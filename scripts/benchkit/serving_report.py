"""The serving benchmark's verdict and report (`scripts/benchmark.py`): levels, soak, raw ceiling,
hostile traffic and image bursts; the ratios between them and the targets they are judged by."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from .report import fmt, pct, section, table, target, target_lines
from .stats import ratio

# Targets of the performance and hardening issues.
TARGET_THROUGHPUT_RATIO = 0.7  # server items/s at 32 clients >= 0.7 x raw batch-32 items/s
TARGET_LATENCY_OVERHEAD_MS = 5.0  # server p50 at 1 client <= raw batch-1 p50 + 5 ms
TARGET_PROBE_P99_MS = 10.0  # /health p99 < 10 ms at every concurrency
TARGET_SOAK_RATIO = 0.95  # soak: last window throughput / first >= 0.95
TARGET_RSS_GROWTH = 1.05  # soak: last window RSS / first <= 1.05 ("flat")
TARGET_HOSTILE_RATIO = 0.9  # items/s with hostile traffic / without >= 0.9

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
RAW_HEADERS = ("batch", "items/s", "p50 ms", "p99 ms", "iterations", "CPU", "other CPU")
HOSTILE_HEADERS = ("kind", "sent", "answers", "2xx", "max error bytes", "non-JSON errors", "p50 ms", "max ms")
BURST_HEADERS = (
    "clients",
    "image",
    "answers",
    "max ms",
    "RSS before MB",
    "peak MB",
    "growth MB",
    "after MB",
    "probe p99",
    "probe max",
)


def level_row(label: str, r: Dict[str, Any]) -> List[str]:
    """One row of LEVEL_HEADERS from a window summary."""
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


def _probe_target(label: str, r: Dict[str, Any]) -> Dict[str, Any]:
    value = r["probe_p99_ms"]
    return target(
        f"/health p99 < {TARGET_PROBE_P99_MS:g} ms ({label})",
        f"{fmt(value, 2)} ms",
        value is not None and value < TARGET_PROBE_P99_MS and r["probe_failed"] == 0,
    )


def _rss_target(what: str, memory: Dict[str, Any], budget: Optional[float]) -> List[Dict[str, Any]]:
    peak = memory.get("peak_mb")
    if budget is None or not memory:
        return []
    value = f"{fmt(peak, 0)} MB (+{fmt(memory.get('growth_mb'), 0)} MB)"
    return [target(f"peak RSS {what} <= {budget:g} MB", value, peak is not None and peak <= budget)]


def evaluate(results: Dict[str, Any], rss_budget_mb: Optional[float] = None) -> Dict[str, Any]:
    """The ratios between the measurements and every target, judged."""
    levels = {r["concurrency"]: r for r in results.get("levels", [])}
    raw = {b["batch"]: b for b in (results.get("raw") or {}).get("batches", [])}
    ratios: Dict[str, Any] = {}
    targets: List[Dict[str, Any]] = []
    if levels and raw:
        top = 32 if 32 in levels else max(levels)
        big = 32 if 32 in raw else max(raw)
        throughput = levels[top]["items_per_s"] / raw[big]["items_per_s"]
        ratios["throughput"] = {"clients": top, "raw_batch": big, "ratio": throughput}
        targets.append(
            target(
                f"items/s at {top} clients >= {TARGET_THROUGHPUT_RATIO} x raw batch-{big}",
                f"{throughput:.2f} x ({levels[top]['items_per_s']:.1f} / {raw[big]['items_per_s']:.1f})",
                throughput >= TARGET_THROUGHPUT_RATIO,
            )
        )
        if 1 in levels and 1 in raw and levels[1]["p50_ms"] is not None:
            overhead = levels[1]["p50_ms"] - raw[1]["p50_ms"]
            ratios["latency_overhead_ms"] = overhead
            targets.append(
                target(
                    f"p50 at 1 client <= raw batch-1 p50 + {TARGET_LATENCY_OVERHEAD_MS:g} ms",
                    f"+{overhead:.2f} ms ({levels[1]['p50_ms']:.2f} vs {raw[1]['p50_ms']:.2f})",
                    overhead <= TARGET_LATENCY_OVERHEAD_MS,
                )
            )
    for r in results.get("levels", []):
        targets.append(_probe_target(f"clients {r['concurrency']}", r))
    for r in results.get("soak", []):
        targets.append(_probe_target(f"soak window {r['window']}", r))
    soak = results.get("soak") or []
    if len(soak) >= 2:
        soak_ratio = soak[-1]["items_per_s"] / soak[0]["items_per_s"] if soak[0]["items_per_s"] else 0.0
        ratios["soak_throughput"] = soak_ratio
        targets.append(
            target(
                f"soak throughput last/first >= {TARGET_SOAK_RATIO}",
                f"{soak_ratio:.3f}",
                soak_ratio >= TARGET_SOAK_RATIO,
            )
        )
        first, last = soak[0]["rss_mb"], soak[-1]["rss_mb"]
        if first and last:
            ratios["soak_rss"] = last / first
            targets.append(
                target(
                    f"soak RSS flat (last/first <= {TARGET_RSS_GROWTH})",
                    f"{first:.0f} -> {last:.0f} MB ({last / first:.3f})",
                    last / first <= TARGET_RSS_GROWTH,
                )
            )
    hostile = results.get("hostile")
    if hostile:
        clients, without, under = hostile["concurrency"], hostile["without"], hostile["with"]
        kept = ratio(under["items_per_s"], without["items_per_s"])
        ratios["hostile_throughput"] = kept
        targets.append(
            target(
                f"items/s under hostile traffic >= {TARGET_HOSTILE_RATIO} x without ({clients} clients)",
                f"{fmt(kept, 2)} x ({under['items_per_s']:.1f} / {without['items_per_s']:.1f})",
                kept is not None and kept >= TARGET_HOSTILE_RATIO,
            )
        )
        targets.append(_probe_target(f"hostile traffic, clients {clients}", under))
        targets += _rss_target("under hostile traffic", hostile["memory"], rss_budget_mb)
        targets.append(
            target("server answers after hostile traffic", str(hostile["server_answers"]), hostile["server_answers"])
        )
    burst = results.get("burst")
    if burst:
        ratios["burst_rss_growth_mb"] = burst["memory"].get("growth_mb")
        targets += _rss_target(
            f"under a burst of {burst['clients']} maximal legal images", burst["memory"], rss_budget_mb
        )
        targets.append(target("server answers after the burst", str(burst["server_answers"]), burst["server_answers"]))
    return {"ratios": ratios, "targets": targets}


def _outcomes(counts: Dict[str, int]) -> str:
    return ", ".join(f"{label}: {n}" for label, n in counts.items()) or "-"


def _hostile_lines(hostile: Dict[str, Any], config: Dict[str, Any], markdown: bool) -> List[str]:
    out = [
        f"Hostile traffic at {hostile['concurrency']} clients ({config['hostile_duration']:g} s each after "
        f"{config['warmup']:g} s warm-up; {config['hostile_lanes']} hostile client(s)):",
        "",
    ]
    headers = ("traffic",) + LEVEL_HEADERS[1:] + ("RSS MB",)
    rows = [
        level_row(label, hostile[key]) + [fmt(hostile[key]["rss_mb"])]
        for label, key in (("without", "without"), ("with", "with"))
    ]
    out += [table(headers, rows, markdown), "", "Hostile requests:", ""]
    rows = [
        [
            k["kind"],
            str(k["sent"]),
            _outcomes(k["outcomes"]),
            str(k["ok_2xx"]),
            fmt(k["max_error_bytes"]),
            str(k["non_json_errors"]),
            fmt(k["p50_ms"]),
            fmt(k["max_ms"]),
        ]
        for k in hostile["kinds"]
    ]
    out += [table(HOSTILE_HEADERS, rows, markdown), ""]
    out.append(_memory_line("under hostile traffic", hostile["memory"]))
    out.append("")
    return out


def _memory_line(what: str, memory: Dict[str, Any]) -> str:
    how = "high-water mark" if memory.get("exact") else "sampled every 10 ms"
    return (
        f"Server RSS {what}: {fmt(memory.get('start_mb'), 0)} MB before, peak {fmt(memory.get('peak_mb'), 0)} MB "
        f"(+{fmt(memory.get('growth_mb'), 0)} MB, {how}), {fmt(memory.get('end_mb'), 0)} MB after."
    )


def _burst_lines(burst: Dict[str, Any], markdown: bool) -> List[str]:
    memory, answers = burst["memory"], burst["answers"]
    row = [
        str(burst["clients"]),
        f"{burst['image']} ({burst['body_bytes'] / 1000:.0f} kB)",
        _outcomes(answers["outcomes"]),
        fmt(answers["max_ms"]),
        fmt(memory.get("start_mb")),
        fmt(memory.get("peak_mb")),
        fmt(memory.get("growth_mb")),
        fmt(memory.get("end_mb")),
        fmt(burst["probe_p99_ms"], 2),
        fmt(burst["probe_max_ms"], 2),
    ]
    return ["Burst of maximal legal images (concurrent, one each):", "", table(BURST_HEADERS, [row], markdown), ""]


def render(results: Dict[str, Any], markdown: bool) -> str:
    """The whole report: the configuration, one table per measurement, the ratios and the targets."""
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
        rows = [level_row(str(r["window"]), r) + [fmt(r["rss_mb"])] for r in results["soak"]]
        out.append(table(("window",) + LEVEL_HEADERS[1:] + ("RSS MB",), rows, markdown))
        out.append("")
    if results.get("hostile"):
        out += _hostile_lines(results["hostile"], config, markdown)
    if results.get("burst"):
        out += _burst_lines(results["burst"], markdown)
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
        out.append(table(RAW_HEADERS, rows, markdown))
        out.append("")
    out += section("Ratios", _ratio_lines(results["evaluation"]["ratios"]))
    out += section("Targets", target_lines(results["evaluation"]["targets"]))
    return "\n".join(out)


def _ratio_lines(ratios: Dict[str, Any]) -> Sequence[str]:
    lines = []
    if "throughput" in ratios:
        t = ratios["throughput"]
        lines.append(
            f"- server items/s at {t['clients']} clients / raw batch-{t['raw_batch']} items/s: {t['ratio']:.2f}"
        )
    if "latency_overhead_ms" in ratios:
        lines.append(f"- server p50 at 1 client - raw batch-1 p50: {ratios['latency_overhead_ms']:+.2f} ms")
    if "soak_throughput" in ratios:
        lines.append(f"- soak items/s last window / first window: {ratios['soak_throughput']:.3f}")
    if "soak_rss" in ratios:
        lines.append(f"- soak RSS last window / first window: {ratios['soak_rss']:.3f}")
    if "hostile_throughput" in ratios:
        lines.append(f"- items/s with hostile traffic / without: {fmt(ratios['hostile_throughput'], 2)}")
    if "burst_rss_growth_mb" in ratios:
        lines.append(f"- server RSS growth during the burst: +{fmt(ratios['burst_rss_growth_mb'], 0)} MB")
    return lines
