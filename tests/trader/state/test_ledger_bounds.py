"""The ledger's memory is bounded (issue 8): finished orders, fills and seen trade ids are history,
kept up to a limit, while every live order and position stays exact."""

from __future__ import annotations

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.trader.state.ledger import FillData, Ledger
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

LIMIT = 50


def trade(ledger: Ledger, n: int, now_ms: int) -> TrackedOrder:
    """Place, acknowledge and fill one order of 1 contract (alternating sides keeps the position small)."""
    side = BookSide.BID if n % 2 == 0 else BookSide.ASK
    order = TrackedOrder(
        client_order_id=f"kf-{n}",
        ticker="T",
        side=side,
        yes_price=Price.parse("0.50"),
        count=Count.contracts(1),
        purpose=OrderPurpose.OPEN,
        created_ms=now_ms,
    )
    ledger.record_pending(order)
    ledger.on_acknowledged(order.client_order_id, f"oid-{n}", Count(0), Count.contracts(1), now_ms)
    ledger.apply_fill(
        FillData(
            trade_id=f"t-{n}",
            order_id=f"oid-{n}",
            ticker="T",
            side=side,
            yes_price=Price.parse("0.50"),
            count=Count.contracts(1),
            is_taker=False,
            fee=Money(0),
            ts_ms=now_ms,
        )
    )
    return order


def test_finished_orders_fills_and_trade_ids_are_bounded_while_live_orders_stay() -> None:
    ledger = Ledger(history_limit=LIMIT)
    ledger.cash = Money.parse("1000")
    resting = TrackedOrder(
        client_order_id="kf-resting",
        ticker="T",
        side=BookSide.BID,
        yes_price=Price.parse("0.10"),
        count=Count.contracts(1),
        purpose=OrderPurpose.OPEN,
        created_ms=0,
    )
    ledger.record_pending(resting)
    ledger.on_acknowledged("kf-resting", "oid-resting", Count(0), Count.contracts(1), 0)
    for n in range(10 * LIMIT):
        order = trade(ledger, n, 1_000 + n)
        assert order.state is OrderState.FILLED
    assert len(ledger.orders) <= LIMIT + 1
    assert len(ledger.by_order_id) <= LIMIT + 1
    assert len(ledger.fills) <= LIMIT
    assert len(ledger.trade_ids) <= 10 * LIMIT  # dedupe window: several times the order history
    assert ledger.orders["kf-resting"].state is OrderState.RESTING  # live orders are never dropped
    assert ledger.order_by_exchange_id("oid-resting") is resting
    assert f"kf-{10 * LIMIT - 1}" in ledger.orders  # the newest finished ones are kept
    assert ledger.position("T").position == 0  # 500 alternating fills net to flat, exactly
    assert not ledger.apply_fill(  # a recent trade id is still recognised
        FillData(
            "t-499", "oid-499", "T", BookSide.ASK, Price.parse("0.50"), Count.contracts(1), False, Money(0), 0
        )
    )
