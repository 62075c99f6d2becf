"""Recordings, self-contained: the markets' price grids and the books' invalidations.

``recording_markets`` holds every market the feed registered in a session (start and refresh) with
its price grid; ``recording_invalidations`` every set of books the stream stopped trusting. Both are
placed among the messages by the ``seq_no`` they follow, so a replay rebuilds books and their
validity without any grid from outside.

Written out in full, like 0001: a migration is a frozen record of one schema step, so later edits to
``store.models`` cannot change what it does.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_big_pk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _session_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["session_id"],
        ["recording_sessions.id"],
        name=f"fk_{table}_session_id_recording_sessions",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "recording_markets",
        sa.Column("id", _big_pk, nullable=False, autoincrement=True),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("added_at_seq_no", sa.BigInteger(), nullable=False),
        sa.Column("ticker", sa.String(128), nullable=False),
        sa.Column("price_level_structure", sa.String(64), nullable=False),
        sa.Column("price_ranges_json", sa.Text(), nullable=False),
        _session_fk("recording_markets"),
        sa.PrimaryKeyConstraint("id", name="pk_recording_markets"),
    )
    op.create_index("ix_recording_markets_session_id", "recording_markets", ["session_id"])
    op.create_table(
        "recording_invalidations",
        sa.Column("id", _big_pk, nullable=False, autoincrement=True),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("after_seq_no", sa.BigInteger(), nullable=False),
        sa.Column("tickers", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        _session_fk("recording_invalidations"),
        sa.PrimaryKeyConstraint("id", name="pk_recording_invalidations"),
    )
    op.create_index("ix_recording_invalidations_session_id", "recording_invalidations", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_recording_invalidations_session_id", table_name="recording_invalidations")
    op.drop_table("recording_invalidations")
    op.drop_index("ix_recording_markets_session_id", table_name="recording_markets")
    op.drop_table("recording_markets")
