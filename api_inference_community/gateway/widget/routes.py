"""The widget's routes, in front of the gateway's JSON answers at the same URLs.

- `GET /`: the index page for a browser (`Accept: text/html`), `{"ok": "ok"}` for any other client.
- `GET /models/{id}` (`?task=` for another task the model answers): the model's page for a browser,
  the model's status JSON (as `GET /status/{id}`) for any other client.
- `GET /widget/static/{name}`: the pages' script and style sheet.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Awaitable, Callable, Dict, List

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from ...errors import NotAcceptable
from ...http.negotiation import negotiate
from .assets import PREFIX, static_asset
from .catalog import local_models
from .login import login_state
from .pages import index_page, model_page
from .security import page_headers
from .status import describe, serving_state

if TYPE_CHECKING:
    from ..app import Gateway

Endpoint = Callable[[Request], Awaitable[Response]]
FORMATS = {"json": "application/json", "html": "text/html"}


def wants_html(request: Request) -> bool:
    """Whether the Accept header prefers HTML to JSON (a browser's does; curl's `*/*` does not)."""
    try:
        return negotiate(request.headers.get("accept"), FORMATS, "json") == "html"
    except NotAcceptable:
        return False


def pool_words(gateway: Gateway) -> Dict[str, str]:
    words = {}
    for library, pool in gateway.pools.items():
        if pool.desired == 0:
            words[library] = "stopped: the first request starts them"
        else:
            words[library] = f"{len(pool.healthy)} of {pool.desired} ready"
    return words


def routes(json_index: Endpoint, json_model_status: Endpoint) -> List[BaseRoute]:
    """The widget's routes; `json_index` and `json_model_status` answer the clients that do not ask for HTML."""

    async def index(request: Request) -> Response:
        if not wants_html(request):
            return await json_index(request)
        gateway: Gateway = request.app.state.gateway
        models = await local_models(gateway)
        page = index_page(gateway.router.libraries, pool_words(gateway), models)
        return HTMLResponse(page, headers=page_headers())

    async def model(request: Request) -> Response:
        if not wants_html(request):
            return await json_model_status(request)
        gateway: Gateway = request.app.state.gateway
        task = request.query_params.get("task") or None
        view = await describe(gateway, request.path_params["model_id"], task)
        if view.served:
            state = await serving_state(gateway, view, request, json_model_status)
            view = dataclasses.replace(view, state=state)
        login = await login_state(request, getattr(gateway.settings, "auth", "off"))
        return HTMLResponse(model_page(view, task is not None, login), view.status_code, headers=page_headers())

    return [
        Route("/", index, methods=["GET"]),
        Route("/models/{model_id:path}", model, methods=["GET"]),
        Route(PREFIX + "{name:path}", static_asset, methods=["GET"]),  # any other name: 404
    ]
