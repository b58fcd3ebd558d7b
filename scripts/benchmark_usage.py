#!/usr/bin/env python
"""Benchmark the gateway's tokens and usage accounting: their cost in throughput, and `/usage` at scale.

1. Throughput: three gateway processes over the same replica (a tiny echo server answering with
   usage headers, so that the gateway, not a model, is the bottleneck: the harshest case for
   accounting): `off` (GATEWAY_AUTH=off, GATEWAY_USAGE=0), `sqlite` and `postgresql` (tokens
   required, 8 tokens with limits that are checked but never reached, every request recorded).
   Measured in alternation at 32 closed-loop clients (`benchkit.alternate`), round after round;
   the ratio on/off per round and its median. Then each gateway is stopped (SIGTERM) and its
   database must hold one row per request it counted, none dropped.
2. `/usage` at scale: 10 million generated usage rows over 60 days (`benchkit.usage_rows`:
   executemany for SQLite, COPY for PostgreSQL) with their roll-ups, then a gateway on that
   database answers `GET /usage` for a 30-day range (an admin's view of everyone by day and by
   model, one token's view) and `GET /dashboard`, timed over HTTP.

PostgreSQL: `--postgres-url URL` (a server where databases may be created), else a private cluster
from `scripts/postgres.sh`, stopped at the end.

    .venv/bin/python scripts/benchmark_usage.py                       # everything, as in the report
    .venv/bin/python scripts/benchmark_usage.py --rows 1000000 --rounds 1 --seconds 5   # quicker
    .venv/bin/python scripts/benchmark_usage.py --skip-query --output /tmp/throughput.md
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # benchkit

from benchkit.alternate import Contender, alternate, median, paired  # noqa: E402
from benchkit.gateway import RunningGateway, running_gateway  # noqa: E402
from benchkit.gateway_report import cpu_ms_per_request  # noqa: E402
from benchkit.machine import machine_info, process_cpu_seconds  # noqa: E402
from benchkit.report import fmt, table  # noqa: E402
from benchkit.usage_rows import Shape, fill  # noqa: E402
from benchkit.windows import LoadPlan  # noqa: E402

LIBRARY, MODEL = "bench", "org/bench-text"
BODY = b'{"inputs": "A sentence of about fifty characters, to be embedded."}'
TOKENS = 8


# ------------------------------------------------------------------ the processes


def replica_app() -> Any:
    """A library container stand-in: answers at once, with the usage headers of the request."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def answer(request: Request) -> Response:
        body = await request.body()
        headers = {"x-compute-time": "0.000", "x-compute-characters": str(len(body))}
        return Response(b"[0.1,0.2,0.3]", media_type="application/json", headers=headers)

    async def ok(request: Request) -> Response:
        return Response(b'{"status":"ready"}', media_type="application/json")

    return Starlette(
        routes=[Route("/ready", ok), Route("/health", ok), Route("/{path:path}", answer, methods=["POST"])]
    )


class FixedBackend:
    """Every replica is the one server at BENCH_REPLICA_URL (started by this script)."""

    name = "fixed"

    def __init__(self, url: str) -> None:
        self.url = url

    def start(self, library: str, slot: str, pinned: str = "") -> Any:
        from api_inference_community.gateway.backends.base import Replica

        return Replica(slot, library, self.url)

    def exited(self, replica: Any) -> bool:
        return False

    def stop(self, replica: Any, grace: float) -> None:
        pass

    def logs(self, replica: Any) -> str:
        return ""

    def close(self) -> None:
        pass


