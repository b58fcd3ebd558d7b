"""The autoscaling decision, table-driven: ramps, steps, spikes, flapping inputs, zero, bounds."""

from __future__ import annotations

from typing import List, Sequence

import pytest

from api_inference_community.gateway.autoscale.policy import (
    FROM_ZERO,
    PANIC,
    SCALE_DOWN,
    SCALE_UP,
    STEADY,
    TO_ZERO,
    Decision,
    History,
    Observation,
    Policy,
    decide,
)

POLICY = Policy(target=4, min_replicas=0, max_replicas=10, stable_window_s=60, panic_window_s=6, idle_s=120)


def run(policy: Policy, series: Sequence[float], start: int = 1, cold_start: int = 0) -> List[Decision]:
    """One decision per second over `series` (concurrency per second); replicas become ready
    `cold_start` seconds after they are asked for."""
    history, current, decisions = History(), start, []
    asked: List[int] = [start] * (cold_start + 1)
    for second, concurrency in enumerate(series):
        ready = min(current, asked[-(cold_start + 1)]) if cold_start else current
        decision = decide(policy, history, Observation(float(second), concurrency, ready, current))
        history, current = decision.history, decision.replicas
        asked.append(current)
        decisions.append(decision)
    return decisions


def replicas(decisions: Sequence[Decision]) -> List[int]:
    return [d.replicas for d in decisions]


def changes(decisions: Sequence[Decision]) -> int:
    return sum(1 for d in decisions if d.reason != STEADY)


# (name, series, start, expected replicas at the end, most changes allowed)
TABLE = [
    ("steady at target", [4.0] * 120, 1, 1, 0),
    ("steady at 3 x target", [12.0] * 120, 3, 3, 0),
    ("ramp 0 -> 32 over a minute", [i * 32 / 60 for i in range(61)] + [32.0] * 30, 1, 8, 8),
    ("ramp down 32 -> 4 over a minute", [32 - i * 28 / 60 for i in range(61)] + [4.0] * 70, 8, 1, 8),
    ("noise within the tolerance", [3.8, 4.6] * 90, 1, 1, 0),
    ("noise above the tolerance", [4.2, 5.0] * 90, 1, 2, 1),
    ("noise at the boundary", [3.6, 4.4] * 90, 1, 1, 0),
    ("bursts every 20 s", ([20.0] * 5 + [2.0] * 15) * 8, 1, 5, 3),
    ("nothing, then idle", [0.0] * 130, 1, 0, 1),
]


@pytest.mark.parametrize("name, series, start, final, most", TABLE, ids=[row[0] for row in TABLE])
def test_decisions_follow_the_load_without_flapping(name, series, start, final, most):
    decisions = run(POLICY, series, start)
    assert decisions[-1].replicas == final, replicas(decisions)
    assert changes(decisions) <= most, replicas(decisions)
    assert all(0 <= d.replicas <= POLICY.max_replicas for d in decisions)


def test_a_step_scales_up_within_the_panic_window():
    decisions = run(POLICY, [1.0] * 30 + [16.0] * 30)
    after = replicas(decisions)[30:]
    assert after.index(4) <= POLICY.panic_window_s  # 16 clients at 4 per replica
    assert max(after) == 4  # and no more


def test_a_step_down_waits_for_the_stable_window():
    decisions = run(POLICY, [16.0] * 30 + [4.0] * 100, start=4)
    down = [second for second, d in enumerate(decisions) if d.reason == SCALE_DOWN]
    assert down and all(
        30 + POLICY.stable_window_s - 1 <= second <= 30 + POLICY.stable_window_s + POLICY.panic_window_s
        for second in down
    ), down
    assert decisions[-1].replicas == 1


def test_a_short_spike_is_met_at_once_and_kept_for_the_stable_window():
    series = [4.0] * 20 + [40.0] * 2 + [4.0] * 100
    decisions = run(POLICY, series)
    assert decisions[20].reason == PANIC  # the latest sample in panic, at most 4 x the ready replicas at once
    assert decisions[20].replicas == POLICY.max_scale_up_rate * 1
    kept = [d.replicas for d in decisions[20 : 20 + int(POLICY.stable_window_s)]]
    assert min(kept) > 1  # no scale-down inside the stable window
    assert decisions[-1].replicas == 1
    moves = [d.reason for d in decisions if d.reason != STEADY]
    assert moves[0] == PANIC and set(moves[1:]) == {SCALE_DOWN}  # up once, then only down


def test_without_panic_a_moderate_rise_uses_the_panic_window_average():
    decisions = run(POLICY, [4.0] * 10 + [6.0] * 20)
    assert all(d.reason != PANIC for d in decisions)
    up = [second for second, d in enumerate(decisions) if d.reason == SCALE_UP]
    assert up and 10 <= up[0] <= 10 + POLICY.panic_window_s
    assert decisions[-1].replicas == 2


def test_zero_after_the_idle_period_and_back_on_the_first_request():
    series = [2.0] * 10 + [0.0] * 130 + [1.0] * 5
    decisions = run(POLICY, series)
    zero = [second for second, d in enumerate(decisions) if d.reason == TO_ZERO]
    assert zero == [10 + int(POLICY.idle_s) - 1]
    back = decisions[140]
    assert back.reason == FROM_ZERO and back.replicas == POLICY.activation


def test_requests_waiting_at_zero_start_enough_replicas_at_once():
    decision = decide(POLICY, History(), Observation(0.0, 12.0, 0, 0))
    assert decision.reason == FROM_ZERO and decision.replicas == 3


