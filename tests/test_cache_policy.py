"""The model cache's eviction policy: scan-resistant GreedyDual-Size-Frequency with a minimum residency."""

from __future__ import annotations

import random
from typing import Dict, List, Sequence, Tuple

import pytest

from api_inference_community.runtime.cache_policy import (
    MB,
    Bounds,
    History,
    Resident,
    best_effort_eviction,
    eviction_order,
    lru_plan,
    plan_eviction,
    residency_wait,
)


def used(history: History, uses: Dict[str, Sequence[float]]) -> History:
    for model_id, times in uses.items():
        for now in times:
            history.record(model_id, now)
    return history


def order(residents: Sequence[Resident], history: History) -> List[str]:
    return [r.model_id for r in eviction_order(residents, history)]


def test_one_off_models_go_first_least_recent_first_then_the_lowest_priority():
    history = used(History(), {"popular": [1, 5, 9], "twice": [2, 3], "once-recent": [10], "once-old": [4]})
    loaded = [Resident(m, MB, 0.0) for m in ("popular", "twice", "once-recent", "once-old")]
    assert order(loaded, history) == ["once-old", "once-recent", "twice", "popular"]


def test_a_large_model_goes_before_a_small_one_used_as_often():
    history = used(History(), {"large": [1, 2, 3], "small": [1, 2, 3]})
    loaded = [Resident("small", MB, 0.0), Resident("large", 50 * MB, 0.0)]
    assert order(loaded, history) == ["large", "small"]
    # ... unless the large one is used much more: uses per MB decide
    history = used(History(), {"large": [1] * 200, "small": [1, 2]})
    assert order(loaded, history) == ["small", "large"]


def test_the_clock_ages_what_was_popular_long_ago():
    history = used(History(), {"old-favourite": [1] * 10, "recent": [50, 51]})
    loaded = [Resident("old-favourite", 10 * MB, 0.0), Resident("recent", 10 * MB, 40.0)]
    assert order(loaded, history) == ["recent", "old-favourite"]
    history.evicted([Resident("gone", MB, 0.0)])  # a one-off: the clock stays
    assert history.clock == 0.0
    used(history, {"gone": [60, 61]})
    history.evicted([Resident("gone", MB, 0.0)])  # its priority: 2 uses per MB
    assert history.clock == pytest.approx(2.0)
    used(history, {"recent": [70]})  # used after the clock rose: it outranks the old favourite now
    assert order(loaded, history) == ["old-favourite", "recent"]


def test_busy_and_pinned_models_are_never_chosen():
    history = used(History(), {m: [1, 2] for m in ("busy", "pinned", "free")})
    loaded = [
        Resident("busy", 10, 0.0, busy=True),
        Resident("pinned", 10, 0.0, pinned=True),
        Resident("free", 10, 0.0),
    ]
    assert order(loaded, history) == ["free"]
    assert plan_eviction(loaded, history, 100, Bounds(needed=20, budget=45)) == ["free"]
    assert plan_eviction(loaded, history, 100, Bounds(needed=30, budget=45)) is None
    assert residency_wait(loaded, history, 100, Bounds(needed=30, budget=45)) is None  # waiting cannot help


def test_evicts_only_when_room_is_needed():
    history = History()
    loaded = [Resident("a", 10, 0.0), Resident("b", 10, 0.0)]
    assert plan_eviction(loaded, history, 50, Bounds(needed=10, budget=30)) == []
    assert plan_eviction(loaded, history, 50, Bounds(needed=10, budget=30, max_models=2)) == ["a"]


