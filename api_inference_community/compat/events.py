"""Startup and shutdown hooks for apps written against Starlette < 1.0.

Upstream library apps register their startup hook with `@app.on_event("startup")`, which
Starlette 1.0 removed. `install_event_handlers()` (run when `api_inference_community.routes` is
imported, as every upstream app does) gives `Starlette` its `on_event` and `add_event_handler`
back, implemented on top of the lifespan, so such apps run unchanged.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from typing import Any, AsyncIterator, Callable, Dict, List

from starlette.applications import Starlette

EVENTS = ("startup", "shutdown")


async def _run_handlers(handlers: List[Callable[[], Any]]) -> None:
    for handler in handlers:
        result = handler()
        if inspect.isawaitable(result):
            await result


def _add_event_handler(self: Starlette, event_type: str, func: Callable[[], Any]) -> None:
    if event_type not in EVENTS:
        raise ValueError(f"Unknown event `{event_type}`; use one of {EVENTS}")
    handlers: Dict[str, List[Callable[[], Any]]] = self.__dict__.setdefault("_event_handlers", {})
    if not handlers:
        handlers.update({name: [] for name in EVENTS})
        original = self.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            await _run_handlers(handlers["startup"])
            async with original(app) as state:
                yield state
            await _run_handlers(handlers["shutdown"])

        self.router.lifespan_context = lifespan
    handlers[event_type].append(func)


def _on_event(self: Starlette, event_type: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    warnings.warn(
        "app.on_event is deprecated; build the app with api_inference_community.create_app",
        DeprecationWarning,
        stacklevel=2,
    )

    def decorator(func: Callable[[], Any]) -> Callable[[], Any]:
        _add_event_handler(self, event_type, func)
        return func

    return decorator


def add_shutdown_handler(app: Starlette, func: Callable[[], Any]) -> bool:
    """Run `func` when `app` shuts down, if it registered event handlers (False otherwise).

    Safe while the app runs: the lifespan reads the shutdown handlers only when it ends.
    """
    handlers: Dict[str, List[Callable[[], Any]]] = app.__dict__.get("_event_handlers", {})
    if not handlers:
        return False
    handlers["shutdown"].append(func)
    return True


def install_event_handlers() -> None:
    """Give Starlette back `on_event`/`add_event_handler` where it no longer has them."""
    if not hasattr(Starlette, "on_event"):
        Starlette.on_event = _on_event  # type: ignore[attr-defined]
    if not hasattr(Starlette, "add_event_handler"):
        Starlette.add_event_handler = _add_event_handler  # type: ignore[attr-defined]
