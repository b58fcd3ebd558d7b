"""API tokens: their format, their stored hash, and what the gateway knows of each.

A token is `aic_` followed by 43 URL-safe characters: 256 random bits. It is shown once, when it
is created; the database keeps only its SHA-256 (a token this random cannot be guessed from its
hash, so no key or slow hash is needed) and its first 12 characters, the `prefix` that names it in
listings beside its name. Nothing else of it is ever stored, logged or displayed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

TOKEN_PREFIX = "aic_"
PREFIX_LENGTH = 12  # `aic_` and 8 characters: 48 of the 256 bits, enough to tell tokens apart
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
ANONYMOUS = "anonymous"  # the name of callers without a token (metrics, usage)
ANONYMOUS_ID = 0  # their token id in usage rows and roll-ups (real ids start at 1)


class TokenError(ValueError):
    """A token's name or limits cannot be used."""


def new_token() -> str:
    """A fresh token: 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hashes."""
    return hmac.compare_digest(a.encode(), b.encode())


def looks_like_token(value: str) -> bool:
    """Whether `value` has a token's shape (anything else is refused before any lookup)."""
    return value.startswith(TOKEN_PREFIX) and 16 <= len(value) <= 128 and value.isascii() and value.isprintable()


def check_name(name: str) -> str:
    """A token's name: letters, digits and `._@-`, at most 64 characters (it labels metrics)."""
    if not NAME.match(name) or name == ANONYMOUS:
        raise TokenError(
            f"invalid token name {name[:80]!r}: 1 to 64 letters, digits or ._@- (not `{ANONYMOUS}`), "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class Token:
    """A token as the gateway knows it (never its value)."""

    id: int
    name: str
    prefix: str
    hash: str
    admin: bool = False
    rate_limit: Optional[int] = None  # requests per minute; None: the gateway's default, 0: no limit
    concurrency: Optional[int] = None  # requests in flight; None: the gateway's default, 0: no limit
    created_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def describe(self) -> dict:
        """What listings show: everything but the hash."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "admin": self.admin,
            "rate_limit": self.rate_limit,
            "concurrency": self.concurrency,
            "created_at": self.created_at.isoformat(timespec="seconds") if self.created_at else None,
            "revoked_at": self.revoked_at.isoformat(timespec="seconds") if self.revoked_at else None,
        }
