"""What `api-inference-community gateway tokens ...` and `gateway migrate` do, on the configured database.

The database is the gateway's (DATABASE_URL, else the SQLite file of GATEWAY_STATE_DIR), migrated
to the newest revision before tokens are touched. A running gateway sees a new token at its
first use and a revocation within GATEWAY_TOKEN_REFRESH seconds.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator, List, Optional, Tuple

from sqlalchemy import Engine

from ..settings import GatewaySettings
from . import migrate, storage
from .database import DatabaseError, database_url, make_engine, redacted
from .tokens import Token, TokenError


class ManageError(Exception):
    """A refusal or a failure to report on one line."""


@contextmanager
def database(settings: GatewaySettings, migrated: bool = True) -> Iterator[Engine]:
    url = database_url(settings)
    try:
        engine = make_engine(url)
        try:
            if migrated:
                migrate.ensure_current(engine)
            yield engine
        finally:
            engine.dispose()
    except (DatabaseError, TokenError) as error:
        raise ManageError(str(error)) from None
    except Exception as error:  # the database cannot be reached, or refuses
        if isinstance(error, ManageError):
            raise
        raise ManageError(f"{redacted(url)}: {type(error).__name__}: {str(error).splitlines()[0][:300]}") from None


def create(
    settings: GatewaySettings, name: str, admin: bool, rate_limit: Optional[int], concurrency: Optional[int]
) -> Tuple[str, Token]:
    with database(settings) as engine:
        return storage.create_token(engine, name, admin=admin, rate_limit=rate_limit, concurrency=concurrency)


def tokens(settings: GatewaySettings, include_revoked: bool = False) -> List[Token]:
    with database(settings) as engine:
        return [token for token in storage.load_tokens(engine) if include_revoked or not token.revoked]


def revoke(settings: GatewaySettings, name_or_prefix: str) -> Token:
    with database(settings) as engine:
        return storage.revoke_token(engine, name_or_prefix)


def upgrade(settings: GatewaySettings, revision: str = "head") -> Tuple[Optional[str], Optional[str]]:
    """Migrate to `revision`: (the revision before, the revision after)."""
    with database(settings, migrated=False) as engine:
        before = migrate.upgrade(engine, revision)
        return before, migrate.current_revision(engine)


def where(settings: GatewaySettings) -> str:
    """The database, as messages name it (no password)."""
    return redacted(database_url(settings))


def table(rows: List[Token]) -> str:
    """Tokens as a fixed-width table (never their value: their prefix)."""
    header = ("PREFIX", "NAME", "ADMIN", "RATE/MIN", "CONCURRENCY", "CREATED", "REVOKED")
    lines = [header] + [
        (
            token.prefix,
            token.name,
            "yes" if token.admin else "no",
            _limit(token.rate_limit),
            _limit(token.concurrency),
            _when(token.created_at),
            _when(token.revoked_at),
        )
        for token in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def _limit(value: Optional[int]) -> str:
    return "default" if value is None else ("none" if value == 0 else str(value))


def _when(value: Optional[datetime]) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"
