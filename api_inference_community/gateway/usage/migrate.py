"""Schema migrations, run programmatically: at the gateway's start and by `gateway migrate`.

The revisions ship inside the package (`migrations/versions/`). An upgrade holds a lock while it
runs, so that two processes starting on one database migrate it once: a PostgreSQL advisory lock,
or a lock file beside a SQLite database. A database already at `HEAD` is recognised without
loading Alembic (a faster start).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

from .database import is_sqlite

logger = logging.getLogger(__name__)
if logging.getLogger("alembic").level == logging.NOTSET:  # its steps are ours to report, at INFO
    logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0002"  # the newest revision (a test checks it against the revisions)
ADVISORY_LOCK = 0x41494355  # any constant shared by every process migrating the usage tables


def alembic_config(connection: Optional[Connection] = None, url: Optional[str] = None) -> Config:
    """Alembic's configuration over the package's revisions (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision, as the revisions' files say."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships its revisions"
    return head


def current_revision(engine: Engine) -> Optional[str]:
    """The database's revision (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> Optional[str]:
    """Migrate the database up to `revision`; returns the revision it was at before."""
    from alembic import command

    with _migration_lock(engine):
        before = current_revision(engine)
        with engine.begin() as connection:
            if not is_sqlite(engine):
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
            command.upgrade(alembic_config(connection), revision)
    return before


def ensure_current(engine: Engine) -> None:
    """Upgrade to the newest revision if the database is behind (a cheap check when it is not)."""
    if stored_revision(engine) == HEAD:
        return
    before = upgrade(engine)
    logger.info("Usage database migrated from %s to %s", before or "an empty database", HEAD)


def stored_revision(engine: Engine) -> Optional[str]:
    """The revision in Alembic's version table, read without Alembic (None: no table)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """A lock file beside a SQLite database (PostgreSQL locks inside the migration's transaction)."""
    database = engine.url.database if is_sqlite(engine) else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
