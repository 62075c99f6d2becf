"""The trader's tables: orders, their history, fills, positions and cash over time, settlements,
calibration reports with their drift events, and the lifecycle status history.

Same ``Base`` and naming convention as ``store.models`` (the recorder's tables), so one database and
one migration chain hold everything; migration ``0002_trader`` creates these tables.

The store is a journal, not the source of truth: the ledger (and, above it, the exchange) is. Rows
are written from ledger events by ``store.trader_repo`` and read back by ``kalshiflow status``.
Invariants:

* Units in column names, integers only: ``_e4`` $0.0001 (price), ``_e2`` 0.01 contract (count),
  ``_e6`` $0.000001 (money), ``_ms`` epoch milliseconds.
* ``trader_orders`` holds the latest view of each order, keyed by ``client_order_id`` (upserted);
  ``trader_order_events`` holds every distinct state the order went through, in order of ``id``.
* ``trader_fills`` is keyed by ``trade_id`` and written insert-or-ignore: the WebSocket and REST
  deliver the same fill, and a restart may book it again; it is stored once.
* Snapshot tables (positions, cash, status) are append-only; the newest row per key wins and ``id``
  orders rows that share a millisecond.
* ``drift_events`` belong to one ``calibration_reports`` row and go with it (ON DELETE CASCADE).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kalshiflow.store.models import Base, BigIntPk


class TraderOrderRow(Base):
    """The latest state of one order, ours (``open``/``close``) or adopted (``external``)."""

    __tablename__ = "trader_orders"

    client_order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(String(128), index=True)
    ticker: Mapped[str] = mapped_column(String(128))
    side: Mapped[str] = mapped_column(String(3))  # BookSide: "bid" buys YES, "ask" buys NO
    yes_price_e4: Mapped[int] = mapped_column(Integer)
    count_e2: Mapped[int] = mapped_column(BigInteger)
    filled_e2: Mapped[int] = mapped_column(BigInteger)
    remaining_e2: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(24), index=True)  # OrderState value
    purpose: Mapped[str] = mapped_column(String(16))  # OrderPurpose value
    close_reason: Mapped[str | None] = mapped_column(String(64))
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    order_group_id: Mapped[str | None] = mapped_column(String(128))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(Text)
    fees_e6: Mapped[int] = mapped_column(BigInteger)
    reserved_e6: Mapped[int] = mapped_column(BigInteger)  # cash held back while it rests


class TraderOrderEventRow(Base):
    """One step of an order's history: a new state, fill level, price/size or detail."""

    __tablename__ = "trader_order_events"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(String(128), index=True)
    state: Mapped[str] = mapped_column(String(24))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    yes_price_e4: Mapped[int] = mapped_column(Integer)
    count_e2: Mapped[int] = mapped_column(BigInteger)
    filled_e2: Mapped[int] = mapped_column(BigInteger)
    remaining_e2: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(Text)


class TraderFillRow(Base):
    """One execution, once. ``close_reason`` is the closing order's reason at the time of the fill."""

    __tablename__ = "trader_fills"

    trade_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), index=True)
    client_order_id: Mapped[str | None] = mapped_column(String(128))
    ticker: Mapped[str] = mapped_column(String(128), index=True)
    side: Mapped[str] = mapped_column(String(3))
    yes_price_e4: Mapped[int] = mapped_column(Integer)
    count_e2: Mapped[int] = mapped_column(BigInteger)
    is_taker: Mapped[bool] = mapped_column(Boolean)
    fee_e6: Mapped[int] = mapped_column(BigInteger)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))  # "ws" | "rest" | ...
    close_reason: Mapped[str | None] = mapped_column(String(64))


class TraderPositionSnapshotRow(Base):
    """A position as the ledger held it right after a change (fill, settlement, reconciliation)."""

    __tablename__ = "trader_position_snapshots"
    __table_args__ = (Index("ix_trader_position_snapshots_ticker_id", "ticker", "id"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    ticker: Mapped[str] = mapped_column(String(128))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    position_e2: Mapped[int] = mapped_column(BigInteger)  # signed: + YES, - NO
    cost_basis_e6: Mapped[int] = mapped_column(BigInteger)  # fees to open included
    realized_pnl_e6: Mapped[int] = mapped_column(BigInteger)
    fees_paid_e6: Mapped[int] = mapped_column(BigInteger)
    opened_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_fill_ms: Mapped[int | None] = mapped_column(BigInteger)


class TraderCashRow(Base):
    """The ledger's available cash after a change, and what caused it."""

    __tablename__ = "trader_cash"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    cash_e6: Mapped[int] = mapped_column(BigInteger)
    cause: Mapped[str] = mapped_column(String(32))  # fill, settlement, reconciliation


class TraderSettlementRow(Base):
    """A market's settlement as booked; a market settles once, so the ticker is the key."""

    __tablename__ = "trader_settlements"

    ticker: Mapped[str] = mapped_column(String(128), primary_key=True)
    result: Mapped[str] = mapped_column(String(16))
    revenue_e6: Mapped[int] = mapped_column(BigInteger)
    settled_ms: Mapped[int] = mapped_column(BigInteger)


class CalibrationReportRow(Base):
    """One calibration pass: its outcome and totals; per-step detail as JSON text."""

    __tablename__ = "calibration_reports"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    started_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    duration_ms: Mapped[int] = mapped_column(BigInteger)
    ok: Mapped[bool] = mapped_column(Boolean)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    rest_calls: Mapped[int] = mapped_column(Integer)
    cash_drift_e6: Mapped[int] = mapped_column(BigInteger)  # exchange minus ledger
    drift_count: Mapped[int] = mapped_column(Integer)
    steps_json: Mapped[str] = mapped_column(Text)


class DriftEventRow(Base):
    """One difference between ledger and exchange that a calibration corrected, with its size."""

    __tablename__ = "drift_events"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("calibration_reports.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    ticker: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text)
    count_e2: Mapped[int | None] = mapped_column(BigInteger)  # size in contracts, when it has one
    money_e6: Mapped[int | None] = mapped_column(BigInteger)  # size in money, when it has one
    extra_json: Mapped[str] = mapped_column(Text)  # every other field of the drift value


class TraderStatusRow(Base):
    """One entry of the lifecycle's status history (ARCHITECTURE §5)."""

    __tablename__ = "trader_status_history"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(64))  # e.g. "calibrating -> syncing state"
    result_text: Mapped[str] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    previous_status_ms: Mapped[int | None] = mapped_column(BigInteger)  # time in the previous status


class TraderRunRow(Base):
    """One ``kalshiflow run`` process: its heartbeat and, after a clean stop, when it stopped.

    ``kalshiflow status`` tells running / stopped / crashed from it: a run without ``stopped_ms``
    whose process is gone (or whose heartbeat is old) did not stop cleanly. Times are wall-clock
    epoch milliseconds (the trader's own clock may run faster than wall time in the simulator).
    """

    __tablename__ = "trader_runs"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    started_ms: Mapped[int] = mapped_column(BigInteger)
    heartbeat_ms: Mapped[int] = mapped_column(BigInteger)
    stopped_ms: Mapped[int | None] = mapped_column(BigInteger)
    exit_code: Mapped[int | None] = mapped_column(Integer)
