"""A measuring companion in its own forked process: it runs until told to stop, then hands back its records.

Forked (not spawned) so that it starts at once with the data its parent prepared; fork it before
the parent starts an asyncio loop.
"""

from __future__ import annotations

import multiprocessing
from typing import Any, Callable


def _run(target: Callable[..., Any], args: tuple, stop: Any, pipe: Any) -> None:
    pipe.send(target(stop, *args))
    pipe.close()


class Forked:
    """`target(stop, *args)` in a forked process; `stop` is an Event it must poll. `stop()` returns its result."""

    def __init__(self, target: Callable[..., Any], *args: Any) -> None:
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_run, args=(target, args, self._stop, sender), daemon=True)
        self._process.start()
        sender.close()

    def stop(self, default: Any = None, timeout: float = 30.0) -> Any:
        """Tell it to stop; its result (or `default` if it gave none within `timeout` seconds)."""
        self._stop.set()
        result = self._receiver.recv() if self._receiver.poll(timeout) else default
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
        return result