def test_the_minimum_residency_delays_an_eviction_without_changing_the_victim():
    history = used(History(), {"young": [95, 96], "old": [1, 2, 3, 4, 5, 6]})
    loaded = [Resident("young", 10 * MB, 95.0), Resident("old", 10 * MB, 0.0)]
    bounds = Bounds(needed=10 * MB, budget=20 * MB, min_residency=10)
    assert order(loaded, history) == ["young", "old"]  # fewer uses per MB
    assert plan_eviction(loaded, history, 100, bounds) is None  # not the old one instead
    assert residency_wait(loaded, history, 100, bounds) == pytest.approx(5.0)
    assert plan_eviction(loaded, history, 105, bounds) == ["young"]
    assert residency_wait(loaded, history, 105, bounds) == 0.0
    # a model used only once is no churn: it may go at once
    once = [Resident("visit", 10 * MB, 99.0), Resident("old", 10 * MB, 0.0)]
    assert plan_eviction(once, used(History(), {"visit": [99], "old": [1, 2]}), 100, bounds) == ["visit"]


def test_best_effort_ignores_the_residency_but_not_the_guards():
    history = used(History(), {"young": [95, 96], "busy": [1]})
    loaded = [Resident("young", 10, 95.0), Resident("busy", 10, 0.0, busy=True)]
    assert best_effort_eviction(loaded, history, 100, needed=10, budget=15) == ["young"]


def test_the_history_is_bounded_and_outlives_an_unload():
    history = used(History(capacity=2), {"a": [1, 2], "b": [3], "c": [4]})
    assert history.uses("a").count == 0 and history.uses("c").count == 1  # "a" was forgotten
    used(history, {"c": [5]})
    assert (history.uses("c").count, history.uses("c").previous, history.last_use("c")) == (2, 4, 5)


def simulate(policy: str, trace: Sequence[str], sizes: Dict[str, int], budget: int) -> Tuple[int, int]:
    """(hits, misses) of `policy` ("ours" or "lru") on `trace`, one request a second."""
    history, loaded, last = History(), {}, {}
    hits = misses = 0
    for now, model_id in enumerate(trace):
        if model_id in loaded:
            hits += 1
        else:
            misses += 1
            residents = [Resident(m, sizes[m], at) for m, at in loaded.items()]
            if policy == "ours":
                victims = plan_eviction(residents, history, now, Bounds(sizes[model_id], budget))
                history.evicted(r for r in residents if r.model_id in set(victims or ()))
            else:
                victims = lru_plan(residents, last, needed=sizes[model_id], budget=budget)
            for victim in victims or ():
                del loaded[victim]
            loaded[model_id] = now
        history.record(model_id, now)
        last[model_id] = now
    return hits, misses


def test_a_scan_of_one_off_models_does_not_flush_the_popular_ones():
    """3 popular models in a cache of 4, then a scan of 20 one-offs, then the popular ones again."""
    trace = ["p1", "p2", "p3"] * 5 + [f"once{i}" for i in range(20)] + ["p1", "p2", "p3"] * 3
    sizes = {m: 1 for m in trace}
    _hits, misses = simulate("ours", trace, sizes, budget=4)
    assert misses == 3 + 20  # the popular ones stayed through the scan
    assert simulate("lru", trace, sizes, budget=4)[1] > misses


def test_small_popular_models_are_kept_over_a_large_one_when_hits_count():
    """Six small models asked often and a large one asked now and then, at random, in a budget that
    holds the large one and four small ones: ours gives the large one's room to the small ones."""
    rng = random.Random(0)
    sizes = {**{f"s{i}": MB for i in range(6)}, "large": 6 * MB}
    trace = rng.choices(list(sizes), weights=[15] * 6 + [10], k=2000)
    ours, lru = simulate("ours", trace, sizes, budget=10 * MB), simulate("lru", trace, sizes, budget=10 * MB)
    assert ours[0] > lru[0] + 40


def test_the_allocator_maps_large_blocks_on_their_own(monkeypatch):
    from api_inference_community.runtime import memory

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert memory.configure_allocator() is False  # the operator's own setting is kept
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    if memory._LIBC is None or not hasattr(memory._LIBC, "mallopt"):
        pytest.skip("not glibc")
    assert memory.configure_allocator() is True
