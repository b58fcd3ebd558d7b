"""Model affinity: requests for one model go to the replica that holds it warm (rendezvous hashing).

Each (model, replica) pair gets a score; a model's replicas, best first, are the replicas sorted by
score. So each replica's cache holds a different part of the working set, and when a replica goes
away only its models move (to their next best). A model busier than one replica spills over to
its second choice.
"""

from __future__ import annotations

import hashlib
from typing import Callable, List, Optional, Sequence, TypeVar

R = TypeVar("R")


def score(model_id: str, replica_id: str) -> int:
    digest = hashlib.blake2b(f"{model_id}\x00{replica_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def ranked(model_id: str, replicas: Sequence[R], replica_id: Callable[[R], str]) -> List[R]:
    """`replicas`, the best for `model_id` first."""
    return sorted(replicas, key=lambda replica: score(model_id, replica_id(replica)), reverse=True)


def choose(
    model_id: str,
    replicas: Sequence[R],
    replica_id: Callable[[R], str],
    in_flight: Callable[[R], int],
    spill_at: int,
) -> Optional[R]:
    """The replica for a request of `model_id`: its best, unless that one already has `spill_at` requests
    in flight and the second best has fewer (the model's traffic then spreads over two replicas)."""
    order = ranked(model_id, replicas, replica_id)
    if not order:
        return None
    first = order[0]
    if len(order) > 1 and in_flight(first) >= spill_at and in_flight(order[1]) < in_flight(first):
        return order[1]
    return first
