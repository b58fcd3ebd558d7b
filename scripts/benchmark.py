#!/usr/bin/env python
"""Benchmark an image: a live server under closed-loop load, and the model's raw batched throughput.

For one image folder, app, model and task this script

1. starts the server as a real process on 127.0.0.1 (a free port) and waits for /ready;
2. at each concurrency, runs a closed-loop load generator (N persistent keep-alive connections,
   each sending its next request as soon as the previous one answered) while a separate process
   polls GET /health every 100 ms and times it;
3. optionally soaks the same server (windows of continuous load at one concurrency), reporting
   throughput and the server's RSS per window;
4. optionally (--hostile) loads it at 32 clients without, then with, a second client sending
   hostile requests (huge, deep, malformed, truncated, slow, abandoned; huge images for image
   tasks), reporting both, the hostile requests' answers and the server's peak RSS; and
   (--burst N) sends N concurrent images at the server's decode limit, reporting peak RSS;
5. stops the server, then measures the raw in-process throughput of the image's Pipeline
   (`pipeline.batch([...])` at each batch size) in a subprocess, so that nothing competes with it;
6. prints one table per measurement, the ratios (server / raw) and whether each target is met.

The load generator is one asyncio event loop driving raw sockets (no HTTP library on the hot
path), so that it costs the shared cores as little as possible; its CPU use is reported. The
pieces live in `scripts/benchkit/`.

    .venv/bin/python scripts/benchmark.py --image docker_images/sentence_transformers \\
        --task feature-extraction --concurrency 1,8,32 --duration 15 --soak 6 --window 20
    .venv/bin/python scripts/benchmark.py --image docker_images/sentence_transformers \\
        --env BACKEND=onnx --concurrency 1,32
    .venv/bin/python scripts/benchmark.py --concurrency 1,8,32 --hostile --raw-batches ""

The transformers image on a text classifier of realistic size (the bundled MiniLM with a seeded
2-label head, built by `benchkit/text_classifier.py`, which also gives the tiny models of other tasks):

    .venv/bin/python scripts/benchmark.py --image docker_images/transformers --task text-classification \\
        --model "$(.venv/bin/python scripts/benchkit/text_classifier.py)" --env BACKEND=onnx --concurrency 1,8,32

Against the fake app of the core's tests (no model):

    .venv/bin/python scripts/benchmark.py --image tests --app fake_app:app --model tests \\
        --concurrency 1,8 --duration 2 --warmup 1 --raw-seconds 1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchkit

from benchkit.ceiling import CeilingPlan, run_ceiling  # noqa: E402
from benchkit.hostile import HostileTraffic, run_burst, run_hostile  # noqa: E402
from benchkit.hostile_bodies import ServedTask, hostile_bodies, legal_png  # noqa: E402
from benchkit.loadgen import post_requests  # noqa: E402
from benchkit.machine import machine_info, wait_for_quiet  # noqa: E402
from benchkit.options import (  # noqa: E402
    add_measurement_options,
    add_output_options,
    add_server_options,
    int_list,
    load_plan,
)
from benchkit.payloads import SENTENCES  # noqa: E402
from benchkit.server import (  # noqa: E402
    display_path,
    exit_on_signals,
    image_folder,
    input_kind,
    items_of,
    model_argument,
    parse_env,
    running_server,
    settings_of,
)
from benchkit.serving_report import evaluate, render  # noqa: E402
from benchkit.windows import measure  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    add_server_options(parser)
    load = parser.add_argument_group("closed-loop load")
    load.add_argument("--concurrency", default="1,8,32", help="client counts, comma separated ('' for none)")
    load.add_argument("--duration", type=float, default=15.0, help="measured seconds per concurrency level")
    load.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds of load before each level")
    load.add_argument("--payload", action="append", default=[], help="a JSON body (repeatable; rotated)")
    load.add_argument("--path", default="/", help="the inference route")
    soak = parser.add_argument_group("soak")
    soak.add_argument("--soak", type=int, default=0, metavar="WINDOWS", help="soak windows (0: no soak)")
    soak.add_argument("--window", type=float, default=20.0, help="seconds per soak window")
    soak.add_argument("--soak-concurrency", type=int, default=32)
    hostile = parser.add_argument_group("hostile traffic and memory")
    hostile.add_argument(
        "--hostile", action="store_true", help="measure the clients without, then with, a hostile second client"
    )
    hostile.add_argument("--hostile-clients", type=int, default=32, help="legitimate clients meanwhile")
    hostile.add_argument("--hostile-duration", type=float, default=None, help="seconds each (default: --duration)")
    hostile.add_argument(
        "--hostile-kinds", default=None, help="comma separated (default: every kind that applies to the task)"
    )
    hostile.add_argument("--hostile-lanes", type=int, default=1, help="hostile requests in flight at once")
    hostile.add_argument("--hostile-timeout", type=float, default=30.0, help="seconds a hostile request may take")
    hostile.add_argument("--burst", type=int, default=0, metavar="N", help="N concurrent maximal legal images")
    hostile.add_argument(
        "--burst-pixels", type=int, default=None, help="pixels of the burst's images (default: MAX_IMAGE_PIXELS)"
    )
    hostile.add_argument("--rss-budget-mb", type=float, default=None, help="the server's peak RSS target")
    raw = parser.add_argument_group("raw in-process ceiling")
    raw.add_argument("--raw-batches", default="1,32", help="raw batch sizes ('' to skip the raw measurement)")
    raw.add_argument("--raw-seconds", type=float, default=10.0, help="timed seconds per raw batch size")
    raw.add_argument("--raw-warmup", type=float, default=2.0, help="warm-up seconds per raw batch size")
    raw.add_argument("--raw-min-iterations", type=int, default=10)
    add_measurement_options(parser)
    add_output_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    exit_on_signals()
    image = image_folder(args.image)
    args.model = model_argument(args.model or "")
    bodies = args.payload or [json.dumps({"inputs": s}) for s in SENTENCES]
    # an audio body is one waveform (counting it would decode it, which needs the model's sampling rate)
    items = [1] * len(bodies) if input_kind(args.task) == "audio" else items_of(bodies, args.task)
    extra_env = parse_env(args.env)
    env = {"MODEL_ID": args.model, "TASK": args.task, "HF_HUB_OFFLINE": "1", **extra_env}
    if args.burst and input_kind(args.task) != "image":
        raise SystemExit(f"--burst sends images: {args.task} does not take images")
    concurrencies = int_list(args.concurrency)

    results: Dict[str, Any] = {
        "config": {
            "image": display_path(image),
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
            "hostile_duration": args.hostile_duration or args.duration,
            "hostile_lanes": args.hostile_lanes,
            "rss_budget_mb": args.rss_budget_mb,
            "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        },
        "machine": machine_info(),
        "levels": [],
        "soak": [],
    }
    if concurrencies or args.soak or args.hostile or args.burst:
        measure_server(args, image, env, bodies, items, results)
    if int_list(args.raw_batches):
        if args.quiet_wait > 0:
            results["busy_before_raw"] = wait_for_quiet(args.quiet_below, args.quiet_wait)
        print(f"raw in-process: batches {args.raw_batches}", file=sys.stderr, flush=True)
        results["raw"] = run_ceiling(ceiling_plan(args, bodies), image, ceiling_env(env))

    results["evaluation"] = evaluate(results, args.rss_budget_mb)
    print(render(results, args.markdown))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def measure_server(
    args: argparse.Namespace,
    image: Path,
    env: Dict[str, str],
    bodies: List[str],
    items: List[int],
    results: Dict[str, Any],
) -> None:
    """Start the server, then the levels, the soak, hostile traffic and the burst, into `results`."""
    log = sys.stderr
    plan = load_plan(args)
    if args.quiet_wait > 0:
        results["busy_before_server"] = wait_for_quiet(args.quiet_below, args.quiet_wait)
    print(f"starting {args.app} in {image} ({env})", file=log, flush=True)
    started = time.perf_counter()
    with running_server(args.app, env, image, args.ready_timeout) as server:
        results["server_ready_s"] = time.perf_counter() - started
        pid = server.process.pid
        address = ("127.0.0.1", server.port)
        requests = post_requests(server.port, args.path, bodies)
        for concurrency in int_list(args.concurrency):
            what = f"{concurrency} clients"
            results["levels"] += measure(address, pid, requests, items, concurrency, [args.duration], plan, what)
        if args.soak:
            windows = [args.window] * args.soak
            results["soak"] = measure(address, pid, requests, items, args.soak_concurrency, windows, plan, "soak")
            for number, window in enumerate(results["soak"], 1):
                window["window"] = number
            results["soak_config"] = {"windows": args.soak, "window": args.window, "concurrency": args.soak_concurrency}
        settings = settings_of({**os.environ, **env})  # the limits the server runs with
        if args.hostile:
            served = ServedTask(input_kind(args.task), settings.max_inputs, settings.max_image_pixels, bodies[0])
            kinds = [k.strip() for k in args.hostile_kinds.split(",")] if args.hostile_kinds else None
            print("hostile traffic: preparing the requests", file=log, flush=True)
            hostile = hostile_bodies(served, kinds)
            traffic = HostileTraffic(*address, pid, args.path, hostile, args.hostile_lanes, args.hostile_timeout)
            duration = args.hostile_duration or args.duration
            results["hostile"] = run_hostile(
                address, pid, requests, items, args.hostile_clients, duration, plan, traffic
            )
        if args.burst:
            pixels = args.burst_pixels or settings.max_image_pixels
            side = math.isqrt(pixels)
            if args.quiet_wait > 0:
                wait_for_quiet(args.quiet_below, args.quiet_wait)
            print(f"burst: {args.burst} x {side}x{side} RGB PNG", file=log, flush=True)
            image_name = f"RGB PNG {side}x{side}"
            body = legal_png(pixels)
            results["burst"] = run_burst(
                address, pid, args.path, body, "image/png", args.burst, image_name, args.probe_interval
            )
    tracebacks = server.logs().count("Traceback")
    results["server_log_tracebacks"] = tracebacks
    if tracebacks:
        print(f"warning: {tracebacks} tracebacks in the server log {server.log_path}", file=log)


def ceiling_env(env: Dict[str, str]) -> Dict[str, str]:
    """The server's environment for the raw ceiling, with what the server runner adds to it: OpenMP
    threads that sleep between operators (OMP_WAIT_POLICY=PASSIVE unless set), as in the server; spinning
    ones make the ceiling collapse whenever another process wants a core."""
    runner = {} if "OMP_WAIT_POLICY" in os.environ else {"OMP_WAIT_POLICY": "PASSIVE"}
    return {**runner, **env}


def ceiling_plan(args: argparse.Namespace, bodies: List[str]) -> CeilingPlan:
    return CeilingPlan(
        app=args.app,
        task=args.task,
        model=args.model,
        bodies=bodies,
        batches=int_list(args.raw_batches),
        seconds=args.raw_seconds,
        warmup=args.raw_warmup,
        min_iterations=args.raw_min_iterations,
        retries=args.retries,
        noise_limit=args.noise_limit,
        quiet_below=args.quiet_below,
        quiet_wait=args.quiet_wait,
    )


if __name__ == "__main__":
    sys.exit(main())
