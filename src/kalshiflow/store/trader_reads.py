"""Read the trader's journal back as plain frozen values, for ``kalshiflow status`` and the dashboard.

Separate from the writer so a reader (another process, or a thread) needs nothing but an engine.
Every value holds only ints, strings and bools in the store's units; nothing points at the ledger.
"Latest" means the highest ``id``: several rows can share a millisecond, ids never do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from kalshiflow.events.trader import TraderState, shown_since, trading_since_after
from kalshiflow.store.trader_models import (
    CalibrationReportRow,
    DriftEventRow,
    TraderCashRow,
    TraderOrderRow,
    TraderPositionSnapshotRow,
    TraderStatusRow,
)

# OrderState values that can still trade or are unresolved (trader.orders.LIVE); spelled out so the
# store's read side does not depend on the trader package.
LIVE_STATES = ("pending", "resting", "partially_filled", "unknown")


@dataclass(frozen=True, slots=True)
class StoredPosition:
    ticker: str
    ts_ms: int
    position_e2: int
    cost_basis_e6: int
    realized_pnl_e6: int
    fees_paid_e6: int
    opened_at_ms: int | None
    last_fill_ms: int | None


@dataclass(frozen=True, slots=True)
class StoredOrder:
    client_order_id: str
    order_id: str | None
    ticker: str
    side: str
    yes_price_e4: int
    count_e2: int
    filled_e2: int
    remaining_e2: int
    state: str
    purpose: str
    close_reason: str | None
    reduce_only: bool
    order_group_id: str | None
    created_ms: int
    updated_ms: int
    detail: str
    fees_e6: int
    reserved_e6: int


@dataclass(frozen=True, slots=True)
class StoredCash:
    ts_ms: int
    cash_e6: int
    cause: str


@dataclass(frozen=True, slots=True)
class StoredDrift:
    kind: str
    ticker: str | None
    detail: str
    count_e2: int | None
    money_e6: int | None
    extra_json: str


@dataclass(frozen=True, slots=True)
class StoredCalibration:
    id: int
    started_ms: int
    duration_ms: int
    ok: bool
    failure_reason: str | None
    rest_calls: int
    cash_drift_e6: int
    drift_count: int
    steps_json: str
    drift: tuple[StoredDrift, ...]

    @property
    def steps(self) -> Any:
        """The steps as stored (JSON decoded: lists, dicts, ints, strings)."""
        return json.loads(self.steps_json)


@dataclass(frozen=True, slots=True)
class StoredStatus:
    ts_ms: int
    status: str
    result_text: str
    duration_ms: int | None
    previous_status_ms: int | None


def read_latest_positions(engine: Engine, include_flat: bool = False) -> tuple[StoredPosition, ...]:
    snapshots = TraderPositionSnapshotRow.__table__
    newest = select(func.max(snapshots.c.id)).group_by(snapshots.c.ticker).scalar_subquery()
    query = select(snapshots).where(snapshots.c.id.in_(newest)).order_by(snapshots.c.ticker)
    with engine.connect() as connection:
        found = connection.execute(query).mappings().all()
    positions = (StoredPosition(**{k: v for k, v in row.items() if k != "id"}) for row in found)
    return tuple(p for p in positions if include_flat or p.position_e2 != 0)


def read_resting_orders(engine: Engine) -> tuple[StoredOrder, ...]:
    orders = TraderOrderRow.__table__
    query = (
        select(orders)
        .where(orders.c.state.in_(LIVE_STATES))
        .order_by(orders.c.created_ms, orders.c.client_order_id)
    )
    with engine.connect() as connection:
        return tuple(StoredOrder(**row) for row in connection.execute(query).mappings())


def read_last_cash(engine: Engine) -> StoredCash | None:
    cash = TraderCashRow.__table__
    query = select(cash.c.ts_ms, cash.c.cash_e6, cash.c.cause).order_by(cash.c.id.desc()).limit(1)
    with engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return None if row is None else StoredCash(**row)


def read_last_calibration(engine: Engine) -> StoredCalibration | None:
    reports = CalibrationReportRow.__table__
    drift = DriftEventRow.__table__
    with engine.connect() as connection:
        report = connection.execute(select(reports).order_by(reports.c.id.desc()).limit(1)).mappings().first()
        if report is None:
            return None
        drift_rows = connection.execute(
            select(drift).where(drift.c.report_id == report["id"]).order_by(drift.c.id)
        ).mappings()
        events = tuple(
            StoredDrift(**{k: v for k, v in row.items() if k not in ("id", "report_id")})
            for row in drift_rows
        )
    return StoredCalibration(**report, drift=events)


def read_status_history(engine: Engine, limit: int = 50) -> tuple[StoredStatus, ...]:
    status = TraderStatusRow.__table__
    query = (
        select(
            status.c.ts_ms,
            status.c.status,
            status.c.result_text,
            status.c.duration_ms,
            status.c.previous_status_ms,
        )
        .order_by(status.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return tuple(StoredStatus(**row) for row in connection.execute(query).mappings())


def read_state_since(engine: Engine) -> int | None:
    """Since when the last run has been in its last state, as the page and the terminal view say it
    (``events.trader.shown_since``: trading counts from the start of its stretch, through the
    periodic calibrations); None when no run wrote a status. Folds the last run's transitions (the
    entries with a ``previous_status_ms``) from its first entry, ``initializing``, on."""
    status = TraderStatusRow.__table__
    with engine.connect() as connection:
        start = connection.execute(
            select(status.c.id, status.c.ts_ms)
            .where(status.c.status == TraderState.INITIALIZING.value)
            .order_by(status.c.id.desc())
            .limit(1)
        ).first()
        if start is None:
            return None
        transitions = connection.execute(
            select(status.c.ts_ms, status.c.status)
            .where(status.c.id > start.id, status.c.previous_status_ms.is_not(None))
            .order_by(status.c.id)
        ).all()
    state, since_ms, trading_since_ms = TraderState.INITIALIZING, int(start.ts_ms), None
    for ts_ms, text in transitions:
        if text not in _STATES:  # a transition's status is its state's name; anything else is not one
            continue
        state, since_ms = TraderState(text), int(ts_ms)
        trading_since_ms = trading_since_after(state, since_ms, trading_since_ms)
    return shown_since(state, since_ms, trading_since_ms)


_STATES = frozenset(member.value for member in TraderState)
