"""Which loaded models to unload when a new one needs room: the eviction policy, pure and testable.

The policy is LRU-2 made scan resistant, with the guards of a model server:
- never a model with queued or running requests, never a pinned one;
- never a model loaded less than `min_residency` seconds ago, unless it was used only once
  (churn protection for models that are really in use, not for one-off visits);
- among the others, models used only once (cold one-off visits, a scan) go first, least recently
  used first; then the rest by their second-to-last use, oldest first (LRU-2: a model used twice
  recently outranks one used once, however recent).
The history of uses outlives an unload (`History`, bounded), so a popular model that comes back
is recognized at once.

`plan_eviction` answers which models to unload for `needed` bytes (and a model-count bound), or
None when no admissible choice frees enough: the caller then refuses the load (503).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Deque, Dict, Iterable, List, Optional, Sequence, Tuple

HISTORY_PER_MODEL = 2  # LRU-2 keeps the last two uses


@dataclass(frozen=True)
class Resident:
    """What the policy knows of one loaded model."""

    model_id: str
    nbytes: int
    loaded_at: float
    busy: bool = False  # queued or running requests
    pinned: bool = False


class History:
    """The last uses of each model seen, loaded or not (bounded: the oldest-used models are forgotten)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._uses: collections.OrderedDict[str, Deque[float]] = collections.OrderedDict()

    def record(self, model_id: str, now: float) -> None:
        uses = self._uses.pop(model_id, None) or collections.deque(maxlen=HISTORY_PER_MODEL)
        uses.append(now)
        self._uses[model_id] = uses
        while len(self._uses) > self.capacity:
            self._uses.popitem(last=False)

    def uses(self, model_id: str) -> Tuple[float, ...]:
        return tuple(self._uses.get(model_id, ()))

    def last_use(self, model_id: str) -> float:
        uses = self._uses.get(model_id)
        return uses[-1] if uses else float("-inf")


def eviction_order(residents: Iterable[Resident], history: History, now: float, min_residency: float) -> List[Resident]:
    """The models that may be unloaded now, the first to go first."""
    candidates = []
    for resident in residents:
        if resident.busy or resident.pinned:
            continue
        uses = history.uses(resident.model_id)
        once = len(uses) < 2
        if not once and now - resident.loaded_at < min_residency:
            continue
        last = uses[-1] if uses else float("-inf")
        penultimate = uses[-2] if len(uses) >= 2 else float("-inf")
        candidates.append(((0, last) if once else (1, penultimate), resident))
    candidates.sort(key=lambda pair: pair[0])
    return [resident for _key, resident in candidates]


def plan_eviction(
    residents: Sequence[Resident],
    history: History,
    now: float,
    *,
    needed: int,
    budget: int,
    min_residency: float = 0.0,
    max_models: Optional[int] = None,
) -> Optional[List[str]]:
    """The models to unload so that `needed` more bytes (and one more model) fit; None if impossible.

    Evicts only what room requires: nothing at all when the newcomer fits as things are.
    """
    used = sum(resident.nbytes for resident in residents)
    count = len(residents)
    victims: List[str] = []
    order = iter(eviction_order(residents, history, now, min_residency))
    while used + needed > budget or (max_models is not None and count + 1 > max_models):
        victim = next(order, None)
        if victim is None:
            return None
        victims.append(victim.model_id)
        used -= victim.nbytes
        count -= 1
    return victims


def best_effort_eviction(
    residents: Sequence[Resident], history: History, now: float, needed: int, budget: int
) -> List[str]:
    """When no admissible plan frees enough (a model larger than its estimate is already in):
    unload what may be unloaded, ignoring the minimum residency, until it fits or nothing is left."""
    used = sum(resident.nbytes for resident in residents)
    victims = []
    for resident in eviction_order(residents, history, now, min_residency=0.0):
        if used + needed <= budget:
            break
        victims.append(resident.model_id)
        used -= resident.nbytes
    return victims


def lru_plan(
    residents: Sequence[Resident], last_use: Dict[str, float], *, needed: int, budget: int
) -> Optional[List[str]]:
    """Plain LRU with the same guards (busy, pinned), for comparison in the cache benchmark."""
    used = sum(resident.nbytes for resident in residents)
    victims = []
    for resident in sorted(residents, key=lambda r: last_use.get(r.model_id, float("-inf"))):
        if used + needed <= budget:
            break
        if resident.busy or resident.pinned:
            continue
        victims.append(resident.model_id)
        used -= resident.nbytes
    return victims if used + needed <= budget else None
