"""Admission control: memory held by requests at once, and the threads that decode them.

Two budgets: the request bodies being read (BODY_MEMORY_BUDGET) and the decoded inputs (images,
audio) from decoding until the answer (QUEUE_MEMORY_BUDGET; an image is counted from its header,
before it is decoded). A request that would pass a budget is refused at once (503 with
Retry-After), never made to wait holding memory. Decoding runs on DECODE_WORKERS threads.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator, Optional, TypeVar

import anyio

from ..errors import Overloaded
from .threads import available_cpus

T = TypeVar("T")


class MemoryBudget:
    """Bytes that requests may hold at once; `reserve` refuses rather than wait."""

    def __init__(self, capacity: int, what: str) -> None:
        self.capacity = capacity
        self.what = what
        self.used = 0
        self._lock = threading.Lock()

    def reserve(self, nbytes: int, alone_ok: bool = False) -> None:
        """Take `nbytes` of the budget; Overloaded (503) if it is not there.

        `alone_ok`: a request larger than the whole budget still passes when nothing else holds any
        (its own limits, e.g. MAX_IMAGE_BYTES, bound it).
        """
        with self._lock:
            if self.used + nbytes > self.capacity and not (alone_ok and self.used == 0):
                raise Overloaded(f"Too much {self.what} is being processed at once; retry later")
            self.used += nbytes

    def release(self, nbytes: int) -> None:
        with self._lock:
            self.used = max(0, self.used - nbytes)

    @contextlib.contextmanager
    def holding(self) -> Iterator[Reservation]:
        """A reservation that grows and shrinks with what a request holds, released when the block ends."""
        reservation = Reservation(self)
        try:
            yield reservation
        finally:
            self.release(reservation.nbytes)


class Reservation:
    """What one request holds of a budget."""

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.nbytes = 0

    def set(self, nbytes: int) -> None:
        """Hold `nbytes` now (more is reserved, refusing with 503 when it is not there; less is released)."""
        if nbytes > self.nbytes:
            self.budget.reserve(nbytes - self.nbytes, alone_ok=self.nbytes == 0)
        else:
            self.budget.release(self.nbytes - nbytes)
        self.nbytes = nbytes


class DecodePool:
    """The threads that parse, validate and decode request bodies, and encode media answers."""

    def __init__(self, workers: Optional[int] = None) -> None:
        self.workers = workers or available_cpus()
        self._limiter: Optional[anyio.CapacityLimiter] = None

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` in one of the pool's threads (waiting for a free one)."""
        if self._limiter is None:  # created on the running loop, on first use
            self._limiter = anyio.CapacityLimiter(self.workers)
        return await anyio.to_thread.run_sync(function, *args, limiter=self._limiter)
