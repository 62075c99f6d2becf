"""Trader journal: orders and their history, fills, position and cash snapshots, settlements,
calibration reports with drift events, and the lifecycle status history.

Written out in full, like 0001: a migration is a frozen record of one schema step, so later edits to
``store.trader_models`` cannot change what it does.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_big_pk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", _big_pk, nullable=False, autoincrement=True)


def _big(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "trader_orders",
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=True),
        sa.Column("ticker", sa.String(128), nullable=False),
        sa.Column("side", sa.String(3), nullable=False),
        sa.Column("yes_price_e4", sa.Integer(), nullable=False),
        _big("count_e2"),
        _big("filled_e2"),
        _big("remaining_e2"),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("close_reason", sa.String(64), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("order_group_id", sa.String(128), nullable=True),
        _big("created_ms"),
        _big("updated_ms"),
        sa.Column("detail", sa.Text(), nullable=False),
        _big("fees_e6"),
        _big("reserved_e6"),
        sa.PrimaryKeyConstraint("client_order_id", name="pk_trader_orders"),
    )
    op.create_index("ix_trader_orders_order_id", "trader_orders", ["order_id"])
    op.create_index("ix_trader_orders_state", "trader_orders", ["state"])

    op.create_table(
        "trader_order_events",
        _id(),
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        _big("ts_ms"),
        sa.Column("yes_price_e4", sa.Integer(), nullable=False),
        _big("count_e2"),
        _big("filled_e2"),
        _big("remaining_e2"),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trader_order_events"),
    )
    op.create_index("ix_trader_order_events_client_order_id", "trader_order_events", ["client_order_id"])

    op.create_table(
        "trader_fills",
        sa.Column("trade_id", sa.String(128), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("client_order_id", sa.String(128), nullable=True),
        sa.Column("ticker", sa.String(128), nullable=False),
        sa.Column("side", sa.String(3), nullable=False),
        sa.Column("yes_price_e4", sa.Integer(), nullable=False),
        _big("count_e2"),
        sa.Column("is_taker", sa.Boolean(), nullable=False),
        _big("fee_e6"),
        _big("ts_ms"),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("close_reason", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("trade_id", name="pk_trader_fills"),
    )
    op.create_index("ix_trader_fills_order_id", "trader_fills", ["order_id"])
    op.create_index("ix_trader_fills_ticker", "trader_fills", ["ticker"])

    op.create_table(
        "trader_position_snapshots",
        _id(),
        sa.Column("ticker", sa.String(128), nullable=False),
        _big("ts_ms"),
        _big("position_e2"),
        _big("cost_basis_e6"),
        _big("realized_pnl_e6"),
        _big("fees_paid_e6"),
        _big("opened_at_ms", nullable=True),
        _big("last_fill_ms", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_trader_position_snapshots"),
    )
    op.create_index("ix_trader_position_snapshots_ticker_id", "trader_position_snapshots", ["ticker", "id"])

    op.create_table(
        "trader_cash",
        _id(),
        _big("ts_ms"),
        _big("cash_e6"),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trader_cash"),
    )
    op.create_index("ix_trader_cash_ts_ms", "trader_cash", ["ts_ms"])

    op.create_table(
        "trader_settlements",
        sa.Column("ticker", sa.String(128), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        _big("revenue_e6"),
        _big("settled_ms"),
        sa.PrimaryKeyConstraint("ticker", name="pk_trader_settlements"),
    )

    op.create_table(
        "calibration_reports",
        _id(),
        _big("started_ms"),
        _big("duration_ms"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("rest_calls", sa.Integer(), nullable=False),
        _big("cash_drift_e6"),
        sa.Column("drift_count", sa.Integer(), nullable=False),
        sa.Column("steps_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_calibration_reports"),
    )
    op.create_index("ix_calibration_reports_started_ms", "calibration_reports", ["started_ms"])

    op.create_table(
        "drift_events",
        _id(),
        _big("report_id"),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("ticker", sa.String(128), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        _big("count_e2", nullable=True),
        _big("money_e6", nullable=True),
        sa.Column("extra_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["calibration_reports.id"],
            name="fk_drift_events_report_id_calibration_reports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_drift_events"),
    )
    op.create_index("ix_drift_events_report_id", "drift_events", ["report_id"])

    op.create_table(
        "trader_status_history",
        _id(),
        _big("ts_ms"),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("result_text", sa.Text(), nullable=False),
        _big("duration_ms", nullable=True),
        _big("previous_status_ms", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_trader_status_history"),
    )
    op.create_index("ix_trader_status_history_ts_ms", "trader_status_history", ["ts_ms"])


def downgrade() -> None:
    op.drop_index("ix_trader_status_history_ts_ms", table_name="trader_status_history")
    op.drop_table("trader_status_history")
    op.drop_index("ix_drift_events_report_id", table_name="drift_events")
    op.drop_table("drift_events")
    op.drop_index("ix_calibration_reports_started_ms", table_name="calibration_reports")
    op.drop_table("calibration_reports")
    op.drop_table("trader_settlements")
    op.drop_index("ix_trader_cash_ts_ms", table_name="trader_cash")
    op.drop_table("trader_cash")
    op.drop_index("ix_trader_position_snapshots_ticker_id", table_name="trader_position_snapshots")
    op.drop_table("trader_position_snapshots")
    op.drop_index("ix_trader_fills_ticker", table_name="trader_fills")
    op.drop_index("ix_trader_fills_order_id", table_name="trader_fills")
    op.drop_table("trader_fills")
    op.drop_index("ix_trader_order_events_client_order_id", table_name="trader_order_events")
    op.drop_table("trader_order_events")
    op.drop_index("ix_trader_orders_state", table_name="trader_orders")
    op.drop_index("ix_trader_orders_order_id", table_name="trader_orders")
    op.drop_table("trader_orders")
