"""Trader runs: one row per ``kalshiflow run`` process with its heartbeat and clean-stop time.

Written out in full, like 0001: a migration is a frozen record of one schema step, so later edits to
``store.trader_models`` cannot change what it does.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_big_pk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "trader_runs",
        sa.Column("id", _big_pk, nullable=False, autoincrement=True),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_ms", sa.BigInteger(), nullable=False),
        sa.Column("stopped_ms", sa.BigInteger(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trader_runs")),
    )


def downgrade() -> None:
    op.drop_table("trader_runs")
