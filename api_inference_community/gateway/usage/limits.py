"""Per-caller limits: requests per minute and requests in flight, in this gateway process's memory.

The rate is a generic cell rate algorithm: a caller allowed N requests per minute may send a burst
of N, then one more every 60/N seconds as the burst refills; a refused request learns exactly when
the next one would pass (`Retry-After`). The count in flight rises when a request is admitted and
falls when its answer has been sent. Limits of 0 mean none.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Dict, Hashable

from ...errors import APIError

MAX_IDLE_KEYS = 10_000  # callers remembered before the idle ones are forgotten


class RateLimited(APIError):
    """A caller went past its limits (429 with Retry-After)."""

    status_code = 429

    def __init__(self, message: str, retry_after: float, limit: str) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})
        self.limit = limit  # "rate" or "concurrency"


@dataclass(frozen=True)
class Limit:
    per_minute: int = 0
    concurrency: int = 0


@dataclass
class _State:
    tat: float = 0.0  # the theoretical arrival time of the next request (GCRA)
    in_flight: int = 0


class Slot:
    """A request's place in its caller's count in flight, given back once (`release`)."""

    __slots__ = ("_limiter", "_key", "_held")

    def __init__(self, limiter: Limiter, key: Hashable) -> None:
        self._limiter, self._key, self._held = limiter, key, True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._limiter._release(self._key)


class Limiter:
    """The limits of every caller of this process, by key (a token id, or an anonymous address)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._states: Dict[Hashable, _State] = {}

    def acquire(self, key: Hashable, limit: Limit) -> Slot:
        """Admit one request of `key` under `limit`, or raise RateLimited."""
        state = self._states.get(key)
        if state is None:
            if len(self._states) >= MAX_IDLE_KEYS:
                self._forget_idle()
            state = self._states[key] = _State()
        if limit.concurrency and state.in_flight >= limit.concurrency:
            raise RateLimited(
                f"Too many requests in flight: the limit is {limit.concurrency} at a time", 1.0, "concurrency"
            )
        if limit.per_minute:
            now = self.clock()
            interval = 60.0 / limit.per_minute
            tat = max(state.tat, now)
            wait = tat - now - (60.0 - interval)
            if wait > 0:
                raise RateLimited(f"Rate limit exceeded: {limit.per_minute} requests per minute", wait, "rate")
            state.tat = tat + interval
        state.in_flight += 1
        return Slot(self, key)

    def in_flight(self, key: Hashable) -> int:
        state = self._states.get(key)
        return state.in_flight if state else 0

    def _release(self, key: Hashable) -> None:
        state = self._states.get(key)
        if state is not None and state.in_flight > 0:
            state.in_flight -= 1

    def _forget_idle(self) -> None:
        now = self.clock()
        for key in [key for key, state in self._states.items() if state.in_flight == 0 and state.tat <= now]:
            del self._states[key]
