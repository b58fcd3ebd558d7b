#!/usr/bin/env python
"""Benchmark the gateway: its overhead against direct access, pool cold starts, and model affinity.

In one run, against real gateways (`python -m api_inference_community gateway`) on 127.0.0.1:

1. cold start: a gateway with idle pools (`process` backend); for each of `--cold-models`, the
   time from its library's first request (asking to wait) to its answer: the replica's start,
   readiness, the model's load and the answer;
2. overhead: the same gateway and the replica that now holds `--overhead-model` (its URL from
   `GET /pools`), measured under the same closed-loop load in alternating rounds, at 1 client
   (the p50 the gateway adds) and at `--clients` clients (throughput through the gateway / direct);
   with `--profile`, py-spy records the gateway at `--clients` clients (where its time goes);
3. docker: the cold start again with the `docker` backend, when a Docker engine answers and holds
   the library's image (else one line says why it is skipped);
4. affinity: `--affinity-models` generated timm models whose measured sizes add up to more than
   one replica's budget (`--affinity-share` of their total per replica), 2 replicas; a Zipf trace
   sent through the gateway (model affinity), then the same trace sent straight to a random one
   of 2 fresh servers started as the pool's replicas are (bypassing the gateway); the hit ratio
   of each pair, from the replicas' own counters.

    .venv/bin/python scripts/benchmark_gateway.py --json gateway.json --markdown
    .venv/bin/python scripts/benchmark_gateway.py --phases overhead --profile
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchkit

from benchkit.alternate import Contender, alternate  # noqa: E402
from benchkit.gateway import (  # noqa: E402
    GATEWAY_COMMAND,
    RunningGateway,
    docker_engine,
    histogram_sum_count,
    port_of,
    running_gateway,
)
from benchkit.gateway_report import evaluate, render  # noqa: E402
from benchkit.loadgen import post_request  # noqa: E402
from benchkit.machine import machine_info, wait_for_quiet  # noqa: E402
from benchkit.models_dir import body_for, library_of, listed_models  # noqa: E402
from benchkit.multimodel import WAIT, measure_sizes, multi_model_env, send_waiting, server_counters  # noqa: E402
from benchkit.options import add_measurement_options, add_output_options, load_plan  # noqa: E402
from benchkit.payloads import SENTENCES  # noqa: E402
from benchkit.profiling import Profile  # noqa: E402
from benchkit.sequential import Session  # noqa: E402
from benchkit.server import ROOT, exit_on_signals, parse_env, running_server, started_server  # noqa: E402
from benchkit.timm_models import build_primers, build_timm_models, is_primer  # noqa: E402
from benchkit.trace import describe_trace, zipf_trace  # noqa: E402
from benchkit.windows import measure  # noqa: E402

PHASES = ("cold", "overhead", "docker", "affinity")
TEXT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
IMAGE_MODEL = "timm/tiny-demo-classifier"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma separated, of {', '.join(PHASES)}")
    gateway = parser.add_argument_group("the gateway under test")
    gateway.add_argument(
        "--models-dir", default=str(ROOT / ".cache" / "benchmarks" / "gateway-models"), help="MODELS_DIR"
    )
    gateway.add_argument(
        "--no-generate", action="store_true", help="use the directory's models as they are (no demo or timm models)"
    )
    gateway.add_argument("--libraries", default="sentence_transformers,timm", help="GATEWAY_LIBRARIES")
    gateway.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="the gateways' environment")
    gateway.add_argument(
        "--gateway-command", default=shlex.join(GATEWAY_COMMAND), help="the command that starts a gateway"
    )
    gateway.add_argument("--root", default=str(ROOT), help="the checkout whose docker_images/ the replicas run")
    gateway.add_argument("--ready-timeout", type=float, default=600.0)
    cold = parser.add_argument_group("cold start")
    cold.add_argument("--cold-models", default=f"{TEXT_MODEL},{IMAGE_MODEL}", help="one per library, in order")
    cold.add_argument("--docker-model", default=IMAGE_MODEL, help="the docker backend's cold-start model")
    overhead = parser.add_argument_group("overhead")
    overhead.add_argument("--overhead-model", default=TEXT_MODEL)
    overhead.add_argument("--payload", action="append", default=[], help="a JSON body (default: short sentences)")
    overhead.add_argument("--clients", type=int, default=32, help="the high concurrency")
    overhead.add_argument("--rounds", type=int, default=4, help="alternating rounds at each concurrency")
    overhead.add_argument("--duration", type=float, default=5.0, help="measured seconds per round at 1 client")
    overhead.add_argument("--duration-high", type=float, default=10.0, help="... and at --clients clients")
    overhead.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each measurement")
    overhead.add_argument("--profile", action="store_true", help="py-spy the gateway at --clients clients")
    affinity = parser.add_argument_group("affinity")
    affinity.add_argument("--affinity-library", default="timm", help="the models' library (their cards' library_name)")
    affinity.add_argument("--affinity-models", type=int, default=16)
    affinity.add_argument("--affinity-share", type=float, default=0.6, help="each replica's budget / the models' total")
    affinity.add_argument("--affinity-budget", type=int, default=None, help="bytes per replica (skips the sizing)")
    affinity.add_argument("--affinity-requests", type=int, default=400)
    affinity.add_argument("--affinity-zipf", type=float, default=1.1)
    affinity.add_argument("--affinity-replicas", type=int, default=2)
    affinity.add_argument("--seed", type=int, default=0)
    add_measurement_options(parser)
    add_output_options(parser)
    args = parser.parse_args(argv)
    unknown = set(_split(args.phases)) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}; known: {', '.join(PHASES)}")
    return args


def _split(text: str) -> List[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    exit_on_signals()
    phases = _split(args.phases)
    models_dir = Path(args.models_dir).resolve()
    models_dir.mkdir(parents=True, exist_ok=True)
    hf_home = models_dir.parent / (models_dir.name + "-hf")
    if not args.no_generate:
        lay_out_models(models_dir, args)
    env = {
        "MODELS_DIR": str(models_dir),
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "1",
        "GATEWAY_LIBRARIES": args.libraries,
        "SHUTDOWN_GRACE": "10",
        "GATEWAY_AUTH": "off",  # one client address for every benchmark client: no per-caller limits
        **parse_env(args.env),
    }
    command = shlex.split(args.gateway_command)
    results: Dict[str, Any] = {
        "config": {
            "phases": phases,
            "env": {k: v for k, v in env.items() if k not in ("MODELS_DIR", "HF_HOME")},
            "clients": args.clients,
            "rounds": args.rounds,
            "duration": args.duration,
            "duration_high": args.duration_high,
            "warmup": args.warmup,
            "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
        },
        "machine": machine_info(),
    }
    plan = load_plan(args)
    if "cold" in phases or "overhead" in phases:
        if args.quiet_wait > 0:
            results["busy_before_cold"] = wait_for_quiet(args.quiet_below, args.quiet_wait)
        with running_gateway(env, command, args.ready_timeout) as gateway:
            results["cold"] = cold_starts(gateway, models_dir, _split(args.cold_models), "process")
            if "overhead" in phases:
                results["overhead"] = overhead(gateway, models_dir, args, plan)
    if "docker" in phases:
        results["docker"] = docker_cold_start(env, command, models_dir, args)
    if "affinity" in phases:
        results["affinity"] = affinity(env, command, models_dir, args)
    results["evaluation"] = evaluate(results)
    print(render(results, args.markdown))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def lay_out_models(models_dir: Path, args: argparse.Namespace) -> None:
    """The demo models (`scripts/demo_models.py`) and the affinity phase's generated timm models."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import demo_models
    finally:
        sys.path.pop(0)
    demo_models.link_text_model(models_dir / demo_models.TEXT_MODEL)
    demo_models.build_image_model(models_dir / demo_models.IMAGE_MODEL)
    if "affinity" in _split(args.phases):
        log(f"models: {args.affinity_models} timm classifiers in {models_dir}")
        build_timm_models(models_dir, args.affinity_models)
        build_primers(models_dir)
    for path in models_dir.rglob("*"):  # the docker backend's replicas read them as an unprivileged user
        if path.is_file() and not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o444)


