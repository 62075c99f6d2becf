"""The backtest measures spread and markouts against the book without our own resting orders.

Why: a quote of ours that improves the touch moved the mid toward itself, so its fill looked like
half an improvement less spread earned and the next markout half of it more adverse.
"""

from __future__ import annotations

from kalshiflow.commands.backtest.session import _mid
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.events.ledger import OrderState
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder

CENT = PriceGrid.named("linear_cent")


def book() -> OrderBook:
    """YES bids 40¢ x10, 45¢ x1; NO bids 45¢ x10 (YES ask 55¢), 48¢ x1 (YES ask 52¢)."""
    b = OrderBook("MKT", CENT)
    assert b.apply_snapshot([(4000, 1000), (4500, 100)], [(4500, 1000), (4800, 100)], 0)
    return b


def ours(
    side: BookSide, yes_price: int, contracts: int, state: OrderState = OrderState.RESTING
) -> TrackedOrder:
    return TrackedOrder(
        client_order_id=f"kf-{side}-{yes_price}",
        ticker="MKT",
        side=side,
        yes_price=Price(yes_price),
        count=Count.contracts(contracts),
        purpose=OrderPurpose.OPEN,
        created_ms=0,
        state=state,
        remaining=Count.contracts(contracts),
    )


def test_without_orders_of_ours_the_mid_is_the_books() -> None:
    assert _mid(book()) == (0.45 + 0.52) / 2


def test_a_touch_that_is_only_ours_is_skipped_on_either_side() -> None:
    assert _mid(book(), [ours(BookSide.BID, 4500, 1)]) == (0.40 + 0.52) / 2
    assert _mid(book(), [ours(BookSide.ASK, 5200, 1)]) == (0.45 + 0.55) / 2


def test_a_level_we_share_with_others_stays_and_pending_orders_are_not_in_the_book() -> None:
    assert _mid(book(), [ours(BookSide.BID, 4000, 1)]) == (0.45 + 0.52) / 2
    assert _mid(book(), [ours(BookSide.BID, 4500, 1, OrderState.PENDING)]) == (0.45 + 0.52) / 2
    assert _mid(book(), [ours(BookSide.BID, 4500, 1, OrderState.PARTIALLY_FILLED)]) == (0.40 + 0.52) / 2
