"""Tokens, raw usage rows and their daily sums per token x model.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("rate_limit", sa.Integer, nullable=True),
        sa.Column("concurrency", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("hash", name="uq_tokens_hash"),
    )
    op.create_index("ix_tokens_name", "tokens", ["name"])
    op.create_table(
        "usage_requests",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("token_id", sa.Integer, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("library", sa.String(64), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("compute_ms", sa.Float, nullable=True),
        sa.Column("characters", sa.BigInteger, nullable=False),
        sa.Column("images", sa.Integer, nullable=False),
        sa.Column("audio_seconds", sa.Float, nullable=False),
        sa.Column("request_bytes", sa.BigInteger, nullable=False),
        sa.Column("response_bytes", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_usage_requests_ts", "usage_requests", ["ts"])
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("token_id", sa.Integer, primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("client_errors", sa.BigInteger, nullable=False),
        sa.Column("server_errors", sa.BigInteger, nullable=False),
        sa.Column("characters", sa.BigInteger, nullable=False),
        sa.Column("images", sa.BigInteger, nullable=False),
        sa.Column("audio_seconds", sa.Float, nullable=False),
        sa.Column("compute_seconds", sa.Float, nullable=False),
        sa.Column("latency_ms_sum", sa.Float, nullable=False),
        sa.Column("request_bytes", sa.BigInteger, nullable=False),
        sa.Column("response_bytes", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("usage_daily")
    op.drop_index("ix_usage_requests_ts", "usage_requests")
    op.drop_table("usage_requests")
    op.drop_index("ix_tokens_name", "tokens")
    op.drop_table("tokens")