# ------------------------------------------------------------------ cold start


def cold_starts(gateway: RunningGateway, models_dir: Path, models: Sequence[str], backend: str) -> List[Dict[str, Any]]:
    """Each model's first request on an idle library: seconds to its answer, and the pool's own figure."""
    rows = []
    for model_id in models:
        library = library_of(models_dir, model_id)
        body, content_type = body_for(models_dir, model_id)
        log(f"cold start ({backend}): {model_id} ({library})")
        with Session(gateway.port, timeout=900) as session:
            answer = session.post(f"/models/{model_id}", body, content_type, WAIT)
            warm = session.post(f"/models/{model_id}", body, content_type)
        pool = histogram_sum_count(gateway.metrics(), "aic_gateway_cold_start_seconds", f'library="{library}"')
        rows.append(
            {
                "backend": backend,
                "model": model_id,
                "library": library,
                "status": answer.status,
                "seconds": answer.seconds,
                "pool_ready_seconds": pool["sum"] / pool["count"] if pool["count"] else None,
                "next_request_ms": 1000 * warm.seconds,
            }
        )
    return rows


def docker_cold_start(
    env: Dict[str, str], command: Sequence[str], models_dir: Path, args: argparse.Namespace
) -> Dict[str, Any]:
    """The cold start with the docker backend, or why it was skipped."""
    library = library_of(models_dir, args.docker_model)
    image = env.get("GATEWAY_DOCKER_IMAGE", "api-inference/{library}").format(library=library)
    reason = docker_engine(image)
    if reason is not None:
        log(f"docker cold start skipped: {reason}")
        return {"skipped": reason}
    docker_env = {**env, "GATEWAY_BACKEND": "docker", "GATEWAY_LIBRARIES": library}
    docker_env.setdefault("GATEWAY_DOCKER_VOLUME", "aic-benchmark-cache")
    with running_gateway(docker_env, command, args.ready_timeout) as gateway:
        return {"rows": cold_starts(gateway, models_dir, [args.docker_model], "docker"), "image": image}


