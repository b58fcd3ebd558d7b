"""The cache benchmark's verdict and report (`scripts/benchmark_cache.py`): the live hit ratio against
the simulated policies, hit and miss latencies, memory against the budget, a hit against single-model mode."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .alternate import median, paired
from .report import fmt, section, table, target, target_lines
from .stats import percentile

TARGET_BELADY_SHARE = 0.9  # live hit ratio >= 0.9 x Belady's
TARGET_MEMORY_MARGIN = 1.1  # peak resident memory <= budget + 10 %
TARGET_HIT_OVERHEAD_MS = 1.0  # a hit adds < 1 ms over single-model mode (p50)
POLICY_NAMES = {
    "ours": "ours (core policy, simulated)",
    "ours-no-residency": "ours without MIN_RESIDENCY",
    "lru": "plain LRU",
    "lru-2": "LRU-2 (the former policy)",
    "belady": "Belady MIN (offline)",
}
MB = 1e6
MIB = 2**20  # the RSS figures are in MiB


def live_figures(results: Dict[str, Any]) -> Dict[str, Any]:
    """Hits, misses, refusals and latencies of the replayed trace; memory beside the models' sizes."""
    records = results["records"]
    warm = results["memory"].get("start_mb")  # after the warm-up
    unaccounted = [
        (r["rss_mb"] - warm) * MIB / MB - r["resident_bytes"] / MB for r in records if r["rss_mb"] is not None and warm
    ]
    calibrated = results["sizes"]
    reloads = [
        r["model_bytes"] / calibrated[r["model"]]["bytes"]
        for r in records
        if not r["hit"] and r["model_bytes"] and calibrated.get(r["model"], {}).get("bytes")
    ]
    answered = [r for r in records if r["status"] == 200]
    hits = [r["ms"] for r in answered if r["hit"]]
    misses = [r["ms"] for r in answered if not r["hit"]]
    counters = results.get("server_counters") or {}
    server_total = counters.get("hit", 0) + counters.get("miss", 0)
    return {
        "requests": len(records),
        "answered": len(answered),
        "failed": len(records) - len(answered),
        "hits": sum(1 for r in records if r["hit"]),
        "hit_ratio": sum(1 for r in records if r["hit"]) / len(records) if records else 0.0,
        "server_hit_ratio": counters.get("hit", 0) / server_total if server_total else None,
        "refused_requests": sum(1 for r in records if r["refusals"]),
        "refusals": sum(r["refusals"] for r in records),
        "hit_p50_ms": percentile(hits, 50),
        "hit_p99_ms": percentile(hits, 99),
        "miss_p50_ms": percentile(misses, 50),
        "miss_p99_ms": percentile(misses, 99),
        "max_resident_bytes": max((r["resident_bytes"] for r in records), default=0),
        "max_resident_models": max((r["resident_models"] for r in records), default=0),
        "max_unaccounted_mb": max(unaccounted, default=None),
        "final_unaccounted_mb": unaccounted[-1] if unaccounted else None,
        "load_size_ratio_p50": percentile(reloads, 50),
        "load_size_ratio_min": min(reloads, default=None),
        "load_size_ratio_max": max(reloads, default=None),
    }