def serve_replica() -> None:
    import uvicorn

    uvicorn.run(replica_app(), host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning", access_log=False)


def serve_gateway() -> None:
    """A gateway process over FixedBackend, configured from the environment (as `gateway` is)."""
    from api_inference_community.gateway.app import create_gateway_app
    from api_inference_community.gateway.server import uvicorn_config
    from api_inference_community.gateway.settings import GatewaySettings
    from api_inference_community.runtime.logs import configure_logging
    from api_inference_community.runtime.server import serve

    settings = GatewaySettings.from_env()
    configure_logging(settings.log_level)
    backend = FixedBackend(os.environ["BENCH_REPLICA_URL"])
    app = create_gateway_app(settings, backend, {LIBRARY: ["feature-extraction"]}, pinned_models=[MODEL])  # type: ignore[arg-type]
    serve(uvicorn_config(app, settings))  # the gateway's own server settings (LOG_LEVEL=warning: no access log)


def write_models(folder: Path) -> Path:
    card = folder / MODEL / "README.md"
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text(f"---\npipeline_tag: feature-extraction\nlibrary_name: {LIBRARY}\n---\n")
    return folder


def start_replica() -> Any:
    from api_inference_community.testing.live import LiveServer

    server = LiveServer("", {"LOG_LEVEL": "warning"}, command=[sys.executable, __file__, "serve-replica"])
    server.wait_until("/ready", 200, 120)
    return server


def gateway_process(env: Dict[str, str]) -> Any:
    """A gateway process of this script (`serve-gateway`), run as benchkit.gateway runs any gateway."""
    return running_gateway({"LOG_LEVEL": "warning", **env}, command=[sys.executable, __file__, "serve-gateway"])


# ------------------------------------------------------------------ databases


@contextlib.contextmanager
def postgres_server(given: Optional[str]) -> Iterator[Optional[str]]:
    """A PostgreSQL server URL: the one given, else a private cluster of scripts/postgres.sh (stopped after)."""
    if given:
        yield given
        return
    result = subprocess.run(["bash", str(HERE / "postgres.sh"), "start"], capture_output=True, text=True, timeout=600)
    exports = dict(re.findall(r"^export (\w+)=(\S+)$", result.stdout, re.MULTILINE))
    if result.returncode != 0 or "AIC_POSTGRES_URL" not in exports:
        print(f"no PostgreSQL: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        yield None
        return
    try:
        yield exports["AIC_POSTGRES_URL"]
    finally:
        subprocess.run(["bash", str(HERE / "postgres.sh"), "stop", exports["AIC_POSTGRES_DIR"]], capture_output=True)


@contextlib.contextmanager
def database(kind: str, folder: Path, server: Optional[str]) -> Iterator[str]:
    """A new, empty database: a SQLite file in `folder`, or a database on the PostgreSQL server."""
    if kind == "sqlite":
        path = folder / f"usage-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in folder.glob(path.name + "*"):
                leftover.unlink()
        return
    from api_inference_community.testing.databases import scratch_postgres_database

    assert server is not None
    with scratch_postgres_database(server, prefix="aic_bench") as url:
        yield url


def prepared(url: str) -> Any:
    from api_inference_community.gateway.usage import migrate
    from api_inference_community.gateway.usage.database import make_engine, normalized_url

    engine = make_engine(normalized_url(url))
    migrate.ensure_current(engine)
    return engine


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by every PostgreSQL process of this machine (server, backends, writers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if command.startswith((b"postgres:", b"/usr/lib/postgresql/")):
            total += process_cpu_seconds(int(entry.name))
    return total


def metric(gateway: RunningGateway, name: str) -> float:
    """The sum of a metric's series whose line starts with `name`."""
    lines = gateway.metrics().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(name))


# ------------------------------------------------------------------ 1. throughput


def request_bytes(port: int, token: Optional[str]) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST /models/{MODEL} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    )
    return head.encode() + BODY


def throughput(args: argparse.Namespace, folder: Path, server: Optional[str]) -> Dict[str, Any]:
    from sqlalchemy import func, select

    from api_inference_community.gateway.usage import storage
    from api_inference_community.gateway.usage.schema import usage_requests

    models = write_models(folder / "models")
    replica = start_replica()
    kinds = ["off", "sqlite"] + (["postgresql"] if server else [])
    results: Dict[str, Any] = {kind: {} for kind in kinds}
    with contextlib.ExitStack() as databases:
        engines: Dict[str, Any] = {}
        envs: Dict[str, Dict[str, str]] = {}
        tokens: Dict[str, List[str]] = {}
        for kind in kinds:
            envs[kind] = {"MODELS_DIR": str(models), "HF_HUB_OFFLINE": "1", "BENCH_REPLICA_URL": replica.url,
                          "GATEWAY_STATE_DIR": str(folder / f"state-{kind}"), "SHUTDOWN_GRACE": "30"}  # fmt: skip
            if kind == "off":
                envs[kind].update(GATEWAY_AUTH="off", GATEWAY_USAGE="0")
                tokens[kind] = []
                continue
            url = databases.enter_context(database(kind, folder, server))
            engines[kind] = engine = prepared(url)
            tokens[kind] = [
                storage.create_token(engine, f"bench-{i}", rate_limit=10**7, concurrency=10**4)[0]
                for i in range(TOKENS)
            ]
            envs[kind].update(GATEWAY_AUTH="required", DATABASE_URL=url)
        with contextlib.ExitStack() as processes:
            gateways = {kind: processes.enter_context(gateway_process(envs[kind])) for kind in kinds}
            for gateway in gateways.values():
                gateway.wait_healthy(LIBRARY, 1)
            contenders = [
                Contender(
                    kind,
                    gateways[kind].port,
                    gateways[kind].pid,
                    [request_bytes(gateways[kind].port, t) for t in tokens[kind] or [None]],
                    [1] * max(len(tokens[kind]), 1),
                )
                for kind in kinds
            ]
            plan = LoadPlan(warmup=args.warmup, quiet_below=1.0, quiet_wait=args.quiet_wait)
            database_cpu = postgres_cpu_seconds()
            windows = alternate(contenders, args.clients, args.rounds, args.seconds, plan)
            database_cpu = postgres_cpu_seconds() - database_cpu
            for kind in kinds:
                results[kind].update(
                    req_per_s=[w["req_per_s"] for w in windows[kind]],
                    p50_ms=[w["p50_ms"] for w in windows[kind]],
                    p99_ms=[w["p99_ms"] for w in windows[kind]],
                    errors=sum(w["errors"] for w in windows[kind]),
                    server_cpu=[w["server_cpu"] for w in windows[kind]],
                    other_cpu=[w["other_cpu"] for w in windows[kind]],
                    cpu_ms_per_request=[cpu_ms_per_request(w) for w in windows[kind]],
                )
                if kind != "off":
                    results[kind]["ratio_to_off"] = paired(windows, kind, "off", "req_per_s", how="ratio")
                    results[kind]["counted"] = metric(gateways[kind], "aic_gateway_token_requests_total")
                    if kind == "postgresql":
                        results[kind]["database_cpu_s"] = database_cpu
                    results[kind]["dropped"] = metric(
                        gateways[kind], 'aic_gateway_usage_records_total{outcome="dropped"}'
                    )
        # the gateways have stopped (SIGTERM: their buffered rows written): every counted request has its row
        for kind, gateway in gateways.items():
            results[kind]["exit_code"] = gateway.server.process.returncode
            if kind in engines:
                with engines[kind].connect() as connection:
                    results[kind]["rows"] = connection.execute(
                        select(func.count()).select_from(usage_requests)
                    ).scalar()
                engines[kind].dispose()
    replica.stop(10)
    return results


# ------------------------------------------------------------------ 2. /usage at scale


def timed(session: Any, url: str, headers: Dict[str, str], calls: int) -> Dict[str, Any]:
    for _ in range(3):
        session.get(url, headers=headers, timeout=60).raise_for_status()
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        response = session.get(url, headers=headers, timeout=60)
        times.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    ordered = sorted(times)
    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)],
        "max_ms": ordered[-1],
        "bytes": len(response.content),
    }


