"""``OrderIndex.live_closes``: the closing orders ``live()`` would list, without listing the rest."""

from __future__ import annotations

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.trader.state.order_index import OrderIndex
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder


def order(n: int, ticker: str, purpose: OrderPurpose, state: OrderState) -> TrackedOrder:
    return TrackedOrder(
        client_order_id=f"kf-{n}",
        ticker=ticker,
        side=BookSide.ASK if n % 2 else BookSide.BID,
        yes_price=Price.parse("0.50"),
        count=Count.contracts(1),
        purpose=purpose,
        created_ms=1_000 - n,  # later orders are older: the order is the index's, not the clock's
        state=state,
    )


def test_live_closes_are_the_live_closing_orders_in_the_order_live_lists_them() -> None:
    index = OrderIndex(history_limit=10)
    plan = [
        ("B", OrderPurpose.OPEN, OrderState.RESTING),
        ("A", OrderPurpose.CLOSE, OrderState.RESTING),
        ("B", OrderPurpose.CLOSE, OrderState.PENDING),
        ("A", OrderPurpose.CLOSE, OrderState.FILLED),  # finished: not live
        ("C", OrderPurpose.OPEN, OrderState.PARTIALLY_FILLED),
        ("B", OrderPurpose.CLOSE, OrderState.PARTIALLY_FILLED),
        ("C", OrderPurpose.CLOSE, OrderState.CANCELED),  # finished: not live
        ("A", OrderPurpose.CLOSE, OrderState.UNKNOWN),
    ]
    for n, (ticker, purpose, state) in enumerate(plan):
        index.track_live(order(n, ticker, purpose, state))
    closes = index.live_closes()
    assert [o.client_order_id for o in closes] == ["kf-2", "kf-5", "kf-1", "kf-7"]
    assert closes == [o for o in index.live() if o.purpose is OrderPurpose.CLOSE]
    # a close that finishes leaves the answer at once (before ``live()`` prunes it)
    closes[0].state = OrderState.CANCELED
    assert [o.client_order_id for o in index.live_closes()] == ["kf-5", "kf-1", "kf-7"]