def evaluate(results: Dict[str, Any]) -> Dict[str, Any]:
    """The ratios and every target, judged."""
    live = live_figures(results)
    simulated = results["simulated"]
    belady, lru = simulated["belady"]["hit_ratio"], simulated["lru"]["hit_ratio"]
    budget = results["budget_bytes"]
    memory = results["memory"]
    growth = memory["growth_mb"] * MIB if memory.get("growth_mb") is not None else None  # since the warm-up
    ratios: Dict[str, Any] = {
        "live_over_belady": live["hit_ratio"] / belady if belady else None,
        "live_over_lru": live["hit_ratio"] / lru if lru else None,
        "simulated_ours_over_belady": simulated["ours"]["hit_ratio"] / belady if belady else None,
        "peak_growth_over_budget": growth / budget if growth is not None else None,
        "max_resident_over_budget": live["max_resident_bytes"] / budget,
    }
    targets = [
        target(
            f"live hit ratio >= {TARGET_BELADY_SHARE} x Belady's",
            f"{fmt(ratios['live_over_belady'], 3)} x ({live['hit_ratio']:.3f} / {belady:.3f})",
            ratios["live_over_belady"] is not None and ratios["live_over_belady"] >= TARGET_BELADY_SHARE,
        ),
        target(
            "live hit ratio > plain LRU's",
            f"{live['hit_ratio']:.3f} vs {lru:.3f}",
            live["hit_ratio"] > lru,
        ),
        target(
            f"peak RSS growth after the warm-up <= budget + {100 * (TARGET_MEMORY_MARGIN - 1):.0f} %",
            f"{fmt(growth / MB if growth is not None else None)} MB vs {budget / MB:.1f} MB "
            f"({fmt(ratios['peak_growth_over_budget'], 2)} x)",
            growth is not None and growth <= TARGET_MEMORY_MARGIN * budget,
        ),
    ]
    comparison = results.get("hit_vs_single") or {}
    if comparison.get("windows"):
        added = paired(comparison["windows"], "multi", "single", "p50_ms")
        ratios["hit_added_p50_ms"] = added
        targets.append(
            target(
                f"a hit adds < {TARGET_HIT_OVERHEAD_MS:g} ms over single-model mode (p50, median of rounds)",
                f"{fmt(added['median'], 3)} ms ({fmt(added['multi'], 2)} vs {fmt(added['single'], 2)} ms)",
                added["median"] is not None and added["median"] < TARGET_HIT_OVERHEAD_MS,
            )
        )
    return {"live": live, "ratios": ratios, "targets": targets}


def render(results: Dict[str, Any], markdown: bool) -> str:
    """The whole report: the setup, the live replay, the policies, memory, the hit against single-model mode."""
    evaluation = results["evaluation"]
    live, ratios = evaluation["live"], evaluation["ratios"]
    config, trace = results["config"], results["trace"]
    heading = "### " if markdown else "== "
    sizes = sorted(s["bytes"] for s in results["sizes"].values())
    out: List[str] = [
        f"{heading}model cache: {config['image']} ({config['library']}), {config['models']} models",
        "",
        f"Trace: {trace['requests']} requests over {trace['distinct_models']} models, Zipf s={config['zipf']:g} "
        f"(seed {config['seed']}; the most popular model {100 * trace['top1_share']:.0f} % of the requests, "
        f"the top 8 {100 * trace['top8_share']:.0f} %), a scan of {trace['scan_models']} one-off models "
        f"in the middle; one client, each request waiting for its model; {config['payload']}.",
        "",
        f"Sizes measured by the server (`GET /models`): {sizes[0] / MB:.1f} to {sizes[-1] / MB:.1f} MB "
        f"(median {sizes[len(sizes) // 2] / MB:.1f}); budget {results['budget_bytes'] / MB:.1f} MB "
        f"(`MODEL_MEMORY_BUDGET`, about {config['capacity']:g} models); `MIN_RESIDENCY` "
        f"{config['min_residency_s']:g} s.",
        "",
    ]
    out += _policy_lines(results, live, markdown)
    out += _latency_lines(live, markdown)
    out += _memory_lines(results, live, ratios)
    if "hit_added_p50_ms" in ratios:
        out += _single_lines(results, markdown)
    out += section("Targets", target_lines(evaluation["targets"]))
    return "\n".join(out)


def _policy_lines(results: Dict[str, Any], live: Dict[str, Any], markdown: bool) -> List[str]:
    simulated = results["simulated"]
    belady = simulated["belady"]["hit_ratio"]
    rows = [
        [
            "ours, live server",
            str(live["hits"]),
            str(live["requests"] - live["hits"]),
            f"{live['refused_requests']} ({live['refusals']} refusals)",
            "-",
            f"{live['hit_ratio']:.3f}",
            fmt(live["hit_ratio"] / belady if belady else None, 3),
        ]
    ]
    for name, label in POLICY_NAMES.items():
        r = simulated[name]
        rows.append(
            [
                label,
                str(r["hits"]),
                str(r["misses"]),
                str(r["refused"]),
                str(r["evictions"]),
                f"{r['hit_ratio']:.3f}",
                fmt(r["hit_ratio"] / belady if belady else None, 3),
            ]
        )
    headers = ("policy", "hits", "misses", "refused (503)", "evictions", "hit ratio", "/ Belady")
    server = live["server_hit_ratio"]
    return [
        "Hit ratio, the live server and the policies replayed on the same trace (measured sizes, live request times):",
        "",
        table(headers, rows, markdown),
        "",
        f"The server's own counters (`aic_cache_requests_total`) give a hit ratio of {fmt(server, 3)}; "
        f"{live['failed']} requests failed; the trace took {results['trace_seconds']:.0f} s.",
        "",
    ]


