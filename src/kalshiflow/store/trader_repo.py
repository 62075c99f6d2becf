"""Journal the trader into the database -- orders, fills, positions, cash, settlements, calibration
reports, status history -- without the trader ever waiting for it, and read it back for ``status``.

The store *subscribes*: ``attach(ledger)`` adds a listener to the ledger's events, and the lifecycle
hands over calibration reports and status entries. The trader never asks the store anything to make
a decision (ARCHITECTURE §1). Invariants:

* **The event loop never waits.** A listener call copies the event's integers into row dicts
  (``store.trader_rows``) and appends them to a bounded ``BatchWriter``; a writer thread commits them
  in batches, one transaction per batch. A listener never raises into the ledger: a failure is
  logged and counted.
* **Overflow is counted, not silent.** A full buffer drops the row; ``metrics().dropped_by_kind``
  says how many of which kind, and the writer logs every overflow run. The next change of the same
  order or position writes its full current state again, so snapshots heal; dropped history rows
  and fills do not (a later reconciliation re-delivers fills, and they are stored then).
* **Idempotent where the exchange repeats itself.** Orders are upserted by ``client_order_id``,
  fills inserted-or-ignored by ``trade_id``, settlements by ticker.
* Order history rows are written only when something visible changed (state, price, size, fill
  level, detail): the ledger re-announces unchanged orders after every read.

The read side (``latest_positions`` ...) is blocking SQL for the ``kalshiflow status`` command and
the dashboard's startup; call it from the event loop only through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Connection, Engine, Table, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from kalshiflow.clock import Clock
from kalshiflow.events.bus import EventBus, Missed, Subscription
from kalshiflow.events.ledger import (
    LEDGER_EVENT_TYPES,
    CashChanged,
    FillBooked,
    LedgerEvent,
    OrderChanged,
    OrderSnapshot,
    PositionChanged,
    SettlementBooked,
)
from kalshiflow.events.trader import CalibrationCompleted, StatusEntry
from kalshiflow.store import db
from kalshiflow.store import trader_rows as rows
from kalshiflow.store.batch_writer import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_FLUSH_INTERVAL_S,
    DEFAULT_MAX_BUFFER,
    BatchWriter,
    BatchWriterMetrics,
)
from kalshiflow.store.trader_models import (
    CalibrationReportRow,
    DriftEventRow,
    TraderCashRow,
    TraderFillRow,
    TraderOrderEventRow,
    TraderOrderRow,
    TraderPositionSnapshotRow,
    TraderSettlementRow,
    TraderStatusRow,
)
from kalshiflow.store.trader_reads import (
    StoredCalibration,
    StoredCash,
    StoredOrder,
    StoredPosition,
    StoredStatus,
    read_last_calibration,
    read_last_cash,
    read_latest_positions,
    read_resting_orders,
    read_state_since,
    read_status_history,
)

log = logging.getLogger(__name__)


COMMIT_TIMEOUT_S: Final = 10.0  # how long ``commit_order`` waits for the writer


class StoreWriteError(RuntimeError):
    """A row that had to be durable before the trader went on could not be committed."""


class RowKind(StrEnum):
    ORDER = "order"
    ORDER_EVENT = "order_event"
    FILL = "fill"
    POSITION = "position"
    CASH = "cash"
    SETTLEMENT = "settlement"
    CALIBRATION = "calibration"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class _Op:
    kind: RowKind
    row: rows.Row
    children: tuple[rows.Row, ...] = ()  # drift rows of a calibration report


_TABLES: Final[Mapping[RowKind, Table]] = {
    RowKind.ORDER: TraderOrderRow.__table__,  # type: ignore[dict-item]
    RowKind.ORDER_EVENT: TraderOrderEventRow.__table__,  # type: ignore[dict-item]
    RowKind.FILL: TraderFillRow.__table__,  # type: ignore[dict-item]
    RowKind.POSITION: TraderPositionSnapshotRow.__table__,  # type: ignore[dict-item]
    RowKind.CASH: TraderCashRow.__table__,  # type: ignore[dict-item]
    RowKind.SETTLEMENT: TraderSettlementRow.__table__,  # type: ignore[dict-item]
    RowKind.CALIBRATION: CalibrationReportRow.__table__,  # type: ignore[dict-item]
    RowKind.STATUS: TraderStatusRow.__table__,  # type: ignore[dict-item]
}
_DRIFT_TABLE: Final[Table] = DriftEventRow.__table__  # type: ignore[assignment]
_UNIQUE_KEY: Final = {
    RowKind.ORDER: "client_order_id",
    RowKind.FILL: "trade_id",
    RowKind.SETTLEMENT: "ticker",
}
# Written in this order inside one transaction; the rest keep their arrival order per table.
_WRITE_ORDER: Final = (
    RowKind.ORDER,
    RowKind.ORDER_EVENT,
    RowKind.FILL,
    RowKind.POSITION,
    RowKind.CASH,
    RowKind.SETTLEMENT,
    RowKind.STATUS,
)


@dataclass(frozen=True, slots=True)
class TraderStoreMetrics:
    writer: BatchWriterMetrics
    dropped_by_kind: Mapping[str, int]  # rows refused because the buffer was full (or closed)
    listener_errors: int  # events or reports that could not be turned into rows (logged)


class TraderStore:
    """The trader's journal. ``database`` is a ``--db`` URL (opened, migrated and disposed here) or an
    ``Engine`` whose schema the caller migrated. ``clock`` stamps what the store itself reports.
    ``writer_gate`` is a test hook passed to the ``BatchWriter``.
    """

    def __init__(
        self,
        database: str | Engine,
        clock: Clock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        writer_gate: threading.Event | None = None,
    ) -> None:
        self._owns_engine = isinstance(database, str)
        if isinstance(database, str):
            self._engine = db.open_engine(database)
            db.migrate(self._engine)
        else:
            self._engine = database
        self._clock = clock
        self._writer: BatchWriter[_Op] = BatchWriter(
            self._engine,
            self._write,
            name="trader_store",
            batch_size=batch_size,
            flush_interval_s=flush_interval_s,
            max_buffer=max_buffer,
            writer_gate=writer_gate,
        )
        self._dropped: Counter[str] = Counter()
        self._listener_errors = 0
        self._last_order: dict[str, rows.Row] = {}  # by client_order_id; live orders only
        self._subscriptions: list[Subscription] = []
        self._closed = False

    @property
    def engine(self) -> Engine:
        return self._engine

    # -- write side (event loop; never blocks) -------------------------------------------------------

    def attach(self, bus: EventBus, max_queue: int = 200_000) -> None:
        """Journal every ledger event, status entry and calibration published on ``bus`` from now on.

        The bus queues the events (frozen values); they are turned into rows on the next turn of
        the event loop, or at ``flush``/``close``, so the publisher never runs the store's code.
        """
        if any(s.bus is bus for s in self._subscriptions):
            return  # attached already: a second subscription would write every row twice
        types = (*LEDGER_EVENT_TYPES, StatusEntry, CalibrationCompleted)
        subscription = bus.subscribe("store", types, max_queue=max_queue, on_ready=self.drain)
        self._subscriptions.append(subscription)

    def drain(self) -> None:
        """Turn every queued bus event into rows for the writer (event loop; never blocks)."""
        for subscription in self._subscriptions:
            for item in subscription.drain():
                if isinstance(item, Missed):
                    self._dropped["bus_missed"] += item.count
                    log.error("trader_store.events_missed", extra={"count": item.count})
                elif isinstance(item, StatusEntry):
                    self.save_status(item)
                elif isinstance(item, CalibrationCompleted):
                    self.save_calibration(item)
                else:
                    self.on_ledger_event(item)  # type: ignore[arg-type]  # the other subscribed types

    def on_ledger_event(self, event: LedgerEvent) -> None:
        """The ledger listener: copy the event into rows and queue them. Never raises."""
        try:
            self._queue_event(event)
        except Exception:
            self._listener_errors += 1
            log.exception("trader_store.event_failed", extra={"event": type(event).__name__})

    async def commit_order(self, order: OrderSnapshot) -> None:
        """Commit one order's row now, off the event loop, and return once it is durable.

        The executor awaits this before a create leaves the process (issue 8): a crash at any point
        after the send finds the order in the store. The row goes through the one writer thread
        (never dropped, committed with whatever else is queued, no second connection contending
        for SQLite's write lock); only the wait is synchronous. Raises ``StoreWriteError`` when the
        row could not be committed, so the order is not sent.
        """
        row = rows.order_row(OrderChanged(order, order.created_ms))  # copied now, on the loop thread
        failed_before = self._writer.metrics().items_write_failed
        try:
            self._writer.put_always(_Op(RowKind.ORDER, row))
        except RuntimeError as exc:  # the store is closing
            raise StoreWriteError(str(exc)) from None
        committed = await asyncio.to_thread(self._writer.flush, COMMIT_TIMEOUT_S)
        if not committed or self._writer.metrics().items_write_failed != failed_before:
            raise StoreWriteError(f"order {order.client_order_id} not committed to the store")

    def save_calibration(self, report: object) -> bool:
        """Queue a calibration report and its drift events (contract: ``store.trader_rows``)."""
        try:
            report_row, drift_rows = rows.calibration_rows(report)
        except Exception:
            self._listener_errors += 1
            log.exception("trader_store.calibration_refused")
            return False
        return self._put(_Op(RowKind.CALIBRATION, report_row, tuple(drift_rows)))

    def save_status(self, entry: object) -> bool:
        """Queue one status history entry (contract: ``store.trader_rows``)."""
        try:
            row = rows.status_row(entry)
        except Exception:
            self._listener_errors += 1
            log.exception("trader_store.status_refused")
            return False
        return self._put(_Op(RowKind.STATUS, row))

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything published so far is committed or given up (blocking)."""
        self.drain()
        return self._writer.flush(timeout_s)

    def close(self) -> TraderStoreMetrics:
        """Detach from the ledgers, drain the queue, stop the writer (blocking); final metrics."""
        if not self._closed:
            self._closed = True
            self.drain()
            for subscription in self._subscriptions:
                subscription.close()
            self._writer.close()
            if self._owns_engine:
                self._engine.dispose()
            metrics = self.metrics()
            if metrics.dropped_by_kind or metrics.writer.items_write_failed:
                log.error(
                    "trader_store.closed_with_loss",
                    extra={
                        "dropped": dict(metrics.dropped_by_kind),
                        "write_failed": metrics.writer.items_write_failed,
                        "at_ms": self._clock.now_ms(),
                    },
                )
        return self.metrics()

    async def aclose(self) -> TraderStoreMetrics:
        """``close`` from the event loop, off the loop thread."""
        return await asyncio.to_thread(self.close)

    def metrics(self) -> TraderStoreMetrics:
        return TraderStoreMetrics(
            writer=self._writer.metrics(),
            dropped_by_kind=dict(self._dropped),
            listener_errors=self._listener_errors,
        )

    def _queue_event(self, event: LedgerEvent) -> None:
        if isinstance(event, OrderChanged):
            self._queue_order(event)
        elif isinstance(event, FillBooked):
            self._put(_Op(RowKind.FILL, rows.fill_row(event)))
            if event.order is not None:
                # The fill added to the order's fees; when the order was already terminal (the create
                # answered "filled" before the fill arrived) the ledger announces no OrderChanged.
                self._queue_order(OrderChanged(event.order, event.fill.ts_ms), history=False)
        elif isinstance(event, PositionChanged):
            self._put(_Op(RowKind.POSITION, rows.position_row(event)))
        elif isinstance(event, CashChanged):
            self._put(_Op(RowKind.CASH, rows.cash_row(event)))
        elif isinstance(event, SettlementBooked):
            self._put(_Op(RowKind.SETTLEMENT, rows.settlement_row(event)))

    def _queue_order(self, event: OrderChanged, history: bool = True) -> None:
        row = rows.order_row(event)
        client_order_id = row["client_order_id"]
        last = self._last_order.get(client_order_id)
        if last == row:
            return
        if history and (last is None or rows.order_event_key(last) != rows.order_event_key(row)):
            self._put(_Op(RowKind.ORDER_EVENT, rows.order_event_row(row, event.ts_ms)))
        self._put(_Op(RowKind.ORDER, row))
        if event.order.is_terminal:
            self._last_order.pop(client_order_id, None)  # a terminal order never changes again
        else:
            self._last_order[client_order_id] = row

    def _put(self, op: _Op) -> bool:
        if self._writer.put(op):
            return True
        self._dropped[op.kind.value] += 1
        return False

    # -- writer thread -------------------------------------------------------------------------------

    def _write(self, connection: Connection, ops: list[_Op]) -> None:
        by_kind: dict[RowKind, list[rows.Row]] = {kind: [] for kind in _WRITE_ORDER}
        keyed: dict[RowKind, dict[str, rows.Row]] = {kind: {} for kind in _UNIQUE_KEY}
        calibrations: list[_Op] = []
        for op in ops:
            if op.kind is RowKind.CALIBRATION:
                calibrations.append(op)
            elif op.kind in keyed:
                key = op.row[_UNIQUE_KEY[op.kind]]
                if op.kind is RowKind.ORDER:
                    keyed[op.kind][key] = op.row  # the newest state of an order wins
                else:
                    keyed[op.kind].setdefault(key, op.row)  # fills/settlements: the first wins
            else:
                by_kind[op.kind].append(op.row)
        dialect = connection.dialect.name
        for kind in _WRITE_ORDER:
            batch = list(keyed[kind].values()) if kind in keyed else by_kind[kind]
            if not batch:
                continue
            table = _TABLES[kind]
            if kind is RowKind.ORDER:
                connection.execute(_upsert(table, dialect, _UNIQUE_KEY[kind]), batch)
            elif kind in keyed:
                connection.execute(_insert_or_ignore(table, dialect, _UNIQUE_KEY[kind]), batch)
            else:
                connection.execute(insert(table), batch)
        for op in calibrations:
            result = connection.execute(insert(_TABLES[RowKind.CALIBRATION]).values(op.row))
            if result.inserted_primary_key is None:
                raise RuntimeError("the database returned no id for a calibration report")
            report_id = int(result.inserted_primary_key[0])
            if op.children:
                connection.execute(
                    insert(_DRIFT_TABLE), [{**child, "report_id": report_id} for child in op.children]
                )

    # -- read side (blocking) ------------------------------------------------------------------------

    def latest_positions(self, include_flat: bool = False) -> tuple[StoredPosition, ...]:
        """The newest snapshot of every ticker (open positions only unless ``include_flat``)."""
        return read_latest_positions(self._engine, include_flat)

    def resting_orders(self) -> tuple[StoredOrder, ...]:
        """Orders that can still trade or are unresolved: pending, resting, partially filled, unknown."""
        return read_resting_orders(self._engine)

    def last_calibration(self) -> StoredCalibration | None:
        return read_last_calibration(self._engine)

    def last_cash(self) -> StoredCash | None:
        return read_last_cash(self._engine)

    def state_since(self) -> int | None:
        """Since when the last run has been in its last state, as the operator is told it."""
        return read_state_since(self._engine)

    def status_history(self, limit: int = 50) -> tuple[StoredStatus, ...]:
        """The newest ``limit`` status entries, newest first (as the status console shows them)."""
        return read_status_history(self._engine, limit)

    def count_rows(self, table: str) -> int:
        """Rows in one of the trader tables (for tests and ``status`` totals)."""
        tables = {t.name: t for t in (*_TABLES.values(), _DRIFT_TABLE)}
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(tables[table])).scalar_one())


def _dialect_insert(table: Table, dialect: str) -> Any:
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise RuntimeError(f"the trader store supports sqlite and postgresql, not {dialect}")


def _upsert(table: Table, dialect: str, key: str) -> Any:
    statement = _dialect_insert(table, dialect)
    columns = {c.name: statement.excluded[c.name] for c in table.columns if c.name != key}
    return statement.on_conflict_do_update(index_elements=[key], set_=columns)


def _insert_or_ignore(table: Table, dialect: str, key: str) -> Any:
    return _dialect_insert(table, dialect).on_conflict_do_nothing(index_elements=[key])
