"""The queue of one model and how a batch is formed from it.

Jobs wait in arrival order, at most MAX_QUEUE_SIZE of them (beyond, a new job is refused: 503;
the memory of their decoded inputs is bounded when they are admitted, `admission`). A job whose
client left or whose deadline passed leaves the queue at once (`discard`). The worker takes
the oldest job and, when batching, every queued job with the same parameters that still fits in
`max_items`; a job larger than `max_items` is always taken alone (the engine splits it).
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Deque, List

from ..errors import Overloaded
from .jobs import Job


class JobQueue:
    """A bounded FIFO of jobs shared by the event loop (producer) and one worker thread.

    Every method but `__len__` must be called with `cond` held.
    """

    def __init__(self, max_jobs: int) -> None:
        self.cond = threading.Condition()
        self.max_jobs = max_jobs
        self._jobs: Deque[Job] = collections.deque()

    def __len__(self) -> int:
        return len(self._jobs)

    def put(self, job: Job) -> None:
        """Queue a job and wake the worker; Overloaded (503) when the queue is full."""
        if len(self._jobs) >= self.max_jobs:
            raise Overloaded(f"Too many requests are waiting ({len(self._jobs)}); retry later")
        self._jobs.append(job)
        self.cond.notify()

    def discard(self, job: Job) -> bool:
        """Take a job out of the queue (its client left or timed out); False if it was not queued."""
        try:
            self._jobs.remove(job)
        except ValueError:
            return False
        return True

    def drain(self) -> List[Job]:
        """Remove and return every queued job."""
        jobs, self._jobs = list(self._jobs), collections.deque()
        return jobs

    def items(self) -> int:
        """Items waiting (a job holding a list counts as that many)."""
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
        if not batching or items >= max_items:
            return batch
        kept: Deque[Job] = collections.deque()
        while jobs:
            job = jobs.popleft()
            if job.abandoned or job.deadline <= now:
                job.abandoned = True
            elif job.batch_key == head.batch_key and items + job.items <= max_items:
                batch.append(job)
                items += job.items
            else:
                kept.append(job)
        self._jobs = kept
        return batch