def _latency_lines(live: Dict[str, Any], markdown: bool) -> List[str]:
    rows = [
        ["hit", fmt(live["hit_p50_ms"], 2), fmt(live["hit_p99_ms"], 2)],
        ["miss (load + answer)", fmt(live["miss_p50_ms"], 1), fmt(live["miss_p99_ms"], 1)],
    ]
    return ["Latency of the trace's requests:", "", table(("request", "p50 ms", "p99 ms"), rows, markdown), ""]


def _memory_lines(results: Dict[str, Any], live: Dict[str, Any], ratios: Dict[str, Any]) -> List[str]:
    memory, budget = results["memory"], results["budget_bytes"]
    how = "high-water mark" if memory.get("exact") else "sampled every 10 ms"
    base, warm, peak = (memory.get(k) for k in ("base_mb", "start_mb", "peak_mb"))
    growth = memory.get("growth_mb")
    return [
        f"Memory (RSS; MB = 10^6 bytes): {_mb(base)} MB with no model loaded, {_mb(warm)} MB after the "
        f"warm-up (one primer model of each architecture loaded and used once: the process's one-time "
        f"costs), a peak of {_mb(peak)} MB during the trace ({how}). The target compares the peak's growth "
        f"over the RSS after the warm-up, {_mb(growth)} MB, with the budget of {budget / MB:.1f} MB: "
        f"{fmt(ratios['peak_growth_over_budget'], 2)} x. The loaded models' measured sizes summed to at most "
        f"{live['max_resident_bytes'] / MB:.1f} MB ({ratios['max_resident_over_budget']:.2f} x the budget), "
        f"{live['max_resident_models']} models at most. Memory beside them (RSS - the RSS after the warm-up - "
        f"their sizes): {fmt(live['max_unaccounted_mb'])} MB at most, {fmt(live['final_unaccounted_mb'])} MB at "
        f"the end. Each load's measured size against the same model's in the sizing server: "
        f"{fmt(live['load_size_ratio_p50'], 2)} x at the median ({fmt(live['load_size_ratio_min'], 2)} to "
        f"{fmt(live['load_size_ratio_max'], 2)}).",
        "",
    ]


def _mb(mib: Optional[float]) -> str:
    return fmt(mib * MIB / MB, 0) if mib is not None else "-"


def _single_lines(results: Dict[str, Any], markdown: bool) -> List[str]:
    comparison = results["hit_vs_single"]
    windows = comparison["windows"]
    rows, added = [], []
    for single, multi in zip(windows["single"], windows["multi"]):
        added.append(_difference(multi["p50_ms"], single["p50_ms"]))
        rows.append(
            [
                str(single["round"]),
                fmt(single["req_per_s"]),
                fmt(single["p50_ms"], 2),
                fmt(multi["req_per_s"]),
                fmt(multi["p50_ms"], 2),
                fmt(added[-1], 3),
                fmt(max(single["other_cpu"], multi["other_cpu"]), 2),
            ]
        )
    config = results["config"]
    headers = ("round", "single req/s", "single p50 ms", "multi req/s", "multi p50 ms", "added ms", "other CPU")
    return [
        f"A hit against single-model mode: `{comparison['model']}`, the same request at 1 client, "
        f"{config['ab_rounds']} alternating rounds of {config['ab_seconds']:g} s per server:",
        "",
        table(headers, rows, markdown),
        "",
        f"Median over the rounds: {fmt(median(added), 3)} ms added.",
        "",
    ]


def _difference(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a - b if a is not None and b is not None else None
