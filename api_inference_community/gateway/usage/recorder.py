"""The usage recorder: a bounded buffer in front of one writer thread.

`add` never waits and never wakes the writer for one record: a record is appended to the buffer,
or, when the buffer is full (the database is slower than the traffic, or down), it is dropped and
counted (`aic_gateway_usage_records_total{outcome="dropped"}`, and a warning at most every 10 s).
The writer thread wakes every GATEWAY_USAGE_FLUSH_INTERVAL seconds, or as soon as a batch's worth
(GATEWAY_USAGE_BATCH records) waits, and writes batches in one transaction each; a failed write is
tried again with a growing pause, the batch kept. Once a period it also deletes the raw rows past
their retention. `stop` (the gateway's shutdown) writes everything still buffered before it
returns, trying until its deadline.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Callable, Deque, List, Optional

from .metrics import UsageMetrics
from .records import UsageRecord

logger = logging.getLogger(__name__)

DROP_WARNING_EVERY_S = 10.0
RETRY_PAUSES_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


class Recorder:
    """Buffers usage records and writes them in batches from its own thread."""

    def __init__(
        self,
        write: Callable[[List[UsageRecord]], None],
        metrics: UsageMetrics,
        capacity: int = 10_000,
        batch: int = 500,
        interval_s: float = 1.0,
        expire: Optional[Callable[[], int]] = None,
        expire_every_s: float = 3600.0,
    ) -> None:
        self.write = write
        self.metrics = metrics
        self.capacity = capacity
        self.batch = batch
        self.interval_s = interval_s
        self.expire = expire
        self.expire_every_s = expire_every_s
        self._buffer: Deque[UsageRecord] = collections.deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._deadline = float("inf")
        self._thread: Optional[threading.Thread] = None
        self._added = 0  # records accepted so far
        self._settled = 0  # of them, written or given up (lost)
        self._settled_changed = threading.Condition()
        self._last_drop_warning = float("-inf")
        self._dropped_since_warning = 0
        metrics.watch_buffer(lambda: len(self._buffer))

    # ------------------------------------------------------------------ the request side

    def add(self, record: UsageRecord) -> bool:
        """Buffer one record; False (counted) when the buffer is full."""
        if len(self._buffer) >= self.capacity:
            self._dropped(1)
            return False
        self._buffer.append(record)
        self._added += 1
        if len(self._buffer) == self.batch:
            self._wake.set()
        return True

    def _dropped(self, count: int) -> None:
        self.metrics.records.labels(outcome="dropped").inc(count)
        self._dropped_since_warning += count
        now = time.monotonic()
        if now - self._last_drop_warning >= DROP_WARNING_EVERY_S:
            logger.warning(
                "The usage buffer is full (%d records): %d usage records dropped",
                self.capacity,
                self._dropped_since_warning,
            )
            self._last_drop_warning, self._dropped_since_warning = now, 0

    def drained(self, timeout: float = 30.0) -> bool:
        """Wait until every record added so far is written (or given up at stop); False on timeout."""
        target = self._added
        self._wake.set()
        deadline = time.monotonic() + timeout
        with self._settled_changed:
            while self._settled < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._settled_changed.wait(remaining)
        return True

    # ------------------------------------------------------------------ the writer

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="usage-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is buffered (trying until `timeout`), then end the writer thread."""
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout + 5)

    def _run(self) -> None:
        next_expiry = time.monotonic()
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            while self._buffer:
                batch = self._take()
                outcome = self._write(batch)
                with self._settled_changed:
                    self._settled += len(batch)
                    self._settled_changed.notify_all()
                if outcome is False:
                    break
            if self._stopping.is_set():
                if not self._buffer or time.monotonic() >= self._deadline:
                    self._give_up()
                    return
                continue
            if self.expire is not None and time.monotonic() >= next_expiry:
                next_expiry = time.monotonic() + self.expire_every_s
                self._expire()

    def _take(self) -> List[UsageRecord]:
        batch: List[UsageRecord] = []
        while self._buffer and len(batch) < self.batch:
            batch.append(self._buffer.popleft())
        return batch

    def _write(self, batch: List[UsageRecord]) -> bool:
        """Write a batch, trying again while it fails (at shutdown, until the deadline); False if given up."""
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                self.write(batch)
            except Exception as error:
                self.metrics.write_failures.inc()
                pause = RETRY_PAUSES_S[min(attempt, len(RETRY_PAUSES_S) - 1)]
                attempt += 1
                if self._stopping.is_set() and time.monotonic() + pause > self._deadline:
                    self.metrics.records.labels(outcome="lost").inc(len(batch))
                    logger.error("%d usage records could not be written before shutdown: %s", len(batch), error)
                    return False
                logger.warning("Writing %d usage records failed (tried again in %.2g s): %s", len(batch), pause, error)
                time.sleep(pause)
                continue
            self.metrics.write_seconds.observe(time.perf_counter() - started)
            self.metrics.records.labels(outcome="written").inc(len(batch))
            return True

    def _give_up(self) -> None:
        """At shutdown, past the deadline: what is still buffered is counted as lost."""
        left = self._take_all()
        if left:
            self.metrics.records.labels(outcome="lost").inc(len(left))
            logger.error("%d usage records could not be written before shutdown", len(left))
        with self._settled_changed:
            self._settled += len(left)
            self._settled_changed.notify_all()

    def _take_all(self) -> List[UsageRecord]:
        left: List[UsageRecord] = []
        while self._buffer:
            left.append(self._buffer.popleft())
        return left

    def _expire(self) -> None:
        assert self.expire is not None
        try:
            deleted = self.expire()
        except Exception as error:
            logger.warning("Deleting expired usage rows failed: %s", error)
            return
        if deleted:
            self.metrics.expired.inc(deleted)
            logger.info("Deleted %d usage rows past their retention", deleted)
