"""The usage database: SQLite in the gateway's state directory by default, PostgreSQL by `DATABASE_URL`.

SQLite runs in WAL mode (readers never wait for the writer) with `synchronous=NORMAL` (a commit
is durable once the WAL is checkpointed; a crash of the machine, not of the process, may lose
the last commits) and waits up to 30 s for a lock. `postgresql://` URLs use psycopg 3.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from ..settings import GatewaySettings

SQLITE_FILE = "usage.db"
SQLITE_BUSY_MS = 30_000


class DatabaseError(RuntimeError):
    """The usage database cannot be opened or migrated (a clear message, no traceback for users)."""


def database_url(settings: GatewaySettings) -> str:
    """DATABASE_URL, else the SQLite file in the state directory (created)."""
    if settings.database_url:
        return normalized_url(settings.database_url)
    folder = Path(settings.state_path).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / SQLITE_FILE).resolve()}"


def normalized_url(url: str) -> str:
    """`postgres://` and `postgresql://` go through psycopg 3 (the driver the `gateway` extra installs)."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable DATABASE_URL>"


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for `url`: SQLite with WAL and a busy timeout, or any other SQLAlchemy URL."""
    try:
        parsed = make_url(url)
    except Exception as error:
        raise DatabaseError(f"DATABASE_URL is not a database URL: {error}") from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000}, **options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4, **options)
    except Exception as error:  # a missing driver, an unknown dialect
        raise DatabaseError(f"Cannot use {redacted(url)}: {error}") from None


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_file(engine: Engine) -> str:
    """The file of a SQLite engine ('' for an in-memory one)."""
    return os.fspath(engine.url.database or "")
