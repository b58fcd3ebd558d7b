"""Latency histograms in the daily roll-ups, so that percentiles of any range come from them.

Forty counters per day x token x model (`latency_00`..`latency_39`: how many requests fell in each
latency bucket), in the same rows as the sums, so that one scan of the roll-ups answers both.
Days recorded before this revision have no histogram (their counters are 0): their percentiles are
not known, their sums are. The raw rows are not read back: at millions of rows that would stall
the upgrade.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = [f"latency_{bucket:02d}" for bucket in range(40)]


def upgrade() -> None:
    with op.batch_alter_table("usage_daily") as table:
        for name in COLUMNS:
            table.add_column(sa.Column(name, sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("usage_daily") as table:
        for name in reversed(COLUMNS):
            table.drop_column(name)
