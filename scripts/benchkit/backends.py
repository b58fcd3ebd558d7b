"""One image's backends (torch, ONNX Runtime, int8...) compared in one run: a server per backend, all
started at once, measured in alternating rounds at the same concurrency (`alternate`), so that what
the shared machine does meanwhile falls on each alike; the throughput of each against the first,
round by round and as a median.

    PYTHONPATH=scripts .venv/bin/python -m benchkit.backends --image docker_images/transformers \\
        --task text-classification --model "$(.venv/bin/python scripts/benchkit/text_classifier.py)" \\
        --backend torch= --backend onnx=BACKEND=onnx --backend onnx-int8=BACKEND=onnx,QUANTIZE=dynamic-int8
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .alternate import Contender, alternate, median, paired
from .loadgen import post_requests
from .payloads import SENTENCES
from .report import fmt, pct, table
from .server import image_folder, items_of, model_argument, started_server
from .windows import LoadPlan

HEADERS = ("backend", "items/s (median)", "x {first}", "p50 ms", "probe p99", "mean batch", "server CPU", "other CPU")


def parse_backend(text: str) -> Tuple[str, Dict[str, str]]:
    """`name=KEY=VALUE,KEY=VALUE` (or `name=`) as (name, environment)."""
    name, _, rest = text.partition("=")
    env = dict(pair.split("=", 1) for pair in rest.split(",") if pair)
    if not name:
        raise SystemExit(f"--backend expects NAME=KEY=VALUE,..., got {text!r}")
    return name, env


def compare(
    image: Path,
    app: str,
    task: str,
    model: str,
    backends: Sequence[Tuple[str, Dict[str, str]]],
    bodies: Sequence[str],
    concurrency: int,
    rounds: int,
    seconds: float,
    plan: LoadPlan,
    ready_timeout: float,
) -> Dict[str, Any]:
    """Every backend's server started, then `rounds` alternating rounds; windows and paired ratios."""
    items = items_of(bodies, task)
    base = {"MODEL_ID": model, "TASK": task, "HF_HUB_OFFLINE": "1"}
    with contextlib.ExitStack() as stack:
        servers = [(name, stack.enter_context(started_server(app, {**base, **env}, image))) for name, env in backends]
        for _, server in servers:
            server.wait_until("/ready", 200, ready_timeout)
        contenders = [
            Contender(name, server.port, server.process.pid, post_requests(server.port, "/", bodies), items)
            for name, server in servers
        ]
        windows = alternate(contenders, concurrency, rounds, seconds, plan)
    first = backends[0][0]
    ratios = {name: paired(windows, name, first, "items_per_s", "ratio") for name, _ in backends[1:]}
    return {"concurrency": concurrency, "rounds": rounds, "seconds": seconds, "windows": windows, "ratios": ratios}


def render(results: Dict[str, Any], markdown: bool = True) -> str:
    """A row per backend (medians over rounds) and the ratios of each to the first, round by round."""
    windows: Dict[str, List[Dict[str, Any]]] = results["windows"]
    names = list(windows)
    first = names[0]
    rows = []
    for name in names:
        ws = windows[name]
        ratio = results["ratios"].get(name, {}).get("median") if name != first else 1.0
        rows.append(
            [
                name,
                fmt(median([w["items_per_s"] for w in ws])),
                fmt(ratio, 2),
                fmt(median([w["p50_ms"] for w in ws])),
                fmt(median([w["probe_p99_ms"] for w in ws]), 2),
                fmt(median([w["mean_batch"] for w in ws])),
                pct(median([w["server_cpu"] for w in ws])),
                pct(median([max(0.0, w["other_cpu"]) for w in ws])),
            ]
        )
    headers = tuple(h.replace("{first}", first) for h in HEADERS)
    out = [
        f"Backends alternating at {results['concurrency']} clients ({results['rounds']} rounds of "
        f"{results['seconds']:g} s each, order reversed every other round):",
        "",
        table(headers, rows, markdown),
        "",
    ]
    for name, r in results["ratios"].items():
        per_round = ", ".join(f"{x:.2f}" for x in r["per_round"])
        out.append(f"- {name} / {first} items/s per round: {per_round} (median {fmt(r['median'], 2)})")
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--app", default="app.main:app")
    parser.add_argument("--task", required=True)
    parser.add_argument("--model", default="")
    parser.add_argument("--backend", action="append", required=True, help="NAME=KEY=VALUE,... (repeat; first: base)")
    parser.add_argument("--payload", action="append", default=[], help="a JSON body (repeatable; rotated)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument("--json", default=None, help="write the results as JSON")
    args = parser.parse_args(argv)
    bodies = args.payload or [json.dumps({"inputs": s}) for s in SENTENCES]
    backends = [parse_backend(b) for b in args.backend]
    plan = LoadPlan(warmup=args.warmup)
    results = compare(
        image_folder(args.image),
        args.app,
        args.task,
        model_argument(args.model),
        backends,
        bodies,
        args.concurrency,
        args.rounds,
        args.seconds,
        plan,
        args.ready_timeout,
    )
    results["backends"] = {name: env for name, env in backends}
    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
