"""OrderBook by example: derived asks, exact mid and microprice, depth, integrity errors.

Every test of a side runs for YES and NO: the book is built in terms of "own" and "other" ladders
so one body checks both legs (the classic 99 - p bug lives in exactly one of them).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.marketdata.book import AWAITING_SNAPSHOT, OrderBook

YES, NO = OutcomeSide.YES, OutcomeSide.NO
CENT = PriceGrid.named("linear_cent")
T = 1_790_000_000_000


def other(side: OutcomeSide) -> OutcomeSide:
    return NO if side is YES else YES


def p(text: str) -> Price:
    return Price.parse(text)


def c(text: str) -> Count:
    return Count.parse(text)


def book_with(
    side: OutcomeSide,
    own: list[tuple[str, str]],
    opposite: list[tuple[str, str]],
    grid: PriceGrid = CENT,
) -> OrderBook:
    """A valid book whose ``side`` ladder holds ``own`` and the other ladder ``opposite``."""
    book = OrderBook("KXT-1", grid)
    own_levels = sorted((p(a), c(b)) for a, b in own)
    opp_levels = sorted((p(a), c(b)) for a, b in opposite)
    yes, no = (own_levels, opp_levels) if side is YES else (opp_levels, own_levels)
    assert book.apply_snapshot(yes, no, T)
    return book


sides = pytest.mark.parametrize("side", [YES, NO])


def test_new_book_is_invalid_until_its_first_snapshot() -> None:
    book = OrderBook("KXT-1", CENT)
    assert not book.valid
    assert book.invalid_reason == AWAITING_SNAPSHOT
    assert not book.apply_delta(YES, p("0.50"), c("1"))
    assert book.ladder(YES) == ()
    assert book.apply_snapshot([], [], T + 5)
    assert book.valid
    assert book.invalid_reason is None
    assert book.snapshot_ms == T + 5


@sides
def test_asks_are_one_minus_the_other_legs_best_bid(side: OutcomeSide) -> None:
    # reference 6.1 example: yes best bid 0.42, no best bid 0.56 -> YES ask 0.44, spread 0.02
    book = book_with(side, [("0.42", "10"), ("0.40", "5")], [("0.56", "7"), ("0.30", "1")])
    assert book.best_bid(side) == p("0.42")
    assert book.best_ask(side) == p("0.44")
    assert book.best_bid(other(side)) == p("0.56")
    assert book.best_ask(other(side)) == p("0.58")
    assert book.best_bid_size(side) == c("10")
    assert book.best_ask_size(side) == c("7")
    assert book.spread() == p("0.02")


@sides
def test_empty_ladders_have_no_bid_ask_mid_or_spread(side: OutcomeSide) -> None:
    book = book_with(side, [("0.42", "10")], [])
    assert book.best_bid(side) == p("0.42")
    assert book.best_ask(side) is None
    assert book.best_ask_size(side) == 0
    assert book.best_bid(other(side)) is None
    assert book.best_ask(other(side)) == p("0.58")
    assert book.spread() is None
    assert book.mid(side) is None
    assert book.mid_x2(other(side)) is None
    assert book.microprice(side) is None


@sides
def test_mid_is_exact_in_half_units(side: OutcomeSide) -> None:
    book = book_with(side, [("0.42", "10")], [("0.57", "3")])  # ask 0.43: mid 0.425
    assert book.mid_x2(side) == 8_500
    assert book.mid(side) == Fraction(4_250)
    assert book.mid(other(side)) == 10_000 - Fraction(4_250)
    odd = book_with(
        side, [("0.4201", "10")], [("0.5700", "3")], PriceGrid.named("center_centi_edge_centi_cent")
    )
    assert odd.mid_x2(side) == 4_201 + 4_300
    assert odd.mid(side) == Fraction(8_501, 2)  # 0.42505: not representable in $0.0001, still exact
    assert isinstance(odd.mid(side), Fraction)


@sides
def test_microprice_weights_the_touch_by_the_opposite_size(side: OutcomeSide) -> None:
    # bid 0.40 x 30, ask 0.50 x 10: (0.40*10 + 0.50*30) / 40 = 0.475 -> nearer the ask
    book = book_with(side, [("0.40", "30")], [("0.50", "10")])
    assert book.microprice(side) == Fraction(4_750)
    assert book.microprice(other(side)) == 10_000 - Fraction(4_750)
    balanced = book_with(side, [("0.40", "1.5")], [("0.50", "1.5")])
    assert balanced.microprice(side) == balanced.mid(side)


@sides
def test_depth_lists_levels_best_first_and_sums_the_top_n(side: OutcomeSide) -> None:
    book = book_with(side, [("0.40", "1"), ("0.42", "2"), ("0.41", "3")], [("0.55", "4"), ("0.50", "5")])
    assert book.bids(side) == [(p("0.42"), c("2")), (p("0.41"), c("3")), (p("0.40"), c("1"))]
    assert book.bids(side, 2) == [(p("0.42"), c("2")), (p("0.41"), c("3"))]
    assert book.asks(side) == [(p("0.45"), c("4")), (p("0.50"), c("5"))]
    assert book.bid_depth(side, 2) == c("5")
    assert book.bid_depth(side) == c("6")
    assert book.ask_depth(side, 1) == c("4")
    assert book.ask_depth(side, 10) == c("9")
    assert book.bids(side, 0) == []
    assert book.level_count(side) == 3
    assert book.size_at(side, p("0.41")) == c("3")
    assert book.size_at(side, p("0.43")) == 0
    assert book.ladder(side) == ((p("0.40"), c("1")), (p("0.41"), c("3")), (p("0.42"), c("2")))


@sides
def test_delta_to_zero_removes_the_level_and_moves_the_best(side: OutcomeSide) -> None:
    book = book_with(side, [("0.42", "10"), ("0.40", "5")], [("0.50", "1")])
    assert book.apply_delta(side, p("0.42"), c("-10"))
    assert book.best_bid(side) == p("0.40")
    assert book.level_count(side) == 1
    assert book.best_ask(other(side)) == p("0.60")
    assert book.apply_delta(side, p("0.41"), c("0.01"))
    assert book.best_bid(side) == p("0.41")
    assert book.best_bid_size(side) == c("0.01")
    assert book.apply_delta(side, p("0.40"), c("-5"))  # a level below the best
    assert book.ladder(side) == ((p("0.41"), c("0.01")),)


@sides
def test_negative_size_invalidates_instead_of_clamping(side: OutcomeSide) -> None:
    book = book_with(side, [("0.42", "10")], [])
    assert not book.apply_delta(side, p("0.42"), c("-10.01"))
    assert not book.valid
    assert book.invalid_reason is not None
    assert "0.42" in book.invalid_reason or "4200" in book.invalid_reason
    assert book.size_at(side, p("0.42")) == c("10")  # untouched, not clamped to 0
    assert not book.apply_delta(side, p("0.42"), c("1"))  # ignored while invalid


@sides
def test_negative_delta_on_an_empty_level_invalidates(side: OutcomeSide) -> None:
    book = book_with(side, [], [])
    assert not book.apply_delta(side, p("0.30"), c("-1"))
    assert not book.valid


@sides
@pytest.mark.parametrize(
    ("grid", "price"),
    [
        ("linear_cent", "0.4250"),
        ("tapered_deci_cent", "0.5050"),
        ("center_whole_edge_half_cent", "0.0520"),
        ("deci_cent", "0.0000"),
        ("linear_cent", "1.0000"),
    ],
)
def test_off_grid_delta_invalidates(side: OutcomeSide, grid: str, price: str) -> None:
    book = book_with(side, [], [], PriceGrid.named(grid))
    assert not book.apply_delta(side, p(price), c("1"))
    assert not book.valid
    assert "off-grid" in (book.invalid_reason or "")


@sides
@pytest.mark.parametrize(
    ("grid", "price"),
    [
        ("tapered_deci_cent", "0.0510"),
        ("tapered_deci_cent", "0.9990"),
        ("center_whole_edge_half_cent", "0.0950"),
        ("center_centi_edge_centi_cent", "0.0001"),
        ("center_deci_edge_centi_cent", "0.9999"),
        ("center_deci_edge_centi_cent", "0.5010"),
    ],
)
def test_sub_cent_prices_on_their_grid_are_accepted(side: OutcomeSide, grid: str, price: str) -> None:
    book = book_with(side, [], [], PriceGrid.named(grid))
    assert book.apply_delta(side, p(price), c("2.5"))
    assert book.best_bid(side) == p(price)
    assert book.best_ask(other(side)) == Price(10_000 - p(price))


@sides
def test_bad_snapshot_leaves_an_empty_invalid_book_and_a_good_one_restores_it(side: OutcomeSide) -> None:
    book = book_with(side, [("0.40", "1")], [])
    off_grid = [(p("0.405"), c("1"))]
    own, opposite = (off_grid, []) if side is YES else ([], off_grid)
    assert not book.apply_snapshot(own, opposite, T)
    assert not book.valid
    assert (book.invalid_reason or "").startswith("bad snapshot")
    assert book.level_count(side) == 0
    good = [(p("0.41"), c("2"))]
    assert book.apply_snapshot(good, good, T + 1)
    assert book.valid
    assert book.invalid_reason is None
    assert book.best_bid(side) == p("0.41")


@pytest.mark.parametrize(
    "levels",
    [
        [(Price(4_000), Count(0))],
        [(Price(4_000), Count(-1))],
        [(Price(4_000), Count(1)), (Price(4_000), Count(2))],
    ],
)
def test_snapshot_with_non_positive_or_repeated_levels_is_rejected(levels: list[tuple[Price, Count]]) -> None:
    book = OrderBook("KXT-1", CENT)
    assert not book.apply_snapshot(levels, [], T)
    assert not book.valid


def test_invalidate_keeps_the_first_reason_until_a_snapshot() -> None:
    book = book_with(YES, [("0.40", "1")], [])
    assert book.invalidate("seq gap on sid 3")
    assert not book.invalidate("subscription error 25")
    assert book.invalid_reason == "seq gap on sid 3"
    assert book.apply_snapshot([], [], T)
    assert book.valid


@sides
def test_locked_book_is_reported_crossed_with_zero_spread(side: OutcomeSide) -> None:
    book = book_with(side, [("0.45", "1")], [("0.55", "1")])
    assert book.is_crossed()
    assert book.spread() == 0
    assert not book_with(side, [("0.45", "1")], [("0.54", "1")]).is_crossed()
