"""The widget and the gateway's tokens: whether the visitor's calls will be let through.

The page's calls are same-origin `fetch` calls made with `credentials: "same-origin"`: a login
session cookie set by the gateway goes with every one of them, exactly as it goes with the page,
and the gateway checks it as it checks any call. Nothing here grants access: the page only says
whether calls need a login (`GATEWAY_AUTH=required`) and whether the visitor has one, and the
snippets then carry a token.

HOOK (tokens and usage, `gateway/usage/`): the page asks `app.state.session_check`, when set, whether
the request carries a valid login session: `session_check(request) -> bool` (or an awaitable of
one). `app.state.login_url`, when set, is the login page the notice links to (with `?next=`).
Until they are set, a visitor counts as signed out, and calls answer what the gateway answers.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

from starlette.requests import Request

SESSION_CHECK = "session_check"  # app.state attribute: (request) -> bool | Awaitable[bool]
LOGIN_URL = "login_url"  # app.state attribute: the login page


@dataclass(frozen=True)
class Login:
    mode: str  # the gateway's GATEWAY_AUTH: required, optional or off
    signed_in: bool
    login_url: Optional[str]  # where to sign in, back to this page afterwards

    @property
    def blocked(self) -> bool:
        """Calls need a login the visitor does not have."""
        return self.mode == "required" and not self.signed_in


async def login_state(request: Request, mode: str) -> Login:
    """The visitor's login, as far as the gateway's session check (the HOOK above) tells."""
    check = getattr(request.app.state, SESSION_CHECK, None)
    signed_in = False
    if mode != "off" and check is not None:
        answer = check(request)
        signed_in = bool(await answer if inspect.isawaitable(answer) else answer)
    page = getattr(request.app.state, LOGIN_URL, None)
    login_url = f"{page}?next={quote(request.url.path)}" if page else None
    return Login(mode, signed_in, login_url)
