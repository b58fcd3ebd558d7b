"""The usage database's tables as they are at the newest migration (SQLAlchemy Core).

The migrations (`migrations/versions/`) create them; this module is what the code reads and writes.
Times are UTC, stored without a zone. Callers without a token have token id 0.

- `tokens`: one row per token ever created (revoked ones stay, marked).
- `usage_requests`: one row per request (raw rows, deleted after the retention period).
- `usage_daily`: per day x token x model, the sums of the raw rows (kept), and how many requests
  fell in each latency bucket (`latency_00`..`latency_39`, bounds in `records.LATENCY_BOUNDS_MS`):
  the percentiles of any range come from these counts, read in the same rows as the sums.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

# SQLite makes only an INTEGER PRIMARY KEY an alias of its rowid (auto-incremented)
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")
MODEL_LENGTH = 200

metadata = MetaData()

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, index=True),
    Column("prefix", String(16), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("admin", Boolean, nullable=False, default=False),
    Column("rate_limit", Integer, nullable=True),
    Column("concurrency", Integer, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    UniqueConstraint("hash", name="uq_tokens_hash"),
)

usage_requests = Table(
    "usage_requests",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("ts", DateTime, nullable=False),
    Column("token_id", Integer, nullable=False),
    Column("model", String(MODEL_LENGTH), nullable=False),
    Column("task", String(64), nullable=False),
    Column("library", String(64), nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("compute_ms", Float, nullable=True),
    Column("characters", BigInteger, nullable=False, default=0),
    Column("images", Integer, nullable=False, default=0),
    Column("audio_seconds", Float, nullable=False, default=0.0),
    Column("request_bytes", BigInteger, nullable=False, default=0),
    Column("response_bytes", BigInteger, nullable=False, default=0),
    Index("ix_usage_requests_ts", "ts"),  # the retention's deletes (no other index: every row pays for each)
)

LATENCY_BUCKETS = 40
LATENCY_COLUMNS = tuple(f"latency_{bucket:02d}" for bucket in range(LATENCY_BUCKETS))
ROLLUP_KEY = ("day", "token_id", "model")
ROLLUP_SUMS = (
    "requests",
    "client_errors",
    "server_errors",
    "characters",
    "images",
    "audio_seconds",
    "compute_seconds",
    "latency_ms_sum",
    "request_bytes",
    "response_bytes",
)

usage_daily = Table(
    "usage_daily",
    metadata,
    Column("day", Date, primary_key=True),
    Column("token_id", Integer, primary_key=True),
    Column("model", String(MODEL_LENGTH), primary_key=True),
    Column("requests", BigInteger, nullable=False, default=0),
    Column("client_errors", BigInteger, nullable=False, default=0),
    Column("server_errors", BigInteger, nullable=False, default=0),
    Column("characters", BigInteger, nullable=False, default=0),
    Column("images", BigInteger, nullable=False, default=0),
    Column("audio_seconds", Float, nullable=False, default=0.0),
    Column("compute_seconds", Float, nullable=False, default=0.0),
    Column("latency_ms_sum", Float, nullable=False, default=0.0),
    Column("request_bytes", BigInteger, nullable=False, default=0),
    Column("response_bytes", BigInteger, nullable=False, default=0),
    *(Column(name, Integer, nullable=False, default=0, server_default="0") for name in LATENCY_COLUMNS),
)
