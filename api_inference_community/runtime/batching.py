"""The queue of one model and how a batch is formed from it.

Jobs wait in arrival order. The worker takes the oldest live job and, when batching, every
queued job with the same parameters that still fits in `max_batch_size` items; jobs whose
client left or whose deadline passed are dropped on the way.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Deque, List

from .jobs import Job


class JobQueue:
    """A bounded FIFO of jobs shared by the event loop (producer) and one worker thread."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self._jobs: Deque[Job] = collections.deque()

    def __len__(self) -> int:
        return len(self._jobs)

    def append(self, job: Job) -> None:
        """Add a job and wake the worker; call with `cond` held."""
        self._jobs.append(job)
        self.cond.notify()

    def items(self) -> int:
        """Items waiting (a job holding a list counts as that many); call with `cond` held."""
        return sum(job.items for job in self._jobs)

    def take_batch(self, batching: bool, max_items: int) -> List[Job]:
        """Pop the oldest live job and, when batching, the queued jobs that match it."""
        now = time.monotonic()
        jobs = self._jobs
        while jobs and (jobs[0].abandoned or jobs[0].deadline <= now):
            jobs.popleft().abandoned = True
        if not jobs:
            return []
        head = jobs.popleft()
        batch, items = [head], head.items
        if not batching:
            return batch
        kept: Deque[Job] = collections.deque()
        while jobs:
            job = jobs.popleft()
            if job.abandoned or job.deadline <= now:
                continue
            if job.batch_key == head.batch_key and items + job.items <= max_items:
                batch.append(job)
                items += job.items
            else:
                kept.append(job)
        self._jobs = kept
        return batch
