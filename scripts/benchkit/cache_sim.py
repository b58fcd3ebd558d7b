"""Eviction policies replayed on a request trace, with each model's measured size and the same budget:

- `ours`: the core's policy (`runtime/cache_policy.plan_eviction`: scan-resistant LRU-2, minimum
  residency), at the times the live server saw the requests;
- `lru`: plain least-recently-used (`cache_policy.lru_plan`);
- `freq-size`: a candidate for the core, simulated only: the same guards and the same one-off
  models first, then the lowest (request frequency / size), the frequency an exponentially decayed
  request count (half-life `half_life` seconds): popular small models stay, large rarely used ones go;
- `belady`: Belady's MIN, the offline reference: on a miss, unload the models whose next request
  is furthest away (never again first) until the newcomer fits. Every miss loads its model (a
  server must load a model to answer it), so no policy can skip one. With unequal sizes MIN is
  the classical offline reference, not a proven optimum (that problem is NP-hard); with equal
  sizes it is optimal.

One request = one lookup; a miss loads the model after the evictions it needs. A model larger
than the whole budget is never loaded (every request of it is a miss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

POLICIES = ("ours", "lru", "freq-size", "belady")


@dataclass
class Replay:
    """What one policy did on the trace."""

    policy: str
    hits: int = 0
    misses: int = 0
    refused: int = 0  # misses the policy could not make room for (the live server answers 503)
    evictions: int = 0
    peak_bytes: int = 0

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
    half_life: float = 120.0,
) -> Replay:
    """Replay `trace` under `policy` with `sizes` (bytes per model) and `budget` bytes.

    `times`: when each request arrived (seconds; the request's index by default), for the minimum
    residency and the decay of `freq-size`'s frequencies.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; known: {', '.join(POLICIES)}")
    from api_inference_community.runtime.cache_policy import History, Resident, lru_plan, plan_eviction

    clock = list(times) if times is not None else [float(i) for i in range(len(trace))]
    following = next_uses(trace) if policy == "belady" else []
    loaded: Dict[str, float] = {}  # model -> loaded at
    next_request: Dict[str, float] = {}  # belady: model -> index of its next request
    history, last_use = History(), {}
    frequency = DecayedFrequency(half_life)
    result = Replay(policy)
    for index, model in enumerate(trace):
        now = clock[index]
        if model in loaded:
            result.hits += 1
        else:
            result.misses += 1
            size = sizes[model]
            if size > budget:
                victims: Optional[List[str]] = None
            elif policy == "belady":
                victims = _furthest(loaded, next_request, sizes, needed=size, budget=budget)
            elif policy == "freq-size":
                victims = _least_frequent_per_byte(
                    loaded, history, frequency, sizes, now, needed=size, budget=budget, min_residency=min_residency
                )
            else:
                residents = [Resident(m, sizes[m], at) for m, at in loaded.items()]
                if policy == "ours":
                    victims = plan_eviction(
                        residents, history, now, needed=size, budget=budget, min_residency=min_residency
                    )
                else:
                    victims = lru_plan(residents, last_use, needed=size, budget=budget)
            if victims is None:
                result.refused += 1
            else:
                for victim in victims:
                    del loaded[victim]
                    next_request.pop(victim, None)
                result.evictions += len(victims)
                loaded[model] = now
        history.record(model, now)
        frequency.record(model, now)
        last_use[model] = now
        if policy == "belady" and model in loaded:
            next_request[model] = following[index]
        result.peak_bytes = max(result.peak_bytes, sum(sizes[m] for m in loaded))
    return result


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


class DecayedFrequency:
    """Each model's request count, decayed by half every `half_life` seconds."""

    def __init__(self, half_life: float) -> None:
        self.half_life = half_life
        self._counts: Dict[str, Tuple[float, float]] = {}  # model -> (count, at)

    def record(self, model: str, now: float) -> None:
        self._counts[model] = (self.value(model, now) + 1.0, now)

    def value(self, model: str, now: float) -> float:
        count, at = self._counts.get(model, (0.0, now))
        return count * 0.5 ** ((now - at) / self.half_life)


def _least_frequent_per_byte(
    loaded: Mapping[str, float],
    history: Any,
    frequency: DecayedFrequency,
    sizes: Mapping[str, int],
    now: float,
    needed: int,
    budget: int,
    min_residency: float,
) -> Optional[List[str]]:
    """`freq-size`: one-off models first (least recent first), then the lowest frequency per byte,
    never a model used more than once and loaded less than `min_residency` seconds ago."""
    candidates = []
    for model, loaded_at in loaded.items():
        uses = history.uses(model)
        if len(uses) < 2:
            candidates.append(((0, uses[-1] if uses else -math.inf), model))
        elif now - loaded_at >= min_residency:
            candidates.append(((1, frequency.value(model, now) / max(sizes[model], 1)), model))
    used = sum(sizes[m] for m in loaded)
    victims = []
    for _key, model in sorted(candidates):
        if used + needed <= budget:
            break
        victims.append(model)
        used -= sizes[model]
    return victims if used + needed <= budget else None


def replay_all(
    trace: Sequence[str],
    sizes: Mapping[str, int],
    budget: int,
    times: Optional[Sequence[float]] = None,
    min_residency: float = 0.0,
    half_life: float = 120.0,
) -> Dict[str, Replay]:
    """Every policy on the same trace, sizes and budget."""
    return {policy: replay(policy, trace, sizes, budget, times, min_residency, half_life) for policy in POLICIES}
