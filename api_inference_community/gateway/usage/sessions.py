"""Browser sessions: a token given once to the dashboard's login form becomes a signed cookie.

The cookie holds the token's id, an expiry time and an HMAC-SHA256 of both (bound to the token's
stored hash) under the gateway's session key: never the token. It is HttpOnly, SameSite=Strict
(no other site can make a browser send it) and Secure when the page was served over HTTPS. A
revoked token's sessions end with it. The key is GATEWAY_SESSION_SECRET, else a random key kept in
`session.key` in the state directory (created on first use, readable by its owner only), so that
sessions survive a restart; gateways sharing one database share it through the setting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Callable, Mapping, Optional

from starlette.responses import Response

from .tokens import Token

COOKIE = "aic_session"
KEY_FILE = "session.key"


def load_key(secret: Optional[str], state_dir: str) -> bytes:
    """The session key: the configured secret, else the state directory's key file (created once)."""
    if secret:
        return hashlib.sha256(secret.encode()).digest()
    path = Path(state_dir).expanduser() / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class Sessions:
    """Issues and checks session cookies."""

    def __init__(self, key: bytes, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.ttl_s = ttl_s
        self.clock = clock

    def _signature(self, token_id: int, token: Token, expires: int) -> str:
        message = f"{token_id}.{expires}.{token.hash}".encode()
        return base64.urlsafe_b64encode(hmac.new(self.key, message, hashlib.sha256).digest()).decode().rstrip("=")

    def issue(self, token: Token) -> str:
        expires = int(self.clock() + self.ttl_s)
        return f"{token.id}.{expires}.{self._signature(token.id, token, expires)}"

    def token_of(self, value: str, tokens: Mapping[int, Token]) -> Optional[Token]:
        """The token a cookie value stands for, if it is genuine, unexpired and the token not revoked."""
        parts = value.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(value) > 200:
            return None
        token_id, expires = int(parts[0]), int(parts[1])
        token = tokens.get(token_id)
        if token is None or token.revoked or expires < self.clock():
            return None
        if not hmac.compare_digest(parts[2].encode(), self._signature(token_id, token, expires).encode()):
            return None
        return token

    def set_cookie(self, response: Response, token: Token, secure: bool) -> None:
        response.set_cookie(
            COOKIE,
            self.issue(token),
            max_age=int(self.ttl_s),
            path="/",
            httponly=True,
            samesite="strict",
            secure=secure,
        )

    @staticmethod
    def clear_cookie(response: Response, secure: bool) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
