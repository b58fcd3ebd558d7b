"""Scratch PostgreSQL databases for tests and benchmarks: created empty, dropped afterwards."""

from __future__ import annotations

import contextlib
import uuid
from typing import Iterator


@contextlib.contextmanager
def scratch_postgres_database(server_url: str, prefix: str = "aic_scratch") -> Iterator[str]:
    """The URL of a new, empty database on the server of `server_url` (any of its databases),
    dropped with its open connections when the block ends. Needs the `gateway` extra."""
    from sqlalchemy import create_engine, text

    from ..gateway.usage.database import normalized_url

    server = normalized_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.rsplit("/", 1)[0] + "/" + name
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
