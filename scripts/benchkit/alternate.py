"""Two or more servers measured in alternation (A B, B A, A B...) under the same closed-loop load, so
that what the shared machine does meanwhile falls on each of them alike; figures per round and pooled."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Sequence

from .machine import wait_for_quiet
from .windows import LoadPlan, measure


@dataclass(frozen=True)
class Contender:
    """One server of the comparison: its name, address and pid, and the requests it is sent."""

    name: str
    port: int
    pid: int
    requests: Sequence[bytes]
    items: Sequence[int]


def alternate(
    contenders: Sequence[Contender], concurrency: int, rounds: int, seconds: float, plan: LoadPlan
) -> Dict[str, List[Dict[str, Any]]]:
    """`rounds` rounds; in each, every contender runs `seconds` at `concurrency` (after the plan's
    warm-up), the order reversed every other round. Window summaries per contender, round by round.

    The alternation is what keeps the comparison fair on a shared machine: the plan's quiet-machine
    wait applies once, before the first round, and no round is measured again."""
    results: Dict[str, List[Dict[str, Any]]] = {c.name: [] for c in contenders}
    if plan.quiet_wait > 0:
        wait_for_quiet(plan.quiet_below, plan.quiet_wait)
    plan = replace(plan, quiet_wait=0.0, retries=0)
    for number in range(rounds):
        order = list(contenders) if number % 2 == 0 else list(reversed(contenders))
        for contender in order:
            what = f"{contender.name}, {concurrency} clients, round {number + 1}/{rounds}"
            window = measure(
                ("127.0.0.1", contender.port),
                contender.pid,
                contender.requests,
                contender.items,
                concurrency,
                [seconds],
                plan,
                what,
            )[0]
            window["round"] = number + 1
            results[contender.name].append(window)
    return results


def median(values: Sequence[Optional[float]]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def paired(
    windows: Dict[str, List[Dict[str, Any]]], first: str, second: str, key: str, how: str = "difference"
) -> Dict[str, Any]:
    """`first` against `second` on `key`, round by round (difference or ratio), and the median over rounds."""
    per_round = []
    for a, b in zip(windows[first], windows[second]):
        x, y = a.get(key), b.get(key)
        if x is None or y is None or (how == "ratio" and not y):
            continue
        per_round.append(x - y if how == "difference" else x / y)
    return {"per_round": per_round, "median": median(per_round), first: median([w.get(key) for w in windows[first]]),
            second: median([w.get(key) for w in windows[second]])}  # fmt: skip
