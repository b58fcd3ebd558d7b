"""The routes of usage: `GET /usage` (JSON), the dashboard, its login and logout, its stylesheet.

Both need a token, by header or by the dashboard's session cookie (with GATEWAY_AUTH=off they are
open and show everything). An admin token sees every caller's usage (and may narrow it with
`token=NAME`); any other token sees its own. The login form posts the token once; the answer sets
the session cookie and goes back to the page asked for (`next`, a path of this gateway only).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlencode

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ...errors import APIError, NotFound, PayloadTooLarge
from ...http.responses import error_response, json_response
from . import queries
from .admission import Forbidden, Unauthorized
from .dashboard import dashboard_page, login_page
from .records import utcnow
from .sessions import Sessions
from .tokens import ANONYMOUS, ANONYMOUS_ID, looks_like_token

if TYPE_CHECKING:
    from .service import UsageService

STATIC = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
LOGIN_BODY_LIMIT = 4096
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
DASHBOARD = "/dashboard"
LOGIN = DASHBOARD + "/login"  # GET: the form (`?next=PATH`), POST: the sign-in


@dataclass(frozen=True)
class Viewer:
    """Whose usage a request may read: every caller's (an admin), or one token's."""

    name: str
    admin: bool
    token_id: int


def _service(request: Request) -> Tuple[UsageService, Engine]:
    service: Optional[UsageService] = getattr(request.app.state, "usage", None)
    if service is None or service.engine is None:
        raise NotFound("Usage accounting is off (GATEWAY_USAGE=0 and GATEWAY_AUTH=off)")
    return service, service.engine


async def _viewer(request: Request, service: UsageService) -> Optional[Viewer]:
    if service.gatekeeper.mode == "off":
        return Viewer(ANONYMOUS, True, ANONYMOUS_ID)
    token = await service.gatekeeper.token(request, foreign_ok=service.gatekeeper.mode == "optional")
    return Viewer(token.name, token.admin, token.id) if token else None


def _query(request: Request, service: UsageService, viewer: Viewer) -> queries.UsageQuery:
    params = request.query_params
    start, end = queries.parse_range(params, utcnow().date())
    model = params.get("model") or None
    token_ids: Optional[Tuple[int, ...]] = (viewer.token_id,)
    name = params.get("token")
    if viewer.admin:
        token_ids = service.token_ids(name) if name else None
    elif name and name != viewer.name:
        raise Forbidden("Only an admin token may read the usage of other tokens")
    return queries.UsageQuery(start, end, model, token_ids, queries.parse_group(params))


async def usage_route(request: Request) -> Response:
    """GET /usage?from=&to=&model=&group_by=day|model|token[&token=NAME]: the figures as JSON."""
    try:
        service, engine = _service(request)
        viewer = await _viewer(request, service)
        if viewer is None:
            raise Unauthorized("A token is required: send `Authorization: Bearer <token>`", "missing")
        query = _query(request, service, viewer)
        data = await asyncio.to_thread(queries.usage_json, engine, query, service.token_names())
    except APIError as error:
        return error_response(error)
    token = (request.query_params.get("token") or None) if viewer.admin else viewer.name  # None: everyone
    return json_response({"token": token, **data})


async def dashboard_route(request: Request) -> Response:
    """GET /dashboard: the signed-in caller's usage, or the login form."""
    try:
        service, engine = _service(request)
        viewer = await _viewer(request, service)
        if viewer is None:
            return _html(login_page(None, _next_query(request)))
        query = _query(request, service, viewer)
        report = await asyncio.to_thread(queries.report, engine, query, viewer.admin)
    except APIError as error:
        return error_response(error)
    return _html(dashboard_page(report, viewer.name, viewer.admin, service.token_names()))


async def login_form_route(request: Request) -> Response:
    """GET /dashboard/login?next=PATH: the login form (for pages of this gateway that need a token)."""
    return _html(login_page(None, _next_query(request, request.query_params.get("next"))))


async def login_route(request: Request) -> Response:
    """POST /dashboard/login (form field `token`): sets the session cookie, then goes to `next`."""
    try:
        service, _ = _service(request)
        if service.sessions is None:
            raise NotFound("Sign-in is off (GATEWAY_AUTH=off)")
        _same_origin(request)
        token_value = (await _form(request)).get("token", "").strip()
    except APIError as error:
        return error_response(error)
    token = await service.gatekeeper.tokens.lookup(token_value) if looks_like_token(token_value) else None
    next_path = _safe_next(request.query_params.get("next"))
    if token is None or token.revoked:
        reason = "revoked" if token is not None else "unknown"
        service.metrics.auth_failures.labels(reason=reason).inc()
        message = "This token was revoked" if token is not None else "Invalid token"
        return _html(login_page(message, _next_query(request, next_path)), 401)
    response = RedirectResponse(next_path, status_code=303)
    service.sessions.set_cookie(response, token, secure=request.url.scheme == "https")
    return response


async def logout_route(request: Request) -> Response:
    """POST /dashboard/logout: forgets the session cookie."""
    try:
        _same_origin(request)
    except APIError as error:
        return error_response(error)
    response = RedirectResponse(DASHBOARD, status_code=303)
    Sessions.clear_cookie(response, secure=request.url.scheme == "https")
    return response


async def static_route(request: Request) -> Response:
    """GET /dashboard/static/{name}: the dashboard's own assets, from the package."""
    name = request.path_params["name"]
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        return error_response(NotFound("No such asset"))
    return Response(
        path.read_bytes(),
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def usage_routes() -> List[BaseRoute]:
    """The routes to add to the gateway (before its catch-all GET route)."""
    return [
        Route("/usage", usage_route, methods=["GET"]),
        Route(DASHBOARD, dashboard_route, methods=["GET"]),
        Route(LOGIN, login_form_route, methods=["GET"]),
        Route(LOGIN, login_route, methods=["POST"]),
        Route(DASHBOARD + "/logout", logout_route, methods=["POST"]),
        Route(DASHBOARD + "/static/{name}", static_route, methods=["GET"]),
    ]


# ------------------------------------------------------------------ helpers


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=PAGE_HEADERS)


def _same_origin(request: Request) -> None:
    """Refuse a form posted from another site (the cookie is SameSite=Strict; this covers the login)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise Forbidden("Cross-site form posts are refused")


async def _form(request: Request) -> Dict[str, str]:
    """A small urlencoded form body (bounded)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > LOGIN_BODY_LIMIT:
            raise PayloadTooLarge(f"The form is larger than {LOGIN_BODY_LIMIT} bytes")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items() if values}


def _safe_next(value: Optional[str]) -> str:
    """A path of this gateway to go back to (anything else: the dashboard)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or len(value) > 2000
        or not value.isprintable()
    ):
        return DASHBOARD
    return value


def _next_query(request: Request, next_path: Optional[str] = None) -> str:
    """The login form's query string: where to go once signed in (by default, the page asked for)."""
    if next_path is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        next_path = _safe_next(path)
    return urlencode({"next": _safe_next(next_path)})
