"""Writes to the usage database: tokens, batches of usage rows with their roll-ups, retention.

Every function takes an Engine and runs synchronously: the gateway calls them from its writer
thread or through `asyncio.to_thread`, never on the event loop. A batch's raw rows and its roll-up
increments are one transaction; roll-ups are incremented with an upsert (`ON CONFLICT DO UPDATE`
adding to the stored sums), so several gateway processes can write one database.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any, List, Optional, Sequence, Tuple

from sqlalchemy import Connection, Engine, Table, delete, insert, select, update

from .records import UsageRecord, rollups, utcnow
from .schema import LATENCY_COLUMNS, ROLLUP_KEY, ROLLUP_SUMS, tokens, usage_daily, usage_requests
from .tokens import PREFIX_LENGTH, Token, TokenError, check_name, new_token, token_hash

RETENTION_CHUNK = 20_000  # rows deleted per statement (short locks)


# ------------------------------------------------------------------ tokens


def _token(row: Any) -> Token:
    return Token(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        hash=row.hash,
        admin=bool(row.admin),
        rate_limit=row.rate_limit,
        concurrency=row.concurrency,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def load_tokens(engine: Engine) -> List[Token]:
    """Every token, revoked ones included (they are refused by name)."""
    with engine.connect() as connection:
        return [_token(row) for row in connection.execute(select(tokens).order_by(tokens.c.id))]


def find_token(engine: Engine, digest: str) -> Optional[Token]:
    """The token whose hash this is (revoked or not), or None."""
    with engine.connect() as connection:
        row = connection.execute(select(tokens).where(tokens.c.hash == digest)).first()
    return _token(row) if row is not None else None


def create_token(
    engine: Engine,
    name: str,
    *,
    admin: bool = False,
    rate_limit: Optional[int] = None,
    concurrency: Optional[int] = None,
) -> Tuple[str, Token]:
    """A new token named `name` (no other active token may have it): (its value, shown once; the token)."""
    check_name(name)
    for label, limit in (("rate limit", rate_limit), ("concurrency", concurrency)):
        if limit is not None and limit < 0:
            raise TokenError(f"the {label} must be 0 (no limit) or more, not {limit}")
    secret = new_token()
    with engine.begin() as connection:
        active = connection.execute(
            select(tokens.c.id).where(tokens.c.name == name, tokens.c.revoked_at.is_(None))
        ).first()
        if active is not None:
            raise TokenError(f"an active token is already named {name!r}: revoke it first, or choose another name")
        token = Token(
            id=0,
            name=name,
            prefix=secret[:PREFIX_LENGTH],
            hash=token_hash(secret),
            admin=admin,
            rate_limit=rate_limit,
            concurrency=concurrency,
            created_at=utcnow(),
        )
        row = {name: value for name, value in vars(token).items() if name != "id"}
        token_id = connection.execute(insert(tokens).values(**row)).inserted_primary_key[0]  # type: ignore[index]
    return secret, dataclasses.replace(token, id=int(token_id))


def revoke_token(engine: Engine, name_or_prefix: str) -> Token:
    """Revoke the active token with this name or prefix (exactly one must match)."""
    with engine.begin() as connection:
        matches = list(
            connection.execute(
                select(tokens).where(
                    tokens.c.revoked_at.is_(None),
                    (tokens.c.name == name_or_prefix) | (tokens.c.prefix == name_or_prefix),
                )
            )
        )
        if not matches:
            raise TokenError(f"no active token is named {name_or_prefix!r} or has that prefix")
        if len(matches) > 1:
            raise TokenError(f"{name_or_prefix!r} matches {len(matches)} tokens: give its prefix")
        now = utcnow()
        connection.execute(update(tokens).where(tokens.c.id == matches[0].id).values(revoked_at=now))
    return dataclasses.replace(_token(matches[0]), revoked_at=now)


# ------------------------------------------------------------------ usage


def write_batch(engine: Engine, records: Sequence[UsageRecord]) -> None:
    """The raw rows of `records` and their roll-up increments, in one transaction."""
    if not records:
        return
    with engine.begin() as connection:
        insert_rows(connection, records)
        add_rollups(connection, rollups(records))


RAW_COLUMNS = tuple(column.name for column in usage_requests.columns if column.name != "id")
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def insert_rows(connection: Connection, records: Sequence[UsageRecord]) -> None:
    """The raw rows, through the driver's executemany: the writer's hot loop, without per-row ORM work."""
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO usage_requests ({', '.join(RAW_COLUMNS)}) VALUES ({', '.join([mark] * len(RAW_COLUMNS))})"
    rows = []
    for record in records:
        row = record.row()
        if sqlite:
            row["ts"] = row["ts"].strftime(SQLITE_TIME)
        rows.append(tuple(row[name] for name in RAW_COLUMNS))
    connection.exec_driver_sql(statement, rows)


def add_rollups(connection: Connection, rows: List[dict]) -> None:
    """Add `usage_daily` rows (sums and latency counts) to the stored ones, creating those that are new."""
    upsert(connection, usage_daily, rows, (*ROLLUP_SUMS, *LATENCY_COLUMNS))


def upsert(connection: Connection, table: Table, rows: List[dict], summed: Sequence[str]) -> None:
    """INSERT rows; where the key exists, add their `summed` columns to the stored ones."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif connection.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    else:
        raise NotImplementedError(f"usage roll-ups need PostgreSQL or SQLite, not {connection.dialect.name}")
    statement = dialect_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(ROLLUP_KEY), set_={name: table.c[name] + statement.excluded[name] for name in summed}
    )
    connection.execute(statement, rows)


def delete_expired(engine: Engine, retention_days: int, now: Optional[datetime] = None) -> int:
    """Delete raw rows older than `retention_days` (roll-ups stay), in short chunks; returns how many."""
    if retention_days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    deleted = 0
    while True:
        with engine.begin() as connection:
            chunk = (
                select(usage_requests.c.id)
                .where(usage_requests.c.ts < cutoff)
                .order_by(usage_requests.c.ts)
                .limit(RETENTION_CHUNK)
                .scalar_subquery()
            )
            count = connection.execute(delete(usage_requests).where(usage_requests.c.id.in_(chunk))).rowcount
        deleted += max(count, 0)
        if count < RETENTION_CHUNK:
            return deleted
