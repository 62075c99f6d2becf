"""Recordings: sessions, book snapshots, book deltas and the gaps that account for lost messages.

Written out in full rather than generated from ``store.models`` at run time: a migration is a frozen
record of one schema step, so later edits to the models cannot change what it does.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
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
        "recording_sessions",
        sa.Column("id", _big_pk, nullable=False, autoincrement=True),
        sa.Column("started_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("ended_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("exchange", sa.String(64), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("markets", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("messages_seen", sa.BigInteger(), nullable=False),
        sa.Column("messages_dropped", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recording_sessions"),
    )
    op.create_table(
        "book_snapshots",
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("seq_no", sa.BigInteger(), nullable=False),
        sa.Column("sid", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ticker", sa.String(128), nullable=False),
        sa.Column("received_ns", sa.BigInteger(), nullable=False),
        sa.Column("yes_levels_e4_e2", sa.Text(), nullable=False),
        sa.Column("no_levels_e4_e2", sa.Text(), nullable=False),
        _session_fk("book_snapshots"),
        sa.PrimaryKeyConstraint("session_id", "seq_no", name="pk_book_snapshots"),
    )
    op.create_table(
        "book_deltas",
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("seq_no", sa.BigInteger(), nullable=False),
        sa.Column("sid", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ticker", sa.String(128), nullable=False),
        sa.Column("side", sa.String(3), nullable=False),
        sa.Column("price_e4", sa.Integer(), nullable=False),
        sa.Column("delta_e2", sa.BigInteger(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=True),
        sa.Column("client_order_id", sa.Text(), nullable=True),
        sa.Column("received_ns", sa.BigInteger(), nullable=False),
        _session_fk("book_deltas"),
        sa.PrimaryKeyConstraint("session_id", "seq_no", name="pk_book_deltas"),
    )
    op.create_table(
        "recording_gaps",
        sa.Column("id", _big_pk, nullable=False, autoincrement=True),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("after_seq_no", sa.BigInteger(), nullable=False),
        sa.Column("dropped_count", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        _session_fk("recording_gaps"),
        sa.PrimaryKeyConstraint("id", name="pk_recording_gaps"),
    )
    op.create_index("ix_recording_gaps_session_id", "recording_gaps", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_recording_gaps_session_id", table_name="recording_gaps")
    op.drop_table("recording_gaps")
    op.drop_table("book_deltas")
    op.drop_table("book_snapshots")
    op.drop_table("recording_sessions")
