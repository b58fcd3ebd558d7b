"""Who is calling, and whether they may: the token of a request, the auth mode, the limits.

A request's token is its `Authorization: Bearer <token>` header, else a dashboard session cookie
(`sessions`). Modes (GATEWAY_AUTH): `required`, every inference request needs a token; `optional`,
requests without one are anonymous and get the anonymous limits, per client address; `off`,
tokens are not read and nothing is limited. A gateway token (`aic_...`) that is unknown or revoked
is always a 401. Any other Authorization header is a 401 in `required` mode; in `optional` mode it
is not ours to judge (e.g. the Hugging Face token InferenceClient sends when its user is logged
in) and the call is anonymous. `authenticated_token(request)` is the same check for other routes
(the dashboard, the widget).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Hashable, Optional

from starlette.requests import Request

from ...errors import APIError
from .limits import Limit, Limiter, RateLimited, Slot
from .metrics import UsageMetrics
from .sessions import COOKIE, Sessions
from .token_cache import TokenCache
from .tokens import ANONYMOUS, ANONYMOUS_ID, TOKEN_PREFIX, Token, looks_like_token


class Unauthorized(APIError):
    """No acceptable token (401, with `WWW-Authenticate: Bearer`)."""

    status_code = 401

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="api-inference-community"'})
        self.reason = reason  # missing, malformed, unknown or revoked (the metrics' label)


class Forbidden(APIError):
    status_code = 403


@dataclass(frozen=True)
class Caller:
    """Who a request is counted for: a token, or an anonymous caller (keyed by address)."""

    token: Optional[Token]
    key: Hashable

    @property
    def name(self) -> str:
        return self.token.name if self.token else ANONYMOUS

    @property
    def token_id(self) -> int:
        return self.token.id if self.token else ANONYMOUS_ID

    @property
    def admin(self) -> bool:
        return bool(self.token and self.token.admin)


@dataclass(frozen=True)
class Limits:
    """The gateway's default limits: a token's own override them."""

    token: Limit
    anonymous: Limit


class Gatekeeper:
    """Reads tokens and applies the mode and the limits."""

    def __init__(
        self,
        mode: str,
        tokens: TokenCache,
        sessions: Optional[Sessions],
        limiter: Limiter,
        limits: Limits,
        metrics: UsageMetrics,
    ) -> None:
        self.mode = mode
        self.tokens = tokens
        self.sessions = sessions
        self.limiter = limiter
        self.limits = limits
        self.metrics = metrics

    async def token(self, request: Request, foreign_ok: bool = False) -> Optional[Token]:
        """The request's token (header, else session cookie); None without one; Unauthorized if a header is wrong.

        `foreign_ok`: an Authorization header that does not carry a gateway token counts as none.
        """
        header = request.headers.get("authorization")
        if header is None:
            return self.session_token(request)
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        ours = scheme.lower() == "bearer" and value.startswith(TOKEN_PREFIX)
        if foreign_ok and not ours:
            return self.session_token(request)
        if scheme.lower() != "bearer" or not value:
            raise self._refuse("The Authorization header must be `Bearer <token>`", "malformed")
        token = await self.tokens.lookup(value) if looks_like_token(value) else None
        if token is None:
            raise self._refuse("Invalid token", "unknown")
        if token.revoked:
            raise self._refuse("This token was revoked", "revoked")
        return token

    def session_token(self, request: Request) -> Optional[Token]:
        value = request.cookies.get(COOKIE)
        if not value or self.sessions is None:
            return None
        return self.sessions.token_of(value, self.tokens.by_id)

    async def caller(self, request: Request) -> Caller:
        """Who an inference request is counted for, under the mode; Unauthorized when it may not pass."""
        if self.mode == "off":
            return Caller(None, ANONYMOUS)
        token = await self.token(request, foreign_ok=self.mode == "optional")
        if token is not None:
            return Caller(token, token.id)
        if self.mode == "required":
            raise self._refuse("A token is required: send `Authorization: Bearer <token>`", "missing")
        return Caller(None, (ANONYMOUS, request.client.host if request.client else ""))

    def admit(self, caller: Caller) -> Optional[Slot]:
        """Count the request against its caller's limits (RateLimited, counted, beyond them)."""
        if self.mode == "off":
            return None
        limit = self.limit_of(caller)
        try:
            return self.limiter.acquire(caller.key, limit)
        except RateLimited as error:
            self.metrics.rate_limited.labels(token=caller.name, limit=error.limit).inc()
            raise

    def limit_of(self, caller: Caller) -> Limit:
        if caller.token is None:
            return self.limits.anonymous
        return _token_limit(caller.token.rate_limit, caller.token.concurrency, self.limits.token)

    def _refuse(self, message: str, reason: str) -> Unauthorized:
        self.metrics.auth_failures.labels(reason=reason).inc()
        return Unauthorized(message, reason)


@functools.lru_cache(maxsize=1024)
def _token_limit(rate_limit: Optional[int], concurrency: Optional[int], default: Limit) -> Limit:
    """A token's limits: its own, else the gateway's defaults."""
    return Limit(
        per_minute=default.per_minute if rate_limit is None else rate_limit,
        concurrency=default.concurrency if concurrency is None else concurrency,
    )


async def authenticated_token(request: Request) -> Optional[Token]:
    """The token of a request to any gateway route (Bearer header or dashboard session), or None.

    Raises Unauthorized (a 401 APIError) when an Authorization header is present but not a valid
    token. With GATEWAY_AUTH=off, always None. For routes that need a signed-in caller: call it,
    and when it returns None while `auth_required(request)`, send the browser to `/dashboard`.
    """
    gatekeeper = _gatekeeper(request)
    if gatekeeper is None or gatekeeper.mode == "off":
        return None
    return await gatekeeper.token(request, foreign_ok=gatekeeper.mode == "optional")


def auth_required(request: Request) -> bool:
    """Whether inference through this gateway needs a token (GATEWAY_AUTH=required)."""
    gatekeeper = _gatekeeper(request)
    return gatekeeper is not None and gatekeeper.mode == "required"


def _gatekeeper(request: Request) -> Optional[Gatekeeper]:
    service = getattr(request.app.state, "usage", None)
    return getattr(service, "gatekeeper", None)