def test_nothing_at_zero_stays_at_zero():
    assert replicas(run(POLICY, [0.0] * 10, start=0)) == [0] * 10


@pytest.mark.parametrize(
    "policy, series, start, expected",
    [
        (Policy(target=4, max_replicas=3), [100.0] * 10, 1, 3),  # capped at max
        (Policy(target=4, min_replicas=2, idle_s=5), [0.0] * 30, 2, 2),  # never below min, never to zero
        (Policy(target=4, min_replicas=2), [1.0] * 5, 0, 2),  # a start from zero gets at least min
        (Policy(target=4, activation=3), [1.0] * 3, 0, 3),  # a start from zero gets `activation`
        (Policy(target=0.5), [1.0] * 10, 1, 2),  # fractional targets
    ],
)
def test_bounds(policy, series, start, expected):
    assert run(policy, series, start)[-1].replicas == expected


def test_replicas_still_starting_do_not_count_as_capacity():
    # the first scale-up takes 10 s to be ready: panic continues meanwhile, but replicas are not asked twice
    decisions = run(POLICY, [1.0] * 5 + [20.0] * 40, cold_start=10)
    assert max(replicas(decisions)) == 5
    assert max(replicas(decisions)[5:15]) == 4  # 4 x the one ready replica, until the others are ready
    assert changes(decisions) <= 3


def test_the_history_keeps_only_the_stable_window():
    decisions = run(POLICY, [4.0] * 300)
    assert len(decisions[-1].history.samples) <= POLICY.stable_window_s
    assert len(decisions[-1].history.recommendations) <= POLICY.stable_window_s


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": 0},
        {"min_replicas": 5, "max_replicas": 2},
        {"max_replicas": 0},
        {"panic_window_s": 100, "stable_window_s": 60},
        {"panic_threshold": 0.5},
    ],
)
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        Policy(**kwargs)


def test_a_request_the_pool_could_not_serve_counts_as_use():
    history = run(POLICY, [0.0] * 100)[-1].history
    busy = decide(POLICY, history, Observation(125.0, 0.0, 1, 1, last_request=124.0))
    assert busy.replicas == 1  # idle since 124, not since 0
    assert decide(POLICY, busy.history, Observation(245.0, 0.0, 1, 1)).reason == TO_ZERO


def test_a_pool_seen_for_the_first_time_keeps_its_replicas_for_a_stable_window():
    decisions = run(POLICY, [0.5] * 90, start=5)
    assert all(d.replicas == 5 for d in decisions[: int(POLICY.stable_window_s) - 1])
    assert decisions[-1].replicas == 1


def test_a_backlog_is_not_a_rate_scale_ups_go_by_at_most_four_times_the_ready_replicas():
    decisions = run(POLICY, [2.0] * 5 + [400.0] * 30, cold_start=10)
    assert replicas(decisions)[5] == 4 and max(replicas(decisions)[5:15]) == 4  # one ready: at most 4
    assert max(replicas(decisions)) == POLICY.max_replicas  # then 16, capped at max_replicas


# a batching replica: requests/s at each concurrency (through 0; flat past the last point)
CURVE = ((1.0, 100.0), (8.0, 220.0), (32.0, 400.0))


def concurrency_at(rate_per_replica: float) -> float:
    """The concurrency at which one replica serves `rate_per_replica` (the curve's inverse; past it, a queue)."""
    points = ((0.0, 0.0), *CURVE)
    for (c0, x0), (c1, x1) in zip(points, points[1:]):
        if rate_per_replica <= x1:
            return c0 + (c1 - c0) * (rate_per_replica - x0) / (x1 - x0)
    return 1000.0


def closed_loop(policy: Policy, rate: float, seconds: int, tell_rate: bool) -> List[int]:
    """The pool's replicas, second by second, serving `rate` requests/s on batching replicas."""
    history, current, out = History(), 1, []
    for second in range(seconds):
        concurrency = current * concurrency_at(rate / current)
        observation = Observation(float(second), concurrency, current, current, rate=rate if tell_rate else None)
        decision = decide(policy, history, observation)
        history, current = decision.history, decision.replicas
        out.append(current)
    return out


def moves(series: Sequence[int]) -> int:
    return sum(1 for a, b in zip(series, series[1:]) if a != b)


def test_on_batching_replicas_the_remembered_overload_rate_stops_the_oscillation():
    policy = Policy(target=12, max_replicas=10, stable_window_s=60, panic_window_s=6)
    blind = closed_loop(policy, 600.0, 1200, tell_rate=False)
    told = closed_loop(policy, 600.0, 1200, tell_rate=True)
    # 600/s: 2 replicas hold 2 x 32+ (a queue): up; 10 replicas hold 10 x 4.3 (43, 4 are "enough"): down; ...
    assert moves(blind[600:]) >= 10  # concurrency alone: up and down, again and again
    assert moves(told[600:]) == 0  # with the rate: it stays where each replica is below the overload
    assert 2 <= told[-1] <= 4 and concurrency_at(600.0 / told[-1]) <= 12 * (1 + policy.tolerance)


def test_draining_a_backlog_is_not_an_overload():
    history = History()
    for second, (concurrency, ready) in enumerate([(2.0, 1)] * 6 + [(300.0, 1)] * 3 + [(30.0, 4), (3.0, 4)]):
        decision = decide(POLICY, history, Observation(float(second), concurrency, ready, 4, rate=100.0))
        history = decision.history
    assert history.overloads == ()  # 300 held while 3 replicas started, answered once they did