def query(args: argparse.Namespace, kind: str, folder: Path, server: Optional[str]) -> Dict[str, Any]:
    import requests

    from api_inference_community.gateway.usage import storage
    from api_inference_community.gateway.usage.records import utcnow

    shape = Shape(rows=args.rows, days=args.days, tokens=args.tokens, models=args.models)
    result: Dict[str, Any] = {"shape": vars(shape)}
    with database(kind, folder, server) as url:
        engine = prepared(url)
        secrets = [storage.create_token(engine, f"user-{i:02d}")[0] for i in range(1, shape.tokens + 1)]
        admin = storage.create_token(engine, "admin", admin=True)[0]
        print(f"{kind}: generating {shape.rows:,} usage rows", file=sys.stderr)
        result["fill"] = fill(engine, shape, progress=lambda line: print(line, file=sys.stderr, flush=True))
        engine.dispose()
        env = {"MODELS_DIR": str(write_models(folder / "models")), "HF_HUB_OFFLINE": "1", "DATABASE_URL": url,
               "BENCH_REPLICA_URL": "http://127.0.0.1:9", "GATEWAY_AUTH": "required",
               "GATEWAY_STATE_DIR": str(folder / f"state-query-{kind}")}  # fmt: skip
        with gateway_process(env) as gateway:
            today = utcnow().date()
            span = f"from={(today - timedelta(days=29)).isoformat()}&to={today.isoformat()}"
            session = requests.Session()
            cases = {
                "admin, all tokens, by day": (f"/usage?{span}&group_by=day", admin),
                "admin, all tokens, by model": (f"/usage?{span}&group_by=model", admin),
                "admin, all tokens, by token": (f"/usage?{span}&group_by=token", admin),
                "busiest token, by day": (f"/usage?{span}", secrets[0]),
                "dashboard HTML, admin": (f"/dashboard?{span}", admin),
            }
            result["calls"] = {
                name: timed(session, gateway.server.url + path, {"authorization": f"Bearer {token}"}, args.calls)
                for name, (path, token) in cases.items()
            }
            check = session.get(
                gateway.server.url + f"/usage?{span}", headers={"authorization": f"Bearer {admin}"}
            ).json()
            result["requests_in_range"] = check["totals"]["requests"]
    return result


