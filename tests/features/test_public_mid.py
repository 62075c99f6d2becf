"""A position valued at the public mid (the training reward's ``RewardMark.MID``).

Why: the exit mark credits a passive quote's spread only at the unwind; the mid mark must credit it
at the fill -- and our own resting quote must not move the mid it is measured against.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from kalshiflow.domain.fees import FeeType, trade_fee
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.ledger import OrderState
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.features.public_mid import public_yes_touch, unrealized_at_mid
from kalshiflow.features.valuation import MarketView, PositionView, unrealized_at_exit
from kalshiflow.marketdata.book import OrderBook

CENT = PriceGrid.named("linear_cent")
MARKET = MarketView("MKT", MarketStatus.ACTIVE, 10**12, CENT)
ONE = Count.contracts(1)


@dataclass(frozen=True)
class Ours:
    side: BookSide
    yes_price: Price
    remaining: Count
    state: OrderState = OrderState.RESTING


def book(yes_bids: list[tuple[int, int]], no_bids: list[tuple[int, int]]) -> OrderBook:
    b = OrderBook("MKT", CENT)
    assert b.apply_snapshot(yes_bids, no_bids, 0)
    return b


def fee(taker: bool, price: int, count: Count = ONE) -> int:
    return int(trade_fee(FeeType.QUADRATIC, taker, Price(price), count, Fraction(1)))


def held(contracts: int, cost: int) -> PositionView:
    return PositionView("MKT", Count.contracts(contracts), Money(cost), 0)


def test_a_passive_buy_filled_below_the_mid_marks_positive_at_once_where_the_exit_mark_is_negative() -> None:
    # Public book 40¢ bid / 50¢ ask (NO bid 50¢); our YES bid at 41¢ filled: one contract, maker fee.
    b = book([(4000, 1000)], [(5000, 1000)])
    cost = 4100 * 100 + fee(False, 4100)
    position = held(1, cost)
    at_mid = unrealized_at_mid(position, b, MARKET)
    assert at_mid == 4500 * 100 - fee(True, 4000) - cost  # 45¢ mid, less the taker fee of selling at 40¢
    assert at_mid is not None
    assert at_mid > 0
    at_exit = unrealized_at_exit(position, b, MARKET)
    assert at_exit is not None
    assert at_exit < 0


def test_a_no_position_is_worth_the_no_mid_and_pays_the_fee_of_selling_into_the_no_bid() -> None:
    b = book([(4000, 1000)], [(5000, 1000)])  # NO: bid 50¢, ask 60¢ -> mid 55¢
    cost = 5300 * 200
    assert (
        unrealized_at_mid(held(-2, cost), b, MARKET)
        == 5500 * 200 - fee(True, 5000, Count.contracts(2)) - cost
    )


def test_our_own_resting_quote_does_not_move_the_mid() -> None:
    public = book([(4000, 1000)], [(5000, 1000)])
    # The same book with our YES bid of 1 at 44¢ and our YES ask of 1 at 47¢ (a NO bid at 53¢) in it.
    with_ours = book([(4000, 1000), (4400, 100)], [(5000, 1000), (5300, 100)])
    ours = [Ours(BookSide.BID, Price(4400), ONE), Ours(BookSide.ASK, Price(4700), ONE)]
    position = held(1, 4000 * 100)
    assert public_yes_touch(with_ours, ours) == public_yes_touch(public) == (4000, 5000)
    assert unrealized_at_mid(position, with_ours, MARKET, ours) == unrealized_at_mid(position, public, MARKET)
    # Counted as the public book's, our quotes would have moved the mark (45¢ -> 45.5¢).
    moved = unrealized_at_mid(position, with_ours, MARKET)
    assert moved is not None
    assert moved != unrealized_at_mid(position, public, MARKET)


def test_a_level_shared_with_others_stays_and_an_order_not_yet_resting_is_not_ours_in_the_book() -> None:
    b = book([(4000, 1000), (4400, 200)], [(5000, 1000)])
    assert public_yes_touch(b, [Ours(BookSide.BID, Price(4400), ONE)]) == (4400, 5000)
    assert public_yes_touch(b, [Ours(BookSide.BID, Price(4400), Count.contracts(2), OrderState.PENDING)]) == (
        4400,
        5000,
    )
    assert public_yes_touch(b, [Ours(BookSide.BID, Price(4400), Count.contracts(2))]) == (4000, 5000)


def test_no_public_mid_or_no_position_gives_none() -> None:
    only_ours = book([(4400, 100)], [(5000, 1000)])
    assert unrealized_at_mid(held(1, 0), only_ours, MARKET, [Ours(BookSide.BID, Price(4400), ONE)]) is None
    assert unrealized_at_mid(held(0, 0), book([(4000, 1000)], [(5000, 1000)]), MARKET) is None
    assert unrealized_at_mid(held(1, 0), None, MARKET) is None


def test_an_odd_number_of_hundredths_at_an_odd_tick_sum_rounds_the_half_micro_dollar_down() -> None:
    b = book([(4000, 1000)], [(5900, 1000)])  # YES 40¢ / 41¢: twice the mid is 8100
    position = PositionView("MKT", Count(1), Money(0), 0)  # 0.01 contract
    assert unrealized_at_mid(position, b, MARKET) == 8100 // 2 - fee(True, 4000, Count(1))
