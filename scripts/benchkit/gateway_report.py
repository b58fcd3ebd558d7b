"""The gateway benchmark's verdict and report (`scripts/benchmark_gateway.py`): cold starts, the overhead
against direct access (latency at 1 client, throughput at many), the profile, affinity against random routing."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .alternate import paired
from .report import fmt, pct, section, table, target, target_lines

TARGET_ADDED_P50_MS = 1.0  # at 1 client, the gateway adds <= 1 ms to the p50
TARGET_THROUGHPUT_RATIO = 0.9  # at 32 clients, throughput through the gateway >= 0.9 x direct
PROFILE_LINES = 25
MB = 1e6


def evaluate(results: Dict[str, Any]) -> Dict[str, Any]:
    """The ratios and the targets, judged."""
    ratios: Dict[str, Any] = {}
    targets: List[Dict[str, Any]] = []
    over = results.get("overhead")
    if over:
        added = paired(over["low"], "gateway", "direct", "p50_ms")
        kept = paired(over["high"], "gateway", "direct", "items_per_s", how="ratio")
        ratios["added_p50_ms"], ratios["throughput_ratio"] = added, kept
        clients = over["high"]["gateway"][0]["concurrency"] if over["high"]["gateway"] else "?"
        targets.append(
            target(
                f"p50 added by the gateway at 1 client <= {TARGET_ADDED_P50_MS:g} ms (median of rounds)",
                f"{fmt(added['median'], 3)} ms ({fmt(added['gateway'], 2)} vs {fmt(added['direct'], 2)} ms)",
                added["median"] is not None and added["median"] <= TARGET_ADDED_P50_MS,
            )
        )
        targets.append(
            target(
                f"items/s at {clients} clients >= {TARGET_THROUGHPUT_RATIO} x direct (median of rounds)",
                f"{fmt(kept['median'], 3)} x ({fmt(kept['gateway'])} vs {fmt(kept['direct'])} items/s)",
                kept["median"] is not None and kept["median"] >= TARGET_THROUGHPUT_RATIO,
            )
        )
    runs = (results.get("affinity") or {}).get("runs") or {}
    if "affinity" in runs and "random" in runs:
        a, r = runs["affinity"]["hit_ratio"], runs["random"]["hit_ratio"]
        ratios["affinity_hit_ratio"], ratios["random_hit_ratio"] = a, r
        targets.append(
            target(
                "pool hit ratio with affinity > with random routing", f"{fmt(a, 3)} vs {fmt(r, 3)}", (a or 0) > (r or 0)
            )
        )
    return {"ratios": ratios, "targets": targets}


def render(results: Dict[str, Any], markdown: bool) -> str:
    heading = "### " if markdown else "== "
    config = results["config"]
    env = " ".join(f"{k}={v}" for k, v in config["env"].items())
    out: List[str] = [f"{heading}gateway ({env})", ""]
    cold = list(results.get("cold") or []) + list((results.get("docker") or {}).get("rows") or [])
    if cold:
        out += _cold_lines(cold, markdown)
    skipped = (results.get("docker") or {}).get("skipped")
    if skipped:
        out += [f"Docker backend: skipped ({skipped}).", ""]
    if results.get("overhead"):
        out += _overhead_lines(results["overhead"], results["evaluation"]["ratios"], config, markdown)
        profile = results["overhead"].get("profile")
        if profile:
            out += _profile_lines(profile, markdown)
    if results.get("affinity"):
        out += _affinity_lines(results["affinity"], markdown)
    out += section("Targets", target_lines(results["evaluation"]["targets"]))
    return "\n".join(out)


def _cold_lines(rows: List[Dict[str, Any]], markdown: bool) -> List[str]:
    table_rows = [
        [
            r["backend"],
            r["library"],
            r["model"],
            str(r["status"]),
            fmt(r["seconds"], 2),
            fmt(r["pool_ready_seconds"], 2),
            fmt(r["next_request_ms"], 1),
        ]
        for r in rows
    ]
    headers = ("backend", "library", "model", "status", "first answer s", "pool ready s", "next request ms")
    return [
        "Cold start: an idle library's first request (asking to wait) until its answer; `pool ready` is the "
        "gateway's own figure (`aic_gateway_cold_start_seconds`: start until a replica passes `/ready`):",
        "",
        table(headers, table_rows, markdown),
        "",
    ]


def cpu_ms_per_request(window: Dict[str, Any]) -> Optional[float]:
    """The server process's CPU milliseconds per answered request over a window (contention-robust)."""
    if not window.get("requests"):
        return None
    return 1000.0 * window["server_cpu"] * window["seconds"] / window["requests"]


