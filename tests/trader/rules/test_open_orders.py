"""Opening orders: passive (post-only) pricing at or inside the touch, time to live, left-behind cancels.

Book of the worked examples: YES bid 0.40, NO bid 0.55 -> YES ask 0.45, NO ask 0.60 (5¢ spread).
"""

from __future__ import annotations

import pytest
from tests.trader.rules.rules_kit import GRID, NOW, book, p

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count
from kalshiflow.trader.config import OpenOrdersConfig
from kalshiflow.trader.decisions.actor import passive_price, touch_price
from kalshiflow.trader.execution.open_orders import StaleReason, stale_open_orders
from kalshiflow.trader.risk.types import TradeAction
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

WIDE = book("0.40", "0.55")
TIGHT = book("0.40", "0.59")  # YES ask 0.41: no room inside


@pytest.mark.parametrize(
    ("action", "inside", "at_touch", "crossing"),
    [
        (TradeAction.BUY_YES, "0.41", "0.40", "0.45"),
        (TradeAction.BUY_NO, "0.56", "0.55", "0.60"),
        (TradeAction.SELL_YES, "0.44", "0.45", "0.40"),
        (TradeAction.SELL_NO, "0.59", "0.60", "0.55"),
    ],
)
def test_passive_rests_inside_or_at_the_touch_aggressive_crosses(
    action: TradeAction, inside: str, at_touch: str, crossing: str
) -> None:
    assert passive_price(WIDE, action, GRID, 1) == p(inside)
    assert passive_price(WIDE, action, GRID, 0) == p(at_touch)
    assert touch_price(WIDE, action) == p(crossing)


@pytest.mark.parametrize("action", list(TradeAction))
def test_passive_never_crosses_on_a_one_tick_spread(action: TradeAction) -> None:
    price = passive_price(TIGHT, action, GRID, 3)
    assert price is not None
    if action in (TradeAction.BUY_YES, TradeAction.BUY_NO):
        assert price == TIGHT.best_bid(action.side)
    else:
        assert price == TIGHT.best_ask(action.side)


def order(
    side: BookSide, price: str, *, sent_ms: int = NOW, purpose: OrderPurpose = OrderPurpose.OPEN
) -> TrackedOrder:
    return TrackedOrder(
        client_order_id=f"c-{side}-{price}-{purpose}",
        ticker="MKT",
        side=side,
        yes_price=p(price),
        count=Count.contracts(1),
        purpose=purpose,
        created_ms=sent_ms,
        state=OrderState.RESTING,
        order_id="o-1",
        remaining=Count.contracts(1),
        sent_ms=sent_ms,
        close_reason="stop_loss" if purpose is OrderPurpose.CLOSE else None,
    )


def stale(orders: list[TrackedOrder], now_ms: int = NOW) -> list[tuple[str, StaleReason]]:
    found = stale_open_orders(orders, {"MKT": WIDE}, {"MKT": GRID}, now_ms, OpenOrdersConfig())
    return [(s.client_order_id, s.reason) for s in found]


def test_an_opening_order_expires_after_its_time_to_live() -> None:
    resting = order(BookSide.BID, "0.40")
    assert stale([resting], NOW + 29_999) == []
    assert stale([resting], NOW + 30_000) == [(resting.client_order_id, StaleReason.EXPIRED)]


@pytest.mark.parametrize(
    ("side", "kept", "left_behind"),
    [(BookSide.BID, "0.39", "0.38"), (BookSide.ASK, "0.46", "0.47")],  # YES bid 0.40, YES ask 0.45
)
def test_an_order_more_than_a_tick_behind_the_touch_is_cancelled(
    side: BookSide, kept: str, left_behind: str
) -> None:
    near, far = order(side, kept), order(side, left_behind)
    assert stale([near, far]) == [(far.client_order_id, StaleReason.BEHIND_TOUCH)]


def test_closing_orders_are_never_touched() -> None:
    close = order(BookSide.BID, "0.30", sent_ms=NOW - 10**6, purpose=OrderPurpose.CLOSE)
    assert stale([close]) == []
