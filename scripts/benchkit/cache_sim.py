"""Eviction policies replayed on a request trace, with each model's measured size and the same budget:

- `ours`: the core's policy (`runtime/cache_policy.plan_eviction`: scan-resistant GreedyDual-Size-
  Frequency, minimum residency), at the times the live server saw the requests; a miss whose
  victims are within their residency waits for it to end (as the server does), then loads;
- `ours-no-residency`: the same with `MIN_RESIDENCY=0`: what the churn protection costs;
- `lru`: plain least-recently-used (`cache_policy.lru_plan`);
- `lru-2`: the scan-resistant LRU-2 the core used before (one-off models first, then the oldest
  second-to-last use), with the same residency wait;
- `belady`: Belady's MIN, the offline reference: on a miss, unload the models whose next request
  is furthest away (never again first) until the newcomer fits. Every miss loads its model (a
  server must load a model to answer it), so no policy can skip one. With unequal sizes MIN is
  the classical offline reference, not a proven optimum (that problem is NP-hard; a size-aware
  online policy can beat it on hit ratio); with equal sizes it is optimal.

One request = one lookup; a miss loads the model after the evictions it needs. A model larger
than the whole budget is never loaded (every request of it is a miss).

`times` are when the requests were sent: live times already include the server's residency
waits; for synthetic times (`shift_waits=True`) a wait delays every later request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple

if TYPE_CHECKING:  # the core is imported when a replay runs, not with the package
    from api_inference_community.runtime.cache_policy import Bounds, History, Resident

POLICIES = ("ours", "ours-no-residency", "lru", "lru-2", "belady")


@dataclass
class Replay:
    """What one policy did on the trace."""

    policy: str
    hits: int = 0
    misses: int = 0
    refused: int = 0  # misses the policy could not make room for (the live server answers 503)
    evictions: int = 0
    peak_bytes: int = 0
    waits: int = 0  # misses that waited for a minimum residency to end
    waited_s: float = 0.0

    @property
    def hit_ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> Dict[str, object]:
        return {
            "policy": self.policy,
            "hits": self.hits,
            "misses": self.misses,
            "refused": self.refused,
            "evictions": self.evictions,
            "hit_ratio": self.hit_ratio,
            "peak_bytes": self.peak_bytes,
            "waits": self.waits,
            "waited_s": self.waited_s,
        }


def next_uses(trace: Sequence[str]) -> List[float]:
    """For each request, the index of the next request of the same model (inf: none)."""
    following: List[float] = [math.inf] * len(trace)
    seen: Dict[str, int] = {}
    for index in range(len(trace) - 1, -1, -1):
        following[index] = seen.get(trace[index], math.inf)
        seen[trace[index]] = index
    return following


def replay(
    policy: str,
    trace: Sequence[str],
    sizes: Mapping[str, int],
    budget: int,
    times: Optional[Sequence[float]] = None,
    min_residency: float = 0.0,
    shift_waits: bool = False,
) -> Replay:
    """Replay `trace` under `policy` with `sizes` (bytes per model) and `budget` bytes.

    `times`: when each request arrived (seconds; the request's index by default), for the minimum
    residency.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; known: {', '.join(POLICIES)}")
    from api_inference_community.runtime.cache_policy import (
        Bounds,
        History,
        Resident,
        lru_plan,
        plan_eviction,
        residency_wait,
    )

    clock = list(times) if times is not None else [float(i) for i in range(len(trace))]
    residency = 0.0 if policy == "ours-no-residency" else min_residency
    following = next_uses(trace) if policy == "belady" else []
    loaded: Dict[str, float] = {}  # model -> loaded at
    next_request: Dict[str, float] = {}  # belady: model -> index of its next request
    history, last_use = History(), {}
    delay = 0.0  # shift_waits: the waits so far
    result = Replay(policy)
    for index, model in enumerate(trace):
        arrived = now = clock[index] + delay
        if model in loaded:
            result.hits += 1
        else:
            result.misses += 1
            size = sizes[model]
            residents = [Resident(m, sizes[m], at) for m, at in loaded.items()]
            if size > budget:
                victims: Optional[List[str]] = None
            elif policy == "belady":
                victims = _furthest(loaded, next_request, sizes, needed=size, budget=budget)
            elif policy == "lru":
                victims = lru_plan(residents, last_use, needed=size, budget=budget)
            else:
                bounds = Bounds(size, budget, residency)
                if policy == "lru-2":
                    victims, wait = _lru2_plan(residents, history, now, bounds)
                else:
                    wait = residency_wait(residents, history, now, bounds) or 0.0
                if wait:  # the server waits for the residency to end, then unloads
                    result.waits += 1
                    result.waited_s += wait
                    now += wait
                    delay += wait if shift_waits else 0.0
                if policy != "lru-2":
                    victims = plan_eviction(residents, history, now + 1e-9, bounds)
                    chosen = set(victims or ())
                    history.evicted(r for r in residents if r.model_id in chosen)
            if victims is None:
                result.refused += 1
            else:
                for victim in victims:
                    del loaded[victim]
                    next_request.pop(victim, None)
                result.evictions += len(victims)
                loaded[model] = now
        history.record(model, arrived)
        last_use[model] = arrived
        if policy == "belady" and model in loaded:
            next_request[model] = following[index]
        result.peak_bytes = max(result.peak_bytes, sum(sizes[m] for m in loaded))
    return result


def _lru2_plan(
    residents: Sequence[Resident], history: History, now: float, bounds: Bounds
) -> Tuple[Optional[List[str]], float]:
    """`lru-2`: one-off models first (least recently used first), then the oldest second-to-last
    use; the victims, and the seconds to wait for their minimum residency to end."""

    def rank(resident: Resident) -> Tuple[int, float]:
        uses = history.uses(resident.model_id)
        return (0, uses.last) if uses.count < 2 else (1, uses.previous)

    used = sum(r.nbytes for r in residents)
    victims, wait = [], 0.0
    for resident in sorted(residents, key=rank):
        if used + bounds.needed <= bounds.budget:
            break
        victims.append(resident.model_id)
        used -= resident.nbytes
        if history.uses(resident.model_id).count >= 2:
            wait = max(wait, resident.loaded_at + bounds.min_residency - now)
    if used + bounds.needed > bounds.budget:
        return None, 0.0
    return victims, wait


def _furthest(
    loaded: Mapping[str, float], next_request: Mapping[str, float], sizes: Mapping[str, int], needed: int, budget: int
) -> List[str]:
    """Belady: the loaded models to unload, furthest next request first, until `needed` bytes fit."""
    used = sum(sizes[m] for m in loaded)
    victims = []
    for model in sorted(loaded, key=lambda m: next_request.get(m, math.inf), reverse=True):
        if used + needed <= budget:
            break
        victims.append(model)
        used -= sizes[model]
    return victims


def replay_all(
    trace: Sequence[str],
    sizes: Mapping[str, int],
    budget: int,
    times: Optional[Sequence[float]] = None,
    min_residency: float = 0.0,
    shift_waits: bool = False,
) -> Dict[str, Replay]:
    """Every policy on the same trace, sizes and budget."""
    return {policy: replay(policy, trace, sizes, budget, times, min_residency, shift_waits) for policy in POLICIES}
