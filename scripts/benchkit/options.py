"""Command-line options that every benchmark of a live server shares: the server under test, the
measurement's discipline (probe, quiet machine, retries) and the output."""

from __future__ import annotations

import argparse
from typing import List

from .windows import LoadPlan


def int_list(text: str) -> List[int]:
    """ "1,8,32" -> [1, 8, 32]; "" -> []."""
    return [int(part) for part in text.split(",") if part.strip()]


def add_server_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("the server under test")
    group.add_argument("--image", default="docker_images/sentence_transformers", help="the image folder (cwd)")
    group.add_argument("--app", default="app.main:app", help="the app, module:attribute, importable from --image")
    group.add_argument("--model", default=None, help="MODEL_ID (default: the bundled all-MiniLM-L6-v2)")
    group.add_argument("--task", default="feature-extraction")
    group.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="server environment")
    group.add_argument("--ready-timeout", type=float, default=600.0)


def add_measurement_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("measuring")
    group.add_argument("--probe-interval", type=float, default=0.1, help="seconds between /health probes")
    group.add_argument(
        "--probe-keepalive", action="store_true", help="reuse the probe's connection (default: a new one per probe)"
    )
    group.add_argument(
        "--quiet-below",
        type=float,
        default=0.2,
        metavar="CORES",
        help="before each phase, wait until the machine uses fewer cores than this (others' work)",
    )
    group.add_argument("--quiet-wait", type=float, default=0.0, metavar="SECONDS", help="at most this long (0: never)")
    group.add_argument(
        "--noise-limit",
        type=float,
        default=0.15,
        metavar="CORES",
        help="a measurement during which other processes used more cores than this is noisy",
    )
    group.add_argument("--retries", type=int, default=0, help="measure a noisy level (or raw batch) again, this often")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    group.add_argument("--markdown", action="store_true", help="print the tables as markdown")


def load_plan(args: argparse.Namespace) -> LoadPlan:
    """The LoadPlan the measurement options describe (warm-up from `--warmup`)."""
    return LoadPlan(
        warmup=args.warmup,
        probe_interval=args.probe_interval,
        probe_keepalive=args.probe_keepalive,
        retries=args.retries,
        noise_limit=args.noise_limit,
        quiet_below=args.quiet_below,
        quiet_wait=args.quiet_wait,
    )