# ------------------------------------------------------------------ overhead


def overhead(gateway: RunningGateway, models_dir: Path, args: argparse.Namespace, plan: Any) -> Dict[str, Any]:
    """Gateway against direct access to the replica holding the model, alternately, at 1 and N clients."""
    model_id = args.overhead_model
    library = library_of(models_dir, model_id)
    path = f"/models/{model_id}"
    body, content_type = body_for(models_dir, model_id)
    with Session(gateway.port, timeout=900) as session:  # its pool up, the model loaded
        session.post(path, body, content_type, WAIT)
    replica = gateway.wait_healthy(library, 1)[0]
    direct = port_of(replica["url"])
    if args.payload or content_type == "application/json":
        bodies = [b.encode() for b in args.payload] or [json.dumps({"inputs": s}).encode() for s in SENTENCES]
        content_type = "application/json"
    else:
        bodies = [body]
    items = [1] * len(bodies)  # one item per request (the default payloads)

    def requests(port: int) -> List[bytes]:
        return [post_request(port, path, b, content_type) for b in bodies]

    contenders = [
        Contender("gateway", gateway.port, gateway.pid, requests(gateway.port), items),
        Contender("direct", direct, replica["pid"] or gateway.pid, requests(direct), items),
    ]
    log(f"overhead: {model_id} through the gateway and at {replica['url']}")
    results: Dict[str, Any] = {"model": model_id, "replica": replica["url"], "library": library}
    results["low"] = alternate(contenders, 1, args.rounds, args.duration, plan)
    results["high"] = alternate(contenders, args.clients, args.rounds, args.duration_high, plan)
    if args.profile:
        profile_path = models_dir.parent / "gateway-profile.txt"
        profile = Profile(gateway.pid, args.warmup + args.duration_high, profile_path)
        log(f"profile: py-spy on the gateway at {args.clients} clients")
        address = ("127.0.0.1", gateway.port)
        window = measure(
            address, gateway.pid, contenders[0].requests, items, args.clients, [args.duration_high], plan,
            "gateway, profiled", during=profile,
        )[0]  # fmt: skip
        results["profile"] = {**profile.summary, "window": window, "raw": str(profile_path)}
    return results


# ------------------------------------------------------------------ affinity


