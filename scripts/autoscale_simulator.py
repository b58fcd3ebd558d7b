"""Replay request traces through the autoscaler's decision and the policies it is judged against.

A replica model measured on this machine (its throughput at each concurrency, closed loop, and its cold
start) serves the requests of a trace second by second; each policy decides the replicas. Reported per
trace and policy: the time over the latency objective (seconds with traffic whose requests wait longer
than `--objective-ms`), the requests over it, the replica-hours, the replicas' mean and peak, the scale
events. This is how the policy is judged at scales these machines cannot run.

    .venv/bin/python scripts/autoscale_simulator.py --markdown                 # every trace, every policy
    .venv/bin/python scripts/autoscale_simulator.py --trace bursty --hours 2 --json bursty.json
    .venv/bin/python scripts/autoscale_simulator.py --replica run.json --cold-start 14   # a replica you measured

Policies:
    ours          the gateway's decision (api_inference_community/gateway/autoscale/policy.py), its defaults
    static-peak   always the replicas the trace's peak needs at the same target
    static-mean   always the replicas its mean needs
    knative       Knative's KPA with its defaults (stable 60 s, panic 6 s at 200 %, 70 % target utilization,
                  scale-down at most by half per tick, to zero after the stable window + 30 s grace), its
                  target per replica set to ours (Knative's own default, 100, suits I/O-bound services)

The replica model: `--replica` is a scripts/benchmark.py JSON (its closed-loop levels), or the default
below (BENCHMARKS.md: all-MiniLM-L6-v2 on torch, one replica process on 2 cores, a quiet machine).
Throughput is interpolated between measured concurrencies and flat beyond the last one (saturated:
more concurrency only queues); latency is concurrency / throughput (Little's law). The target per
replica is the concurrency at which its latency is half the objective (`--target` to set it).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(__file__).resolve().parent
for path in (str(ROOT), str(SCRIPTS)):
    if path not in sys.path:
        sys.path.insert(0, path)

from benchkit.report import fmt, pct, section, table, target, target_lines  # noqa: E402

from api_inference_community.gateway.autoscale.policy import History, Observation, Policy, decide  # noqa: E402

# BENCHMARKS.md, torch, all-MiniLM-L6-v2, one short sentence per request: (clients, requests/s)
DEFAULT_CURVE = ((1.0, 96.8), (8.0, 217.1), (32.0, 404.1))
# measured here (tests/docker/test_swarm.py): a Swarm task of the sentence_transformers image, from the
# scale to its first answer through the gateway (12.7 and 14.7 s on a busy machine)
DEFAULT_COLD_START_S = 14.0
TRACES = ("steady", "diurnal", "bursty", "spike")
POLICIES = ("ours", "static-peak", "static-mean", "knative")
JUDGED = ("diurnal", "bursty")


# ------------------------------------------------------------------ the replica


@dataclass(frozen=True)
class Replica:
    curve: Tuple[Tuple[float, float], ...]  # (concurrency, requests/s), increasing concurrency
    cold_start_s: float
    source: str

    def throughput(self, concurrency: float) -> float:
        """Requests/s of one replica holding `concurrency` requests (through 0, flat past the last point)."""
        points = ((0.0, 0.0), *self.curve)
        for (c0, x0), (c1, x1) in zip(points, points[1:]):
            if concurrency <= c1:
                return x0 + (x1 - x0) * (concurrency - c0) / (c1 - c0)
        return points[-1][1]

    def latency(self, concurrency: float) -> float:
        """Seconds a request spends on a replica holding `concurrency` (Little's law)."""
        if concurrency <= self.curve[0][0]:
            return self.curve[0][0] / self.curve[0][1]
        return concurrency / self.throughput(concurrency)

    def target_for(self, objective_s: float) -> float:
        """The concurrency at which the latency is half the objective (headroom for what comes before a
        scale-up is ready)."""
        low, high = self.curve[0][0], 10_000.0
        for _ in range(60):
            middle = (low + high) / 2
            low, high = (middle, high) if self.latency(middle) <= objective_s / 2 else (low, middle)
        return round(low, 1)


def replica_from_benchmark(path: Path, cold_start_s: float) -> Replica:
    """The closed-loop levels of a scripts/benchmark.py JSON (`levels`: concurrency, req_per_s)."""
    levels = json.loads(path.read_text()).get("levels") or []
    curve = sorted(
        (float(level["concurrency"]), float(level["req_per_s"])) for level in levels if level.get("req_per_s")
    )
    if not curve:
        raise SystemExit(f"{path}: no closed-loop levels (concurrency, req_per_s) found")
    return Replica(tuple(curve), cold_start_s, str(path))


# ------------------------------------------------------------------ traces (requests/s, one per second)


def steady(hours: float, rng: random.Random) -> List[float]:
    return [1000.0] * int(hours * 3600)


def diurnal(hours: float, rng: random.Random) -> List[float]:
    """A working day: 5 % of the peak at night, a morning and an afternoon hump (peak/mean about 2.6),
    with minute-scale wander of +-10 %."""
    peak, rates, wander = 3000.0, [], 1.0
    for second in range(int(hours * 3600)):
        hour = (second / 3600.0) % 24
        day = max(0.0, math.sin(math.pi * (hour - 7) / 12)) ** 2 if 7 <= hour <= 19 else 0.0
        lunch = 1 - 0.25 * math.exp(-(((hour - 12.5) / 0.6) ** 2))
        if second % 60 == 0:
            wander = min(1.1, max(0.9, wander + rng.uniform(-0.03, 0.03)))
        rates.append(peak * (0.05 + 0.95 * day * lunch) * wander)
    return rates


def bursty(hours: float, rng: random.Random) -> List[float]:
    """300 requests/s, and bursts to 4-8 times that (2 s ramp, 30-180 s long), 3-12 minutes apart."""
    base, rates = 300.0, [300.0] * int(hours * 3600)
    second = rng.randint(60, 240)
    while second < len(rates):
        factor, length = rng.uniform(4, 8), rng.randint(30, 180)
        for offset in range(length):
            if second + offset < len(rates):
                rates[second + offset] = base * (1 + (factor - 1) * min(1.0, (offset + 1) / 2))
        second += length + rng.randint(180, 720)
    return rates


def spike(hours: float, rng: random.Random) -> List[float]:
    """Nothing for 15 minutes, 1500 requests/s at once for 10, then nothing (a pool woken from zero)."""
    total = max(int(hours * 3600), 2400)
    return [1500.0 if 900 <= second < 1500 else 0.0 for second in range(total)]


TRACE_SHAPES: Dict[str, Callable[[float, random.Random], List[float]]] = {
    "steady": steady,
    "diurnal": diurnal,
    "bursty": bursty,
    "spike": spike,
}
DEFAULT_HOURS = {"steady": 1.0, "diurnal": 24.0, "bursty": 2.0, "spike": 2400 / 3600}


def arrivals(rates: Sequence[float], rng: random.Random) -> List[float]:
    """Requests arriving each second: Poisson around the rate (normal approximation past 50)."""
    out = []
    for rate in rates:
        if rate <= 0:
            out.append(0.0)
        elif rate > 50:
            out.append(max(0.0, rng.gauss(rate, math.sqrt(rate))))
        else:
            count, limit, product = 0, math.exp(-rate), rng.random()
            while product > limit:
                count += 1
                product *= rng.random()
            out.append(float(count))
    return out


# ------------------------------------------------------------------ policies


Decider = Callable[[float, float, int, int, float], int]  # (now, concurrency, ready, current, rate) -> replicas


def replicas_for(rate: float, replica: Replica, per_replica: float) -> int:
    """Replicas that keep `rate` requests/s at `per_replica` concurrency each (at least one)."""
    return max(1, math.ceil(rate / replica.throughput(per_replica) - 1e-9))


def ours(policy: Policy) -> Decider:
    state = {"history": History()}

    def decider(now: float, concurrency: float, ready: int, current: int, rate: float) -> int:
        decision = decide(policy, state["history"], Observation(now, concurrency, ready, current, rate=rate))
        state["history"] = decision.history
        return decision.replicas

    return decider


def static(replicas: int) -> Decider:
    return lambda now, concurrency, ready, current, rate: replicas


@dataclass
class KnativeDefaults:
    """Knative's KPA (autoscaler/pkg/autoscaler/scaling), its default configuration."""

    target: float  # the revision's target concurrency per pod (times the 70 % utilization below)
    utilization: float = 0.7
    stable_window_s: float = 60.0
    panic_window_s: float = 6.0  # 10 % of the stable window
    panic_threshold: float = 2.0  # 200 %
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0
    scale_to_zero_grace_s: float = 30.0
    max_replicas: int = 1000  # max-scale (Knative's default: none)
    tick_s: float = 2.0
    samples: List[Tuple[float, float]] = field(default_factory=list)
    panic_until: float = -1.0
    zero_since: Optional[float] = None
    last_tick: float = -1e9
    last: int = 0

    def __call__(self, now: float, concurrency: float, ready: int, current: int, rate: float) -> int:
        self.samples = [s for s in self.samples if s[0] > now - self.stable_window_s] + [(now, concurrency)]
        if now - self.last_tick < self.tick_s:
            return self.last if current else (1 if concurrency > 0 else 0)  # the activator wakes it at once
        self.last_tick = now
        target = self.target * self.utilization
        stable = sum(c for _, c in self.samples) / len(self.samples)
        recent = [c for at, c in self.samples if at > now - self.panic_window_s]
        panic = sum(recent) / len(recent)
        want_stable, want_panic = math.ceil(stable / target), math.ceil(panic / target)
        pods = max(ready, 1)
        if want_panic / pods >= self.panic_threshold:
            self.panic_until = now + self.stable_window_s
        if now < self.panic_until:
            want = max(want_panic, current)  # never down in panic
        else:
            want = want_stable
        want = min(want, math.ceil(pods * self.max_scale_up_rate))
        want = max(want, math.floor(pods / self.max_scale_down_rate)) if current else want
        if want == 0 and current > 0:  # to zero only after the grace period at zero
            self.zero_since = self.zero_since if self.zero_since is not None else now
            want = current if now - self.zero_since < self.scale_to_zero_grace_s else 0
        else:
            self.zero_since = None
        if current == 0 and concurrency > 0:
            want = max(want, 1)
        self.last = want = min(want, self.max_replicas)
        return want


# ------------------------------------------------------------------ the simulation


@dataclass
class Outcome:
    policy: str
    seconds: int
    seconds_with_traffic: int
    over_objective_s: int
    requests: float
    requests_over_objective: float
    replica_hours: float
    mean_replicas: float
    max_replicas: int
    scale_events: int
    p99_latency_ms: float

    @property
    def over_share(self) -> float:
        return self.over_objective_s / max(1, self.seconds_with_traffic)

    @property
    def requests_over_share(self) -> float:
        return self.requests_over_objective / max(1.0, self.requests)


def settle(replica: Replica, total: float, ready: int) -> float:
    """Requests left in the pool after one second, from `total` (those there plus those that arrived):
    q with q + ready * throughput(q / ready) = total (an implicit step: stable at any load)."""
    if ready == 0:
        return total
    points = ((0.0, 0.0), *replica.curve)
    for (c0, x0), (c1, x1) in zip(points, points[1:]):
        slope = (x1 - x0) / (c1 - c0)
        if total <= ready * (c1 + x1):
            return ready * (total / ready - x0 + slope * c0) / (1 + slope)
    return total - ready * points[-1][1]  # saturated: the rest queues


def simulate(
    name: str, load: Sequence[float], replica: Replica, decider: Decider, objective_s: float, start: int
) -> Outcome:
    """One policy over one trace (requests arriving each second), second by second."""
    ready_at: List[float] = [0.0] * start  # when each allocated replica answers
    queued = 0.0  # requests in the pool (in service and waiting)
    over = traffic = events = peak = 0
    requests = requests_over = replica_seconds = 0.0
    latencies: List[Tuple[float, float]] = []
    for second, arriving in enumerate(load):
        now = float(second + 1)
        ready = sum(1 for at in ready_at if at <= second)
        queued = settle(replica, queued + arriving, ready)
        replica_seconds += len(ready_at)
        if arriving > 0:
            traffic += 1
            requests += arriving
            if ready:
                latency = replica.latency(queued / ready)
            else:  # held until the first replica answers
                latency = min(ready_at, default=now + replica.cold_start_s) - second + replica.latency(1.0)
            latencies.append((latency, arriving))
            if latency > objective_s:
                over += 1
                requests_over += arriving
        wanted = decider(now, queued, ready, len(ready_at), arriving)
        if wanted != len(ready_at):
            events += 1
        while len(ready_at) < wanted:
            ready_at.append(now + replica.cold_start_s)
        if len(ready_at) > wanted:  # the ones still starting go first, then the last started
            ready_at.sort()
            del ready_at[wanted:]
        peak = max(peak, len(ready_at))
    return Outcome(
        name,
        len(load),
        traffic,
        over,
        requests,
        requests_over,
        replica_seconds / 3600,
        replica_seconds / max(1, len(load)),
        peak,
        events,
        1000 * _weighted_quantile(latencies, 0.99),
    )


def _weighted_quantile(values: List[Tuple[float, float]], quantile: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    total, seen = sum(weight for _, weight in ordered), 0.0
    for value, weight in ordered:
        seen += weight
        if seen >= quantile * total:
            return value
    return ordered[-1][0]


# ------------------------------------------------------------------ one run, and its report


def deciders(
    rates: Sequence[float], replica: Replica, target_c: float, policy: Optional[Policy] = None
) -> Dict[str, Tuple[Decider, int]]:
    """Each policy's decision and its replicas at the start. The dynamic ones are bounded as an operator
    would bound them: at most twice what the peak needs."""
    peak, mean = max(rates), sum(rates) / len(rates)
    at_peak, at_mean = replicas_for(peak, replica, target_c), replicas_for(mean, replica, target_c)
    first = 0 if rates[0] == 0 else replicas_for(rates[0], replica, target_c)
    policy = policy or Policy(target=target_c, max_replicas=2 * at_peak)
    return {
        "ours": (ours(policy), first),
        "static-peak": (static(at_peak), at_peak),
        "static-mean": (static(at_mean), at_mean),
        "knative": (KnativeDefaults(target_c, max_replicas=2 * at_peak), first),
    }


def run(
    traces: Sequence[str], hours: Optional[float], replica: Replica, objective_s: float, target_c: float, seed: int
) -> Dict[str, Any]:
    results: Dict[str, Any] = {
        "replica": {"curve": replica.curve, "cold_start_s": replica.cold_start_s, "source": replica.source},
        "objective_ms": 1000 * objective_s,
        "target": target_c,
        "seed": seed,
        "traces": {},
    }
    for trace in traces:
        rng = random.Random(f"{seed}-{trace}")
        rates = TRACE_SHAPES[trace](hours if hours is not None else DEFAULT_HOURS[trace], rng)
        load = arrivals(rates, rng)
        outcomes = {
            name: simulate(name, load, replica, decider, objective_s, start)
            for name, (decider, start) in deciders(rates, replica, target_c).items()
        }
        results["traces"][trace] = {
            "seconds": len(rates),
            "peak_rps": round(max(rates), 1),
            "mean_rps": round(sum(rates) / len(rates), 1),
            "policies": {name: {**asdict(o), "over_share": o.over_share} for name, o in outcomes.items()},
        }
    results["targets"] = judge(results)
    return results


def judge(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The issue's targets on the bursty and diurnal traces: time within the objective within 10 % of
    static-at-peak's, with at most 50 % of its replica-hours."""
    judged = []
    for trace in JUDGED:
        if trace not in results["traces"]:
            continue
        policies = results["traces"][trace]["policies"]
        ours_, peak = policies["ours"], policies["static-peak"]
        within_ours, within_peak = 1 - ours_["over_share"], 1 - peak["over_share"]
        judged.append(
            target(
                f"{trace}: time within the objective, ours vs static-at-peak (>= 90 % of it)",
                f"{pct(within_ours)} vs {pct(within_peak)} ({ours_['over_objective_s']} s vs "
                f"{peak['over_objective_s']} s over)",
                within_ours >= 0.9 * within_peak,
            )
        )
        ratio = ours_["replica_hours"] / peak["replica_hours"]
        judged.append(
            target(
                f"{trace}: replica-hours, ours / static-at-peak (<= 50 %)",
                f"{fmt(ours_['replica_hours'])} / {fmt(peak['replica_hours'])} = {pct(ratio)}",
                ratio <= 0.5,
            )
        )
    return judged


def render(results: Dict[str, Any], markdown: bool) -> str:
    replica = results["replica"]
    curve = ", ".join(f"{c:g} -> {x:g}/s" for c, x in replica["curve"])
    lines = [
        f"Replica: {curve}; cold start {replica['cold_start_s']:g} s ({replica['source']}).",
        f"Objective: {results['objective_ms']:g} ms; target {results['target']:g} requests in flight per replica; "
        f"seed {results['seed']}.",
        "",
    ]
    headers = ["policy", "time over objective", "share", "requests over", "p99 ms", "replica-hours", "mean", "max",
               "scale events"]  # fmt: skip
    for trace, found in results["traces"].items():
        rows = [
            [
                name,
                f"{o['over_objective_s']} s",
                pct(o["over_share"]) if o["over_share"] >= 0.01 or o["over_share"] == 0 else "<1%",
                fmt(100 * o["requests_over_objective"] / max(1.0, o["requests"]), 2) + " %",
                fmt(o["p99_latency_ms"], 0),
                fmt(o["replica_hours"], 2),
                fmt(o["mean_replicas"], 2),
                str(o["max_replicas"]),
                str(o["scale_events"]),
            ]
            for name, o in found["policies"].items()
        ]
        title = (
            f"{trace} ({found['seconds'] / 3600:.2f} h, peak {found['peak_rps']:g} requests/s, "
            f"mean {found['mean_rps']:g})"
        )
        lines += section(title, table(headers, rows, markdown).splitlines())
    lines += section("Targets", target_lines(results["targets"]))
    return "\n".join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--trace", action="append", choices=TRACES, help="a trace (repeatable; default: all)")
    parser.add_argument("--hours", type=float, help="each trace's length (default: its own)")
    parser.add_argument("--objective-ms", type=float, default=100.0, help="the latency objective")
    parser.add_argument("--target", type=float, help="requests in flight per replica (default: from the curve)")
    parser.add_argument("--replica", type=Path, help="a scripts/benchmark.py JSON: the replica's closed-loop levels")
    parser.add_argument("--cold-start", type=float, default=DEFAULT_COLD_START_S, help="seconds to a replica's answer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--markdown", action="store_true", help="tables in markdown")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.replica:
        replica = replica_from_benchmark(args.replica, args.cold_start)
    else:
        replica = Replica(DEFAULT_CURVE, args.cold_start, "BENCHMARKS.md, torch, all-MiniLM-L6-v2")
    objective = args.objective_ms / 1000
    target_c = args.target or replica.target_for(objective)
    results = run(args.trace or list(TRACES), args.hours, replica, objective, target_c, args.seed)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(render(results, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
