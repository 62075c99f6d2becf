"""The trader journal end to end: a real Ledger driven through orders, partial and duplicate fills,
a cancel, a close and a settlement, with the store attached -- on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from kalshiflow.clock import ManualClock
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.ledger import LEDGER_EVENT_TYPES, CashChanged, LedgerEvent, PositionChanged
from kalshiflow.store.trader_models import (
    TraderCashRow,
    TraderFillRow,
    TraderOrderEventRow,
    TraderOrderRow,
    TraderPositionSnapshotRow,
    TraderSettlementRow,
)
from kalshiflow.store.trader_repo import TraderStore
from kalshiflow.trader.state.ledger import FillData, Ledger, SettlementData
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder

T0 = 1_790_000_000_000
MARKET = "KXTEST-26JAN01-T1"
OTHER = "KXTEST-26JAN01-T2"


def _order(cid: str, ticker: str, side: BookSide, price: int, count: int, ms: int, **kw: Any) -> TrackedOrder:
    return TrackedOrder(
        client_order_id=cid,
        ticker=ticker,
        side=side,
        yes_price=Price(price),
        count=Count(count),
        purpose=kw.pop("purpose", OrderPurpose.OPEN),
        created_ms=ms,
        **kw,
    )


def _fill(trade_id: str, order_id: str, ticker: str, side: BookSide, price: int, count: int, fee: int, ms: int,
          source: str = "ws") -> FillData:  # fmt: skip
    return FillData(
        trade_id=trade_id,
        order_id=order_id,
        ticker=ticker,
        side=side,
        yes_price=Price(price),
        count=Count(count),
        is_taker=trade_id.endswith("k"),
        fee=Money(fee),
        ts_ms=ms,
        source=source,
    )


@dataclass
class Capture:
    """The ledger's own view at each event, in the store's units, for comparison."""

    positions: list[tuple[Any, ...]] = field(default_factory=list)
    cash: list[tuple[int, int, str]] = field(default_factory=list)

    def __call__(self, event: LedgerEvent) -> None:
        if isinstance(event, PositionChanged):
            p = event.position
            self.positions.append(
                (
                    p.ticker,
                    event.ts_ms,
                    int(p.position),
                    int(p.cost_basis),
                    int(p.realized_pnl),
                    int(p.fees_paid),
                )
            )
        elif isinstance(event, CashChanged):
            self.cash.append((event.ts_ms, int(event.cash), event.cause))


def run_scenario(ledger: Ledger) -> None:
    """Open 10 YES, fill 3 + 2 (one fill delivered twice), cancel the rest; close the 5 with a reason;
    open NO on another market and see it settle; leave one order resting."""
    ledger.overwrite_cash(Money(1_000_000_000), T0)
    ledger.record_pending(_order("c1", MARKET, BookSide.BID, 5_600, 1_000, T0 + 1))
    ledger.on_acknowledged("c1", "o1", Count(0), Count(1_000), T0 + 2)
    assert ledger.apply_fill(_fill("t1", "o1", MARKET, BookSide.BID, 5_600, 300, 5_000, T0 + 3))
    assert not ledger.apply_fill(_fill("t1", "o1", MARKET, BookSide.BID, 5_600, 300, 5_000, T0 + 4, "rest"))
    assert ledger.apply_fill(_fill("t2k", "o1", MARKET, BookSide.BID, 5_600, 200, 3_500, T0 + 5))
    ledger.on_exchange_order(  # a read repeating what the ledger knows: no new history step
        order_id="o1", client_order_id="c1", ticker=MARKET, side=BookSide.BID, yes_price=Price(5_600),
        status="resting", filled=Count(500), remaining=Count(500), initial=Count(1_000), now_ms=T0 + 6,
    )  # fmt: skip
    ledger.on_canceled("c1", T0 + 7)
    close = _order(
        "c2", MARKET, BookSide.ASK, 6_900, 500, T0 + 8,
        purpose=OrderPurpose.CLOSE, close_reason="take_profit", reduce_only=True,
    )  # fmt: skip
    ledger.record_pending(close)
    ledger.on_acknowledged("c2", "o2", Count(0), Count(500), T0 + 9)
    assert ledger.apply_fill(_fill("t3k", "o2", MARKET, BookSide.ASK, 6_900, 500, 7_700, T0 + 10))
    ledger.record_pending(_order("c3", OTHER, BookSide.ASK, 3_000, 400, T0 + 11))
    ledger.on_acknowledged("c3", "o3", Count(400), Count(0), T0 + 12)
    assert ledger.apply_fill(_fill("t4k", "o3", OTHER, BookSide.ASK, 3_000, 400, 5_900, T0 + 12))
    ledger.apply_settlement(SettlementData(OTHER, "no", Money(4_000_000), T0 + 13))
    ledger.record_pending(_order("c4", MARKET, BookSide.BID, 5_000, 200, T0 + 14))
    ledger.on_acknowledged("c4", "o4", Count(0), Count(200), T0 + 15)


def _rows(engine: Engine, table: Any, order_by: Any) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(table).order_by(order_by)).mappings()]


def test_ledger_changes_are_journaled_exactly(engine: Engine, clock: ManualClock) -> None:
    ledger, capture = Ledger(), Capture()
    watching = ledger.bus.subscribe("capture", LEDGER_EVENT_TYPES)
    store = TraderStore(engine, clock, flush_interval_s=0.01)
    store.attach(ledger.bus)
    run_scenario(ledger)
    for event in watching.drain():
        capture(event)  # type: ignore[arg-type]  # ledger events only
    assert store.flush(10)

    orders = {
        row["client_order_id"]: row for row in _rows(engine, TraderOrderRow, TraderOrderRow.client_order_id)
    }
    assert set(orders) == set(ledger.orders) == {"c1", "c2", "c3", "c4"}
    for cid, order in ledger.orders.items():
        row = orders[cid]
        assert (row["order_id"], row["ticker"], row["side"], row["state"], row["purpose"]) == (
            order.order_id, order.ticker, order.side.value, order.state.value, order.purpose.value,
        )  # fmt: skip
        assert (row["yes_price_e4"], row["count_e2"], row["filled_e2"], row["remaining_e2"]) == (
            order.yes_price, order.count, order.filled, order.remaining,
        )  # fmt: skip
        assert (row["fees_e6"], row["reserved_e6"], row["updated_ms"]) == (
            order.fees,
            order.reserved,
            order.updated_ms,
        )
        assert (row["close_reason"], row["reduce_only"], row["created_ms"]) == (
            order.close_reason, order.reduce_only, order.created_ms,
        )  # fmt: skip
    assert (orders["c1"]["state"], orders["c1"]["filled_e2"], orders["c1"]["fees_e6"]) == (
        "canceled",
        500,
        8_500,
    )
    assert (orders["c2"]["state"], orders["c2"]["close_reason"]) == ("filled", "take_profit")
    assert orders["c4"]["state"] == "resting"

    history = [
        (row["state"], row["filled_e2"], row["remaining_e2"], row["ts_ms"])
        for row in _rows(engine, TraderOrderEventRow, TraderOrderEventRow.id)
        if row["client_order_id"] == "c1"
    ]
    assert history == [
        ("pending", 0, 1_000, T0 + 1),
        ("resting", 0, 1_000, T0 + 2),
        ("partially_filled", 300, 700, T0 + 3),
        ("partially_filled", 500, 500, T0 + 5),
        ("canceled", 500, 0, T0 + 7),
    ]

    fills = _rows(engine, TraderFillRow, TraderFillRow.ts_ms)
    assert [f["trade_id"] for f in fills] == ["t1", "t2k", "t3k", "t4k"]  # t1 stored once
    for row, fill in zip(fills, ledger.fills, strict=True):
        assert (row["order_id"], row["ticker"], row["side"], row["yes_price_e4"], row["count_e2"]) == (
            fill.order_id, fill.ticker, fill.side.value, fill.yes_price, fill.count,
        )  # fmt: skip
        assert (row["is_taker"], row["fee_e6"], row["ts_ms"], row["source"]) == (
            fill.is_taker, fill.fee, fill.ts_ms, fill.source,
        )  # fmt: skip
    assert [(f["client_order_id"], f["close_reason"]) for f in fills] == [
        ("c1", None), ("c1", None), ("c2", "take_profit"), ("c3", None),
    ]  # fmt: skip

    positions = [
        (
            r["ticker"],
            r["ts_ms"],
            r["position_e2"],
            r["cost_basis_e6"],
            r["realized_pnl_e6"],
            r["fees_paid_e6"],
        )
        for r in _rows(engine, TraderPositionSnapshotRow, TraderPositionSnapshotRow.id)
    ]
    assert positions == capture.positions
    cash = [(r["ts_ms"], r["cash_e6"], r["cause"]) for r in _rows(engine, TraderCashRow, TraderCashRow.id)]
    assert cash == capture.cash
    assert cash[0] == (T0, 1_000_000_000, "reconciliation")
    assert _rows(engine, TraderSettlementRow, TraderSettlementRow.ticker) == [
        {"ticker": OTHER, "result": "no", "revenue_e6": 4_000_000, "settled_ms": T0 + 13}
    ]

    # The read side returns the newest snapshot per ticker: the ledger's record, or for a settled
    # market (which the ledger forgets) the last one it announced.
    latest = {p.ticker: p for p in store.latest_positions(include_flat=True)}
    held = ledger.positions[MARKET]
    assert (latest[MARKET].position_e2, latest[MARKET].cost_basis_e6, latest[MARKET].realized_pnl_e6) == (
        held.position, held.cost_basis, held.realized_pnl,
    )  # fmt: skip
    settled = [p for p in capture.positions if p[0] == OTHER][-1]
    stored = latest[OTHER]
    assert (OTHER, stored.ts_ms, stored.position_e2, stored.cost_basis_e6, stored.realized_pnl_e6,
            stored.fees_paid_e6) == settled  # fmt: skip
    assert (stored.ts_ms, stored.position_e2, stored.cost_basis_e6) == (T0 + 13, 0, 0)
    assert store.latest_positions() == ()  # both markets are flat
    assert [o.client_order_id for o in store.resting_orders()] == ["c4"]
    last_cash = store.last_cash()
    assert last_cash is not None
    # The last cash the ledger announced (it does not announce reservations of resting orders).
    assert (last_cash.ts_ms, last_cash.cash_e6, last_cash.cause) == capture.cash[-1]
    metrics = store.close()
    assert metrics.dropped_by_kind == {}
    assert metrics.listener_errors == 0
    assert [s.name for s in ledger.bus.subscriptions] == ["capture"]  # close() detaches the store


def test_a_restart_delivering_the_same_fills_again_stores_them_once(
    engine: Engine, clock: ManualClock
) -> None:
    for _ in range(2):  # two trader runs, each with a fresh ledger, replaying the same fills
        ledger = Ledger()
        store = TraderStore(engine, clock, flush_interval_s=0.01)
        store.attach(ledger.bus)
        run_scenario(ledger)
        store.close()
    with engine.connect() as connection:
        assert connection.execute(select(TraderFillRow.trade_id).order_by(TraderFillRow.trade_id)).scalars().all() == [
            "t1", "t2k", "t3k", "t4k",
        ]  # fmt: skip
        assert len(connection.execute(select(TraderOrderRow.client_order_id)).all()) == 4


def test_the_listener_never_waits_for_the_database(engine: Engine, clock: ManualClock) -> None:
    gate = threading.Event()
    ledger = Ledger()
    store = TraderStore(engine, clock, flush_interval_s=0.01, writer_gate=gate)
    store.attach(ledger.bus)
    try:
        # The writer is held at the gate the whole time: if publishing or queuing rows waited for
        # the database, these calls would never return (the suite's timeout turns that into a failure).
        run_scenario(ledger)
        store.drain()
        assert store.flush(timeout_s=0.2) is False
        assert store.count_rows("trader_fills") == 0
        assert store.metrics().writer.buffer_len > 0
    finally:
        gate.set()
    assert store.flush(10)
    assert store.count_rows("trader_fills") == 4
    assert store.count_rows("trader_orders") == 4
    store.close()


def test_overflow_is_counted_by_kind_and_the_rest_is_written(engine: Engine, clock: ManualClock) -> None:
    gate = threading.Event()
    ledger = Ledger()
    store = TraderStore(engine, clock, max_buffer=5, flush_interval_s=0.01, writer_gate=gate)
    store.attach(ledger.bus)
    run_scenario(ledger)
    gate.set()
    assert store.flush(10)
    metrics = store.close()
    dropped = sum(metrics.dropped_by_kind.values())
    assert dropped > 0
    assert metrics.writer.items_dropped == dropped
    assert metrics.writer.items_written == metrics.writer.items_accepted == 5
    assert metrics.dropped_by_kind["fill"] == 4 - store.count_rows("trader_fills")


def test_a_bad_event_is_counted_and_never_raises_into_the_ledger(engine: Engine, clock: ManualClock) -> None:
    ledger = Ledger()
    store = TraderStore(engine, clock)
    store.attach(ledger.bus)
    store.on_ledger_event(PositionChanged(position=None, ts_ms=T0))  # type: ignore[arg-type]
    assert store.save_status({"status": "trading"}) is False  # no ts_ms
    assert store.metrics().listener_errors == 2
    store.close()


def test_the_store_opens_and_migrates_a_url_itself(db_url: str, clock: ManualClock) -> None:
    store = TraderStore(db_url, clock, flush_interval_s=0.01)
    ledger = Ledger()
    store.attach(ledger.bus)
    run_scenario(ledger)
    store.flush(10)
    assert [o.client_order_id for o in store.resting_orders()] == ["c4"]
    store.close()
