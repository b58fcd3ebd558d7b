"""Which loaded models to unload when a new one needs room: the eviction policy, pure and testable.

The policy is GreedyDual-Size-Frequency (GDSF) made scan resistant, with the guards of a model server:
- never a model with queued or running requests, never a pinned one;
- models used only once (cold one-off visits, a scan) go first, least recently used first: a scan
  of one-off models never flushes the models really in use;
- then the lowest priority first: `clock + uses / size` (uses over the model's whole history, size
  in MB), `clock` being the policy's clock when the model was last used. The clock rises to the
  priority of each model unloaded (`History.evicted`), so that what is used now outranks what was
  popular long ago (aging). Small, often used models stay; large, rarely used ones go.
- a model used more than once and loaded less than `min_residency` seconds ago is not unloaded
  yet (churn protection): the residency delays an eviction, it never changes which model goes.
  A plan that needs such a model waits until its residency is over (`residency_wait`).
The history of uses outlives an unload (`History`, bounded), so a popular model that comes back
is recognized at once.

`plan_eviction` answers which models to unload for `needed` bytes (and a model-count bound), or
None when that is not possible now: then `residency_wait` says in how many seconds it will be
(None: never by waiting, the caller refuses the load with 503).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

MB = 1_000_000  # the unit of sizes in the priorities


@dataclass(frozen=True)
class Resident:
    """What the policy knows of one loaded model."""

    model_id: str
    nbytes: int
    loaded_at: float
    busy: bool = False  # queued or running requests
    pinned: bool = False


@dataclass(frozen=True)
class Bounds:
    """What room an eviction must make: `needed` more bytes under `budget` (and one more model
    under `max_models`), with the minimum residency of the models that may go."""

    needed: int
    budget: int
    min_residency: float = 0.0
    max_models: Optional[int] = None


@dataclass
class Uses:
    """One model's uses: how many, the last two, and the policy's clock at the last one."""

    count: int = 0
    last: float = float("-inf")
    previous: float = float("-inf")
    clock: float = 0.0


class History:
    """The uses of each model seen, loaded or not (bounded: the least recently used models are
    forgotten), and the policy's clock (GDSF's inflation value, raised by each eviction)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.clock = 0.0
        self._uses: collections.OrderedDict[str, Uses] = collections.OrderedDict()

    def record(self, model_id: str, now: float) -> None:
        uses = self._uses.pop(model_id, None) or Uses()
        uses.count += 1
        uses.previous, uses.last = uses.last, now
        uses.clock = self.clock
        self._uses[model_id] = uses
        while len(self._uses) > self.capacity:
            self._uses.popitem(last=False)

    def uses(self, model_id: str) -> Uses:
        return self._uses.get(model_id) or Uses()

    def last_use(self, model_id: str) -> float:
        return self.uses(model_id).last

    def priority(self, model_id: str, nbytes: int) -> float:
        """GDSF's priority: the clock at the last use, plus uses per MB."""
        uses = self.uses(model_id)
        return uses.clock + uses.count / max(nbytes / MB, 1e-3)

    def evicted(self, victims: Iterable[Resident]) -> None:
        """Unloaded models raise the clock to their priority (one-off models leave it as it is)."""
        for victim in victims:
            if self.uses(victim.model_id).count >= 2:
                self.clock = max(self.clock, self.priority(victim.model_id, victim.nbytes))


def _rank(resident: Resident, history: History) -> Tuple[int, float]:
    uses = history.uses(resident.model_id)
    if uses.count < 2:
        return (0, uses.last)
    return (1, history.priority(resident.model_id, resident.nbytes))


def _young(resident: Resident, history: History, now: float, min_residency: float) -> bool:
    """Protected by the minimum residency: used more than once and loaded less than `min_residency` ago."""
    return history.uses(resident.model_id).count >= 2 and now - resident.loaded_at < min_residency


def eviction_order(residents: Iterable[Resident], history: History) -> List[Resident]:
    """The models that may ever be unloaded (not busy, not pinned), the first to go first."""
    candidates = [r for r in residents if not (r.busy or r.pinned)]
    return sorted(candidates, key=lambda resident: _rank(resident, history))


def _victims(residents: Sequence[Resident], history: History, bounds: Bounds) -> Optional[List[Resident]]:
    """The first models of the order that make room, whatever their residency; None if they cannot."""
    used = sum(resident.nbytes for resident in residents)
    count = len(residents)
    victims: List[Resident] = []
    order = iter(eviction_order(residents, history))
    max_models = bounds.max_models
    while used + bounds.needed > bounds.budget or (max_models is not None and count + 1 > max_models):
        victim = next(order, None)
        if victim is None:
            return None
        victims.append(victim)
        used -= victim.nbytes
        count -= 1
    return victims


def plan_eviction(residents: Sequence[Resident], history: History, now: float, bounds: Bounds) -> Optional[List[str]]:
    """The models to unload so that the newcomer fits (`bounds`); None if that is not possible now.

    Evicts only what room requires: nothing at all when the newcomer fits as things are.
    """
    victims = _victims(residents, history, bounds)
    if victims is None or any(_young(victim, history, now, bounds.min_residency) for victim in victims):
        return None
    return [victim.model_id for victim in victims]


def residency_wait(residents: Sequence[Resident], history: History, now: float, bounds: Bounds) -> Optional[float]:
    """Seconds until the models to unload are past their minimum residency (0: now); None when no
    choice of the models that may be unloaded frees enough (busy or pinned ones hold the room)."""
    victims = _victims(residents, history, bounds)
    if victims is None:
        return None
    residency = bounds.min_residency
    young = [v.loaded_at + residency - now for v in victims if _young(v, history, now, residency)]
    return max(young, default=0.0)


def best_effort_eviction(
    residents: Sequence[Resident], history: History, now: float, needed: int, budget: int
) -> List[str]:
    """When no admissible plan frees enough (a model larger than its estimate is already in):
    unload what may be unloaded, ignoring the minimum residency, until it fits or nothing is left."""
    used = sum(resident.nbytes for resident in residents)
    victims = []
    for resident in eviction_order(residents, history):
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
