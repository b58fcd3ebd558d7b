#!/usr/bin/env python
"""Benchmark the model cache of a multi-model server: hit ratio against LRU and Belady, latency, memory.

In one run, against real servers of one image on 127.0.0.1:

1. generates the models (default: 40 timm classifiers of several sizes, with their cards, in a
   models directory; `--no-generate` uses the directory's models as they are);
2. measures each model's size: a multi-model server whose budget holds them all loads each once
   and `GET /models` reports the resident memory each load added (after a warm-up: one small
   primer model of each architecture loaded and used once, so that one-time costs are not counted);
3. sets the budget (`MODEL_MEMORY_BUDGET`) to hold about `--capacity` models (the mean size) and
   builds a trace: Zipf-distributed popularity (`--zipf`) over the models, with a scan of one-off
   models (`--scan`) in the middle;
4. replays the trace against a fresh multi-model server with that budget, one request at a time,
   each asking to wait for its model: hits and misses (from `GET /models` before each request,
   checked against the server's counters), their latency, the server's peak RSS (high-water mark)
   and the loaded models' total size after every request; memory is judged from the RSS after the
   same warm-up (the primers), which the trace's models then evict first (used once each);
5. serves the most popular model alone (single-model mode) beside the multi-model server and
   measures both with the same request at 1 client, in alternation: what a hit adds;
6. replays the same trace, with the measured sizes and the live request times, through the core's
   policy (with and without its minimum residency), plain LRU, the former LRU-2 and Belady's
   offline MIN (`benchkit/cache_sim.py`);
7. prints the tables, the ratios and whether each target is met.

    .venv/bin/python scripts/benchmark_cache.py --json cache.json --markdown
    .venv/bin/python scripts/benchmark_cache.py --models 12 --scan 4 --requests 200 --capacity 4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchkit

from benchkit.alternate import Contender, alternate  # noqa: E402
from benchkit.cache_report import evaluate, render  # noqa: E402
from benchkit.cache_sim import replay_all  # noqa: E402
from benchkit.loadgen import post_request  # noqa: E402
from benchkit.machine import PeakRss, machine_info, rss_mb, wait_for_quiet  # noqa: E402
from benchkit.models_dir import listed_models  # noqa: E402
from benchkit.multimodel import (  # noqa: E402
    WAIT,
    loaded_models,
    measure_sizes,
    multi_model_env,
    records_as_dicts,
    replay_trace,
    server_counters,
)
from benchkit.options import add_measurement_options, add_output_options, load_plan  # noqa: E402
from benchkit.payloads import photo_jpeg  # noqa: E402
from benchkit.sequential import Session  # noqa: E402
from benchkit.server import (  # noqa: E402
    ROOT,
    display_path,
    exit_on_signals,
    image_folder,
    parse_env,
    running_server,
    settings_of,
    started_server,
)
from benchkit.timm_models import build_primers, build_timm_models, describe_models, is_primer  # noqa: E402
from benchkit.trace import describe_trace, popularity, zipf_trace  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    server = parser.add_argument_group("the servers under test")
    server.add_argument("--image", default="docker_images/timm", help="the image folder")
    server.add_argument("--app", default="app.main:app", help="the app, module:attribute, importable from --image")
    server.add_argument("--library", default="timm", help="LIBRARY_NAME: the library whose models the server takes")
    server.add_argument("--task", default="image-classification", help="the single-model server's TASK")
    server.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="both servers' environment")
    server.add_argument("--ready-timeout", type=float, default=600.0)
    models = parser.add_argument_group("models and trace")
    models.add_argument(
        "--models-dir", default=str(ROOT / ".cache" / "benchmarks" / "cache-models"), help="the models directory"
    )
    models.add_argument("--no-generate", action="store_true", help="use the directory's models as they are")
    models.add_argument("--models", type=int, default=40, help="models in the benchmark (generated if missing)")
    models.add_argument("--scan", type=int, default=10, help="of which requested once each, in a scan")
    models.add_argument("--requests", type=int, default=1000, help="Zipf-distributed requests (besides the scan)")
    models.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent s of the popularity")
    models.add_argument("--scan-at", type=float, default=0.5, help="where the scan starts, as a share of the trace")
    models.add_argument("--seed", type=int, default=0)
    models.add_argument("--capacity", type=float, default=8.0, help="models the budget holds (at their mean size)")
    models.add_argument("--budget", type=int, default=None, help="MODEL_MEMORY_BUDGET in bytes (default: --capacity)")
    models.add_argument("--retry-wait", type=float, default=1.0, help="most seconds a refused request waits")
    payload = parser.add_argument_group("requests")
    payload.add_argument("--body", default=None, help="a JSON request body (default: a 320x240 JPEG, raw bytes)")
    compare = parser.add_argument_group("hit against single-model mode")
    compare.add_argument("--ab-rounds", type=int, default=6, help="alternating rounds (each server once a round)")
    compare.add_argument("--ab-seconds", type=float, default=5.0, help="measured seconds per server and round")
    compare.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each measurement")
    add_measurement_options(parser)
    add_output_options(parser)
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    exit_on_signals()
    image = image_folder(args.image)
    models_dir = Path(args.models_dir).resolve()
    models_dir.mkdir(parents=True, exist_ok=True)
    extra_env = parse_env(args.env)
    body, content_type = (args.body.encode(), "application/json") if args.body else (photo_jpeg(), "image/jpeg")

    generated: List[Dict[str, Any]] = []
    if not args.no_generate:
        log(f"models: {args.models} timm classifiers in {models_dir}")
        generated = describe_models(build_timm_models(models_dir, args.models))
        primers = build_primers(models_dir)
        ids = [m["model_id"] for m in generated]
    else:
        listed = listed_models(models_dir, args.library)
        primers = [m for m in listed if is_primer(m)]
        ids = [m for m in listed if not is_primer(m)][: args.models]
    if args.scan >= len(ids):
        raise SystemExit(f"--scan {args.scan} leaves no model for the Zipf population of {len(ids)}")
    population, scan = ids[: len(ids) - args.scan], ids[len(ids) - args.scan :]
    trace = zipf_trace(population, args.requests, args.zipf, args.seed, scan, args.scan_at)

    results: Dict[str, Any] = {
        "config": {
            "image": display_path(image),
            "app": args.app,
            "library": args.library,
            "env": extra_env,
            "models": len(ids),
            "scan": len(scan),
            "zipf": args.zipf,
            "seed": args.seed,
            "capacity": args.capacity,
            "ab_rounds": args.ab_rounds,
            "ab_seconds": args.ab_seconds,
            "warmup": args.warmup,
            "payload": f"{content_type}, {len(body)} bytes",
            "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        },
        "machine": machine_info(),
        "generated": generated,
        "trace": describe_trace(trace, scan),
    }
    plan = load_plan(args)

    # 1. each model's size, measured by a server whose budget holds them all
    log("sizes: one multi-model server loads every model once")
    sizing_env = multi_model_env(str(models_dir), args.library, extra=extra_env)
    with running_server(args.app, sizing_env, image, args.ready_timeout) as server, Session(server.port) as session:
        warm_up(session, primers, body, content_type)
        sizes = measure_sizes(session, ids, body, content_type, log)
    results["sizes"] = sizes
    nbytes = {m: s["bytes"] for m, s in sizes.items()}
    budget = args.budget or int(args.capacity * sum(nbytes[m] for m in population) / len(population))
    results["budget_bytes"] = budget

    # 2. the trace, live, against a server with that budget
    env = multi_model_env(str(models_dir), args.library, budget, extra_env)
    min_residency = settings_of({**os.environ, **env}).min_residency_s
    results["config"]["min_residency_s"] = min_residency
    if args.quiet_wait > 0:
        results["busy_before_trace"] = wait_for_quiet(args.quiet_below, args.quiet_wait)
    log(f"trace: {len(trace)} requests, budget {budget / 1e6:.1f} MB, MIN_RESIDENCY {min_residency:g} s")
    favourite = popularity(trace)[0]
    single_env = {"MODEL_ID": str(models_dir / favourite), "TASK": args.task, "HF_HUB_OFFLINE": "1", **extra_env}
    with contextlib.ExitStack() as servers:
        single = servers.enter_context(started_server(args.app, single_env, image)) if args.ab_rounds > 0 else None
        server = servers.enter_context(running_server(args.app, env, image, args.ready_timeout))
        session = servers.enter_context(Session(server.port))
        pid = server.process.pid
        base_rss = rss_mb(pid)
        warm_up(session, primers, body, content_type)
        before = server_counters(session)
        peak = PeakRss(pid)
        started = time.perf_counter()
        records = replay_trace(session, pid, trace, body, content_type, log, args.retry_wait)
        results["trace_seconds"] = time.perf_counter() - started
        results["memory"] = {"base_mb": base_rss, **peak.stop()}
        after = server_counters(session)
        results["server_counters"] = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in ("hit", "miss")}
        results["records"] = records_as_dicts(records)
        results["final_models"] = sorted(loaded_models(session))
        if args.json:  # the trace's figures are kept even if what follows fails
            Path(args.json).write_text(json.dumps(results, indent=2))
        if single is not None:
            single.wait_until("/ready", 200, args.ready_timeout)
            session.post(f"/models/{favourite}", body, content_type, WAIT)  # loaded: every request is a hit
            log(f"hit against single-model mode: {favourite}")
            results["hit_vs_single"] = compare(args, single, server, favourite, body, content_type, plan)
    tracebacks = server.logs().count("Traceback")
    results["server_log_tracebacks"] = tracebacks
    if tracebacks:
        log(f"warning: {tracebacks} tracebacks in the server log {server.log_path}")

    # 3. the same trace through the policies, with the measured sizes and the live request times
    first = records[0].sent
    times = [r.sent - first for r in records]
    replays = replay_all(trace, nbytes, budget, times, min_residency)
    results["simulated"] = {name: r.as_dict() for name, r in replays.items()}

    results["evaluation"] = evaluate(results)
    print(render(results, args.markdown))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def warm_up(session: Session, primers: Sequence[str], body: bytes, content_type: str) -> None:
    """Load (and use) each primer once: the process's one-time costs, paid before anything is measured."""
    for primer in primers:
        answer = session.post(f"/models/{primer}", body, content_type, WAIT)
        if answer.status != 200:
            raise RuntimeError(f"{primer} answered {answer.status}: {answer.body[:300]!r}")


def compare(
    args: argparse.Namespace, single: Any, multi: Any, model_id: str, body: bytes, content_type: str, plan: Any
) -> Dict[str, Any]:
    """The model served alone, and by the multi-model server (a hit), alternately at 1 client."""
    contenders = [
        Contender("single", single.port, single.process.pid, [post_request(single.port, "/", body, content_type)], [1]),
        Contender(
            "multi",
            multi.port,
            multi.process.pid,
            [post_request(multi.port, f"/models/{model_id}", body, content_type)],
            [1],
        ),
    ]
    return {"model": model_id, "windows": alternate(contenders, 1, args.ab_rounds, args.ab_seconds, plan)}


if __name__ == "__main__":
    sys.exit(main())
