"""A model as its page shows it: the gateway's serving decision, in words, and whether it is loaded.

The decision is the gateway's own (`hub.availability.decide` over the card the router reads, as
`Router.route` makes it), so the page refuses exactly what the inference route refuses, with the
same status: an unknown model 404, `inference: false` 403, a task no library serves 400.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional, Tuple

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ...errors import APIError, InvalidInput, ModelTurnedOff, NotFound, NotServed
from ...hub.availability import decide
from ...tasks.registry import SHARED_INPUT_TASKS, TASKS
from .cards import CardDetails, card_details

if TYPE_CHECKING:
    from ..app import Gateway

StatusRoute = Callable[[Request], Awaitable[Response]]  # the gateway's GET /status/{id} handler

# why a model is not served, as the page names it
UNKNOWN, INVALID, TURNED_OFF, UNSUPPORTED = "unknown", "invalid", "turned-off", "unsupported"


@dataclass(frozen=True)
class State:
    """Whether a served model answers now: loaded, loadable, starting, stopped or error."""

    name: str
    words: str
    estimated_time: Optional[float] = None


@dataclass(frozen=True)
class ModelView:
    """What the model page shows."""

    model_id: str
    served: bool
    reason: str  # the decision, in words
    status_code: int = 200
    refusal: Optional[str] = None  # UNKNOWN, INVALID, TURNED_OFF or UNSUPPORTED when not served
    library: Optional[str] = None
    task: Optional[str] = None
    card_task: Optional[str] = None  # the card's pipeline_tag (the page's default task)
    details: CardDetails = field(default_factory=CardDetails)
    state: Optional[State] = None
    also: Tuple[str, ...] = ()  # other tasks its library serves it for at its URL (embeddings: both)

    @property
    def title(self) -> str:
        return self.details.title or self.model_id


def refused(model_id: str, error: APIError, refusal: str, **known: Any) -> ModelView:
    return ModelView(model_id, False, str(error.message), error.status_code, refusal, **known)


async def describe(gateway: Gateway, model_id: str, task: Optional[str]) -> ModelView:
    """The decision for `model_id` (and an explicit `task`), without its serving state."""
    try:
        source = await gateway.router.sources.get(model_id)
    except NotFound as error:
        return refused(model_id, error, UNKNOWN)
    except InvalidInput as error:
        return refused(model_id, error, INVALID)
    if task is not None and task not in TASKS:
        return refused(model_id, NotServed(f"Unknown task `{task[:100]}`"), UNSUPPORTED)
    details = await asyncio.to_thread(card_details, source.local_dir)
    decision = decide(source.card, gateway.router.libraries, task=task)
    known: Dict[str, Any] = {
        "library": decision.library,
        "task": decision.task,
        "card_task": source.card.pipeline_tag,
        "details": details,
    }
    if not decision.served:
        message = f"Model {model_id} cannot be served: {decision.reason}"
        if not source.card.inference:
            return refused(model_id, ModelTurnedOff(message), TURNED_OFF, **known)
        return refused(model_id, NotServed(message), UNSUPPORTED, **known)
    card_task = source.card.pipeline_tag or ""
    served_tasks = gateway.router.libraries.get(decision.library or "", ())
    also = tuple(
        t for t in (card_task, SHARED_INPUT_TASKS.get(card_task)) if t and t in served_tasks and t != decision.task
    )
    words = f"Served by the `{decision.library}` image for `{decision.task}`."
    return ModelView(model_id, True, words, also=also, **known)


async def serving_state(gateway: Gateway, view: ModelView, request: Request, status: StatusRoute) -> State:
    """Whether the served model is loaded: the pool's state, then its replica's answer to `/status/{id}`."""
    assert view.library is not None
    pool = gateway.pools[view.library]
    if not pool.healthy:
        seconds = pool.estimated_time()
        if pool.desired == 0:
            words = f"The {view.library} servers are stopped: the first request starts them (about {seconds:.0f} s)."
            return State("stopped", words, seconds)
        return State("starting", f"The {view.library} servers are starting: about {seconds:.0f} s.", seconds)
    try:
        answer = orjson.loads((await status(request)).body)
    except (orjson.JSONDecodeError, APIError):
        answer = {}
    state = answer.get("state") if isinstance(answer, dict) else None
    if state == "Loaded":
        return State("loaded", "Loaded: it answers at once.")
    if state in ("Error", "TooBig"):
        return State("error", str(answer.get("error") or "It cannot be loaded: too large for the servers' memory."))
    return State("loadable", "Not loaded yet: the first request loads it (the widget waits for it).")