# ------------------------------------------------------------------ report


def report(results: Dict[str, Any]) -> str:
    lines = ["# Tokens and usage accounting: benchmark", ""]
    info = results["machine"]
    lines += [f"Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['memory_gb']} GB, Python {info['python']}; "
              f"load average before: {results['load_before']}, after: {results['load_after']}.", ""]  # fmt: skip
    if "throughput" in results:
        t = results["throughput"]
        rows = []
        for kind, figures in t.items():
            ratio = figures.get("ratio_to_off", {})
            rows.append(
                [
                    kind,
                    " / ".join(fmt(v, 0) for v in figures["req_per_s"]),
                    fmt(statistics.median(figures["req_per_s"]), 0),
                    fmt(statistics.median([v for v in figures["p50_ms"] if v is not None]), 2),
                    fmt(statistics.median([v for v in figures["p99_ms"] if v is not None]), 2),
                    fmt(median(figures.get("cpu_ms_per_request", [])), 3),
                    " / ".join(fmt(v, 3) for v in ratio.get("per_round", [])) or "-",
                    fmt(ratio.get("median"), 3),
                    fmt(figures.get("counted"), 0),
                    fmt(figures.get("rows"), 0),
                    fmt(figures.get("dropped"), 0),
                    str(figures["errors"]),
                ]
            )
        lines += [f"## Throughput at {results['args']['clients']} clients ({results['args']['rounds']} rounds of "
                  f"{results['args']['seconds']:g} s, in alternation)", ""]  # fmt: skip
        lines.append(
            table(
                [
                    "gateway",
                    "req/s per round",
                    "req/s median",
                    "p50 ms",
                    "p99 ms",
                    "gateway CPU ms/req",
                    "ratio per round",
                    "ratio median",
                    "counted",
                    "rows",
                    "dropped",
                    "errors",
                ],
                rows,
                markdown=True,
            )  # fmt: skip
        )
        lines.append("")
        postgres = t.get("postgresql", {})
        if postgres.get("database_cpu_s") is not None and postgres.get("counted"):
            lines.append(
                f"The PostgreSQL server, on the same cores, used {postgres['database_cpu_s']:.1f} CPU seconds over the "
                f"run ({1000 * postgres['database_cpu_s'] / postgres['counted']:.2f} ms per recorded request)."
            )
            lines.append("")
    for kind in ("sqlite", "postgresql"):
        q = results.get(f"query_{kind}")
        if not q:
            continue
        fill_ = q["fill"]
        lines += [f"## `/usage` over {q['shape']['rows']:,} rows, {kind}", ""]
        lines.append(
            f"Rows written in {fill_['rows_seconds']:.0f} s; roll-ups ({fill_['daily_rows']:.0f} daily rows) "
            f"in {fill_['rollup_seconds']:.1f} s; "
            f"{q['requests_in_range']:,} requests in the 30-day range."
        )
        lines.append("")
        rows = [[name, fmt(c["p50_ms"], 1), fmt(c["p95_ms"], 1), fmt(c["max_ms"], 1), str(c["bytes"])]
                for name, c in q["calls"].items()]  # fmt: skip
        lines.append(table(["30-day range", "p50 ms", "p95 ms", "max ms", "bytes"], rows, markdown=True))
        lines.append("")
    return "\n".join(lines)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve-replica":
        return serve_replica()
    if len(sys.argv) > 1 and sys.argv[1] == "serve-gateway":
        return serve_gateway()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per gateway per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--quiet-wait", type=float, default=0.0, help="wait up to this long for a quiet machine")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--calls", type=int, default=30, help="timed calls per /usage case")
    parser.add_argument("--postgres-url", help="a PostgreSQL server (default: a private cluster)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-query", action="store_true")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--output", help="write the markdown report there (it is printed too)")
    parser.add_argument("--json", help="write every figure there as JSON")
    args = parser.parse_args()
    kinds = [k for k in args.databases.split(",") if k]
    results: Dict[str, Any] = {"args": vars(args), "machine": machine_info(), "load_before": load_average()}
    with tempfile.TemporaryDirectory(prefix="aic-bench-usage-") as scratch:
        folder = Path(scratch)
        servers = postgres_server(args.postgres_url) if "postgresql" in kinds else contextlib.nullcontext(None)
        with servers as server:
            if not args.skip_throughput:
                results["throughput"] = throughput(args, folder, server)
            if not args.skip_query:
                for kind in kinds:
                    if kind == "sqlite" or server:
                        results[f"query_{kind}"] = query(args, kind, folder, server)
    results["load_after"] = load_average()
    text = report(results)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
