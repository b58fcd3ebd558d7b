"""A job: one request waiting for the model, and how its outcome reaches the event loop."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple


@dataclass(eq=False)
class Job:
    """One request waiting for the model."""

    inputs: Any
    parameters: Dict[str, Any]
    batch_key: str
    items: int
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    enqueued_at: float
    deadline: float
    abandoned: bool = False  # the client left or the deadline passed: never run it (any more)

    def resolve(self, result: Any = None, error: Optional[BaseException] = None) -> None:
        """Set the outcome; call on the job's event loop."""
        if self.future.done():
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)

    def settle(self, result: Any = None, error: Optional[BaseException] = None) -> None:
        """Hand the outcome back to the event loop that waits for it (from any thread)."""
        settle_all([(self, result, error)])


Outcome = Tuple[Job, Any, Optional[BaseException]]


def settle_all(outcomes: List[Outcome]) -> None:
    """Settle several jobs with one wake-up of each event loop (not one per job)."""
    by_loop: Dict[asyncio.AbstractEventLoop, List[Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].loop, []).append(outcome)
    for loop, group in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve_group, group)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass


def _resolve_group(group: List[Outcome]) -> None:
    for job, result, error in group:
        job.resolve(result, error)


def batch_key(parameters: Dict[str, Any]) -> str:
    """Jobs batch together only when this key (their parameters) is equal."""
    return json.dumps(parameters, sort_keys=True, default=repr)