def affinity(env: Dict[str, str], command: Sequence[str], models_dir: Path, args: argparse.Namespace) -> Dict[str, Any]:
    """The pool's hit ratio with the gateway's model affinity, and with random routing, on one trace.

    Random routing goes straight to servers started like the pool's replicas (the same image and
    settings, multi-model mode), each request to one of them at random. Every server starts at once.
    """
    listed = listed_models(models_dir, args.affinity_library)
    primers = [m for m in listed if is_primer(m)]  # one per architecture: the one-time costs, paid first
    ids = [m for m in listed if m.startswith("bench/m")][: args.affinity_models]
    if len(ids) < 2:
        raise SystemExit(f"the affinity phase needs generated models in {models_dir} (bench/m..)")
    library = library_of(models_dir, ids[0])
    image = Path(args.root) / "docker_images" / library
    body, content_type = body_for(models_dir, ids[0])
    sizes: Dict[str, Any] = {}
    if args.affinity_budget:
        budget = args.affinity_budget
    else:
        log("affinity: sizing the models on one multi-model server")
        sizing_env = multi_model_env(str(models_dir), library, extra={"HF_HOME": env["HF_HOME"]})
        with running_server("app.main:app", sizing_env, image, args.ready_timeout) as server:
            with Session(server.port) as session:
                for primer in primers:
                    session.post(f"/models/{primer}", body, content_type, WAIT)
                sizes = measure_sizes(session, ids, body, content_type, log)
        budget = int(args.affinity_share * sum(s["bytes"] for s in sizes.values()))
    trace = zipf_trace(ids, args.affinity_requests, args.affinity_zipf, args.seed)
    pool_env = {
        **env,
        "GATEWAY_LIBRARIES": library,
        "GATEWAY_REPLICAS": str(args.affinity_replicas),
        "MODEL_MEMORY_BUDGET": str(budget),
        "POOL_HEALTH_INTERVAL": "0.5",
    }
    replica_env = multi_model_env(
        str(models_dir), library, budget, {k: v for k, v in env.items() if "GATEWAY" not in k}
    )
    first = primers[0] if primers else ids[0]
    runs = {}
    with contextlib.ExitStack() as stack:
        direct = [
            stack.enter_context(started_server("app.main:app", replica_env, image))
            for _ in range(args.affinity_replicas)
        ]
        gateway = stack.enter_context(running_gateway(pool_env, command, args.ready_timeout))
        with Session(gateway.port, timeout=900) as session:  # starts the pool
            session.post(f"/models/{first}", body, content_type, WAIT)
        ports = [port_of(r["url"]) for r in gateway.wait_healthy(library, args.affinity_replicas)]
        for server in direct:
            server.wait_until("/ready", 200, args.ready_timeout)
        if args.quiet_wait > 0:
            wait_for_quiet(args.quiet_below, args.quiet_wait)
        runs["affinity"] = route_trace("affinity", trace, ports, gateway.port, body, content_type, args.seed)
        ports = [server.port for server in direct]
        with Session(random.Random(args.seed).choice(ports), timeout=900) as session:
            session.post(f"/models/{first}", body, content_type, WAIT)
        runs["random"] = route_trace("random", trace, ports, None, body, content_type, args.seed)
    return {
        "models": len(ids),
        "sizes": sizes,
        "total_bytes": sum(s["bytes"] for s in sizes.values()) if sizes else None,
        "budget_bytes": budget,
        "replicas": args.affinity_replicas,
        "trace": describe_trace(trace, []),
        "zipf": args.affinity_zipf,
        "runs": runs,
    }


def route_trace(
    routing: str,
    trace: Sequence[str],
    ports: Sequence[int],
    gateway_port: Optional[int],
    body: bytes,
    content_type: str,
    seed: int,
) -> Dict[str, Any]:
    """Send the trace through the gateway (`gateway_port`), or else each request to one of `ports` at
    random; the replicas' hits and misses meanwhile (their own counters)."""
    log(f"affinity: {routing} routing, {len(trace)} requests")
    sessions = {port: Session(port, timeout=900) for port in ports}
    through = Session(gateway_port, timeout=900) if gateway_port else None
    chooser = random.Random(seed + 1)
    try:
        before = {port: server_counters(sessions[port]) for port in ports}
        started = time.perf_counter()
        statuses: Dict[str, int] = {}
        refusals = 0
        for model_id in trace:
            session = through or sessions[chooser.choice(list(ports))]
            answer, _, refused = send_waiting(session, f"/models/{model_id}", body, content_type)
            statuses[str(answer.status)] = statuses.get(str(answer.status), 0) + 1
            refusals += refused
        seconds = time.perf_counter() - started
        after = {port: server_counters(sessions[port]) for port in ports}
        per_replica = []
        for port in ports:
            _, listing = sessions[port].get_json("/models")
            hits = after[port].get("hit", 0) - before[port].get("hit", 0)
            misses = after[port].get("miss", 0) - before[port].get("miss", 0)
            per_replica.append(
                {"port": port, "hits": hits, "misses": misses, "loaded": len((listing or {}).get("models", []))}
            )
    finally:
        for session in [*([through] if through else []), *sessions.values()]:
            session.close()
    hits = sum(r["hits"] for r in per_replica)
    misses = sum(r["misses"] for r in per_replica)
    return {
        "statuses": statuses,
        "refusals": refusals,
        "seconds": seconds,
        "hits": hits,
        "misses": misses,
        "hit_ratio": hits / (hits + misses) if hits + misses else None,
        "replicas": per_replica,
    }


if __name__ == "__main__":
    sys.exit(main())
