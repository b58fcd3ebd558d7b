"""A pool's concurrency, time-averaged: what it held on average between two samples, not at one instant.

A request of 10 ms at one client is in flight 1 % of the time: sampling the count once a second
would see it as 0 or 1 at random; the time average sees 0.01. (Knative's queue proxy reports the
same average.)
"""

from __future__ import annotations

import time
from typing import Callable


class ConcurrencyMeter:
    """Counts what is held now (`change`) and integrates it over time (`average`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.current = 0
        self._since = clock()
        self._area = 0.0  # held x seconds since the last `average`
        self._last_change = self._since

    def change(self, delta: int) -> None:
        now = self.clock()
        self._area += self.current * (now - self._last_change)
        self._last_change = now
        self.current += delta

    def average(self) -> float:
        """The average held since the previous call (the current count if no time has passed)."""
        now = self.clock()
        area = self._area + self.current * (now - self._last_change)
        elapsed = now - self._since
        self._since = self._last_change = now
        self._area = 0.0
        return area / elapsed if elapsed > 0 else float(self.current)
