"""The public book -- what the rest of the market shows without our own resting orders -- and a
position valued at its mid.

Why the public book: a quote of ours that improves the touch moves the book's mid toward itself,
so measuring against that mid would count half the spread it improved by as not earned (the
backtest's spread decomposition) and would let our own quote move our own mark (the training
reward). Everything that measures us against "the market" reads the touch where someone else rests.

Why a mid mark (``unrealized_at_mid``): the exit mark (``valuation.unrealized_at_exit``, the bid of
the side held) credits a passive quote's spread only when the position is unwound, often hundreds
of decisions later; a reward marked at the mid credits it at the fill, so the decision that earned
it is the one the reward follows. It still subtracts the estimated taker fee of closing, so the
mark never claims a round trip cheaper than the exit mark's one.

Exact integers throughout: prices in $0.0001, counts in 0.01 contract, money in $0.000001.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Protocol

from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import MONEY_PER_PRICE_COUNT, PRICE_SCALE, Count, Price
from kalshiflow.events.ledger import OrderState
from kalshiflow.features.valuation import MarketView, PositionView, taker_fee

_YES: Final = OutcomeSide.YES
IN_BOOK: Final = frozenset({OrderState.RESTING, OrderState.PARTIALLY_FILLED})  # orders resting on the book


class RestingOrder(Protocol):
    """One of our orders, as far as the public book needs it (the trader's tracked orders satisfy it)."""

    @property
    def side(self) -> BookSide: ...

    @property
    def yes_price(self) -> Price: ...

    @property
    def remaining(self) -> Count: ...

    @property
    def state(self) -> OrderState: ...


class LadderBook(Protocol):
    """The part of ``marketdata.book.OrderBook`` read here: validity and the YES ladders, best first."""

    @property
    def valid(self) -> bool: ...

    def bids(self, side: OutcomeSide, levels: int | None = None) -> list[tuple[Price, Count]]: ...

    def asks(self, side: OutcomeSide, levels: int | None = None) -> list[tuple[Price, Count]]: ...


def public_touch(levels: Iterable[tuple[int, int]], own: Mapping[int, int]) -> int | None:
    """The best price of ``levels`` (best first) where someone other than us rests."""
    for price, size in levels:
        if int(size) > own.get(int(price), 0):
            return int(price)
    return None


def public_yes_touch(book: LadderBook | None, own: Iterable[RestingOrder] = ()) -> tuple[int, int] | None:
    """The public YES (bid, ask) in $0.0001, without ``own`` orders resting in the book; None when
    the book is invalid or either side has no one else in it."""
    if book is None or not book.valid:
        return None
    own_bids: dict[int, int] = {}
    own_asks: dict[int, int] = {}
    for order in own:
        if order.state in IN_BOOK:
            mine = own_bids if order.side is BookSide.BID else own_asks
            mine[int(order.yes_price)] = mine.get(int(order.yes_price), 0) + int(order.remaining)
    bid = public_touch(book.bids(_YES), own_bids)
    if bid is None:
        return None
    ask = public_touch(book.asks(_YES), own_asks)
    if ask is None:
        return None
    return bid, ask


def unrealized_at_mid(
    position: PositionView, book: LadderBook | None, market: MarketView, own: Iterable[RestingOrder] = ()
) -> int | None:
    """Unrealized P&L ($0.000001) of ``position`` valued at the public mid, after the estimated
    taker fee of closing at the public bid of the side held (the fee ``unrealized_at_exit`` takes,
    on the book without our quotes); None when flat or without a public mid.

    ``q x mid`` is computed as ``q x (bid + ask) // 2``: exact except for a half micro-dollar when
    the product is odd (an odd count of hundredths at an odd tick sum), rounded down.
    """
    held = int(position.position)
    if held == 0:
        return None
    touch = public_yes_touch(book, own)
    if touch is None:
        return None
    bid, ask = touch
    count = abs(held)
    if held > 0:  # +YES: worth the YES mid, closed by selling into the YES bid
        twice_mid, exit_price = bid + ask, bid
    else:  # -NO: worth the NO mid (1 - YES mid), closed by selling into the NO bid (1 - YES ask)
        twice_mid, exit_price = 2 * PRICE_SCALE - bid - ask, PRICE_SCALE - ask
    fee = taker_fee(market.fee_type, market.fee_multiplier, exit_price, count)
    return count * twice_mid * MONEY_PER_PRICE_COUNT // 2 - fee - int(position.cost_basis)