def _overhead_lines(over: Dict[str, Any], ratios: Dict[str, Any], config: Dict[str, Any], markdown: bool) -> List[str]:
    out = [
        f"Overhead: `{over['model']}`, through the gateway and straight to its replica ({over['replica']}), "
        f"the same requests, alternating rounds ({config['warmup']:g} s warm-up each):",
        "",
    ]
    headers = (
        "clients",
        "round",
        "gateway req/s",
        "direct req/s",
        "ratio",
        "gateway p50",
        "direct p50",
        "added ms",
        "gateway p99",
        "direct p99",
        "gateway CPU",
        "gateway CPU ms/req",
        "other CPU",
    )
    rows = []
    for level in ("low", "high"):
        for g, d in zip(over[level]["gateway"], over[level]["direct"]):
            rows.append(
                [
                    str(g["concurrency"]),
                    str(g["round"]),
                    fmt(g["items_per_s"]),
                    fmt(d["items_per_s"]),
                    fmt(g["items_per_s"] / d["items_per_s"] if d["items_per_s"] else None, 3),
                    fmt(g["p50_ms"], 2),
                    fmt(d["p50_ms"], 2),
                    fmt(g["p50_ms"] - d["p50_ms"] if g["p50_ms"] is not None and d["p50_ms"] is not None else None, 3),
                    fmt(g["p99_ms"], 2),
                    fmt(d["p99_ms"], 2),
                    pct(g["server_cpu"]),
                    fmt(cpu_ms_per_request(g), 3),
                    pct(max(0.0, max(g["other_cpu"], d["other_cpu"]))),
                ]
            )
    out += [table(headers, rows, markdown), ""]
    added, kept = ratios["added_p50_ms"], ratios["throughput_ratio"]
    out.append(
        f"Median over the rounds: the gateway adds {fmt(added['median'], 3)} ms to the p50 at 1 client, and keeps "
        f"{fmt(kept['median'], 3)} of the direct throughput at {over['high']['gateway'][0]['concurrency']} clients. "
        "`gateway CPU` is the gateway process's own CPU (100 % = one core), `gateway CPU ms/req` the same per "
        "answered request (what every proxied request takes from the cores the replicas share); `other CPU` "
        "everything else but the load generator and that process (the replica included in the gateway rows)."
    )
    out.append("")
    return out


def _profile_lines(profile: Dict[str, Any], markdown: bool) -> List[str]:
    if profile.get("skipped"):
        return [f"Profile: skipped ({profile['skipped']}).", ""]
    window = profile["window"]
    out = [
        f"Profile of the gateway at {window['concurrency']} clients (py-spy, {profile['options']['rate']} Hz, "
        f"idle included; {fmt(window['items_per_s'])} items/s meanwhile; {profile['samples']} samples):",
        "",
    ]
    for thread in [t for t in profile["threads"] if t["busy_samples"]][:2]:
        rows = [[f, f"{100 * share:.1f} %"] for f, share in thread["inclusive"][:PROFILE_LINES]]
        own = [[f, f"{100 * share:.1f} %"] for f, share in thread["own"][:PROFILE_LINES]]
        out += [
            f"Thread `{thread['thread']}`: {thread['samples']} samples, {100 * thread['idle']:.0f} % waiting; "
            "of the others, inclusive:",
            "",
            table(("function", "share"), rows, markdown),
            "",
            "own time:",
            "",
            table(("function", "share"), own, markdown),
            "",
        ]
    return out


def _affinity_lines(result: Dict[str, Any], markdown: bool) -> List[str]:
    trace = result["trace"]
    total = result.get("total_bytes")
    sizes = f"together {total / MB:.1f} MB" if total else "sizes not measured"
    out = [
        f"Affinity: {result['models']} models ({sizes}), {result['replicas']} replicas with a budget of "
        f"{result['budget_bytes'] / MB:.1f} MB each; {trace['requests']} requests, Zipf s={result['zipf']:g}, one "
        "client; the same trace through the gateway, then on a fresh pool straight to a random replica:",
        "",
    ]
    rows = []
    for routing, run in result["runs"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(run["statuses"].items()))
        loaded = " / ".join(str(r["loaded"]) for r in run["replicas"])
        rows.append(
            [
                routing,
                str(int(run["hits"])),
                str(int(run["misses"])),
                fmt(run["hit_ratio"], 3),
                str(run["refusals"]),
                statuses,
                loaded,
                fmt(run["seconds"], 0),
            ]
        )
    headers = ("routing", "hits", "misses", "hit ratio", "refusals (503)", "answers", "models loaded at the end", "s")
    out += [table(headers, rows, markdown), ""]
    return out
