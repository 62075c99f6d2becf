"""OrderBook against a naive reference model (two dicts), step by step, on every kind of grid.

The reference is written the slow, obvious way: a dict per ladder, best bid = max of its keys,
asks = 1 - the other ladder's max, mid and microprice computed with Fraction from those. After the
snapshot and after every delta the book must agree with it on everything it exposes.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import STRUCTURES, PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import PRICE_SCALE, Count, Price
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.bookstore import BookStore

YES, NO = OutcomeSide.YES, OutcomeSide.NO
SIDES = (YES, NO)
T = 1_790_000_000_000

grids = st.sampled_from(sorted(STRUCTURES)).map(PriceGrid.named)
sizes = st.integers(1, 100_000)  # 0.01 .. 1,000 contracts


class Reference:
    """The obvious model of a bids-only book."""

    def __init__(self, yes: dict[int, int], no: dict[int, int]) -> None:
        self.ladders = {YES: dict(yes), NO: dict(no)}

    def apply(self, side: OutcomeSide, price: int, delta: int) -> None:
        new = self.ladders[side].get(price, 0) + delta
        assert new >= 0
        if new:
            self.ladders[side][price] = new
        else:
            self.ladders[side].pop(price, None)

    def best_bid(self, side: OutcomeSide) -> int | None:
        ladder = self.ladders[side]
        return max(ladder) if ladder else None

    def best_ask(self, side: OutcomeSide) -> int | None:
        other = self.best_bid(NO if side is YES else YES)
        return None if other is None else PRICE_SCALE - other


def check_equal(book: OrderBook, ref: Reference) -> None:
    assert book.valid
    for side in SIDES:
        other = NO if side is YES else YES
        ladder = ref.ladders[side]
        assert book.ladder(side) == tuple(sorted(ladder.items()))
        assert book.best_bid(side) == ref.best_bid(side)
        assert book.best_ask(side) == ref.best_ask(side)
        for touch in (book.best_bid(side), book.best_ask(side)):
            assert touch is None or type(touch) is Price  # validated once, handed out as Price
        assert book.best_bid_size(side) == (ladder[max(ladder)] if ladder else 0)
        descending = sorted(ladder.items(), reverse=True)
        assert book.bids(side, 3) == descending[:3]
        assert book.bid_depth(side, 3) == sum(s for _, s in descending[:3])
        assert book.asks(other, 2) == [(PRICE_SCALE - q, s) for q, s in descending[:2]]
        bid, ask = ref.best_bid(side), ref.best_ask(side)
        if bid is None or ask is None:
            assert book.mid(side) is None
            assert book.microprice(side) is None
        else:
            assert book.mid(side) == Fraction(bid + ask, 2)
            bid_size = ladder[bid]
            ask_size = ref.ladders[other][PRICE_SCALE - ask]
            assert book.microprice(side) == Fraction(bid * ask_size + ask * bid_size, bid_size + ask_size)


def ladders_on(grid: PriceGrid) -> st.SearchStrategy[dict[int, int]]:
    return st.dictionaries(st.sampled_from([int(p) for p in grid.tradable]), sizes, max_size=20)


@st.composite
def books(draw: st.DrawFn) -> tuple[PriceGrid, dict[int, int], dict[int, int]]:
    grid = draw(grids)
    return grid, draw(ladders_on(grid)), draw(ladders_on(grid))


def snapshot_of(ladder: dict[int, int]) -> list[tuple[Price, Count]]:
    return [(Price(p), Count(s)) for p, s in sorted(ladder.items())]


@pytest.mark.slow
@given(start=books(), data=st.data())
def test_book_equals_reference_after_snapshot_and_every_valid_delta(
    start: tuple[PriceGrid, dict[int, int], dict[int, int]], data: st.DataObject
) -> None:
    grid, yes, no = start
    tradable = [int(p) for p in grid.tradable]
    book = OrderBook("KXPROP", grid)
    assert book.apply_snapshot(snapshot_of(yes), snapshot_of(no), T)
    ref = Reference(yes, no)
    check_equal(book, ref)
    steps = data.draw(st.integers(0, 60), label="steps")
    for _ in range(steps):
        side = data.draw(st.sampled_from(SIDES))
        ladder = ref.ladders[side]
        kind = data.draw(st.sampled_from(["add", "change", "remove"] if ladder else ["add"]))
        if kind == "add":
            price = data.draw(st.sampled_from(tradable))
            delta = data.draw(sizes)
        else:
            price = data.draw(st.sampled_from(sorted(ladder)))
            size = ladder[price]
            delta = -size if kind == "remove" else data.draw(st.integers(-size + 1, 10_000))
        assert book.apply_delta(side, Price(price), Count(delta))
        ref.apply(side, price, delta)
        check_equal(book, ref)


@given(start=books(), data=st.data())
def test_any_delta_is_applied_exactly_or_invalidates_the_book(
    start: tuple[PriceGrid, dict[int, int], dict[int, int]], data: st.DataObject
) -> None:
    """Arbitrary deltas (off-grid prices, oversized decreases): never a clamp, never a partial step."""
    grid, yes, no = start
    valid_prices = {int(p) for p in grid.tradable}
    book = OrderBook("KXPROP", grid)
    book.apply_snapshot(snapshot_of(yes), snapshot_of(no), T)
    ref = Reference(yes, no)
    for _ in range(data.draw(st.integers(1, 40))):
        side = data.draw(st.sampled_from(SIDES))
        price = data.draw(st.integers(0, PRICE_SCALE))
        delta = data.draw(st.integers(-2_000, 2_000))
        before = (book.ladder(YES), book.ladder(NO))
        expect_ok = price in valid_prices and ref.ladders[side].get(price, 0) + delta >= 0
        assert book.apply_delta(side, Price(price), Count(delta)) is expect_ok
        if not expect_ok:
            assert not book.valid
            assert book.invalid_reason
            assert (book.ladder(YES), book.ladder(NO)) == before
            return
        ref.apply(side, price, delta)
        check_equal(book, ref)


@given(start=books())
def test_yes_and_no_are_mirror_images(start: tuple[PriceGrid, dict[int, int], dict[int, int]]) -> None:
    """Swapping the ladders swaps every YES answer with the NO answer; legs complement to $1."""
    grid, yes, no = start
    book, mirror = OrderBook("A", grid), OrderBook("B", grid)
    book.apply_snapshot(snapshot_of(yes), snapshot_of(no), T)
    mirror.apply_snapshot(snapshot_of(no), snapshot_of(yes), T)
    for side in SIDES:
        other = NO if side is YES else YES
        assert book.best_bid(side) == mirror.best_bid(other)
        assert book.best_ask(side) == mirror.best_ask(other)
        assert book.mid(side) == mirror.mid(other)
        assert book.microprice(side) == mirror.microprice(other)
        assert book.bids(side) == mirror.bids(other)
        assert book.asks(side) == mirror.asks(other)
    assert book.spread() == mirror.spread()
    yes_mid, no_mid = book.mid(YES), book.mid(NO)
    if yes_mid is not None and no_mid is not None:
        assert yes_mid + no_mid == PRICE_SCALE
        yes_micro, no_micro = book.microprice(YES), book.microprice(NO)
        assert yes_micro is not None
        assert no_micro is not None
        assert yes_micro + no_micro == PRICE_SCALE
        spread = book.spread()
        assert spread is not None
        assert book.best_ask(YES) == (book.best_bid(YES) or 0) + spread


@given(start=books(), data=st.data())
def test_snapshot_after_invalidation_restores_an_exact_book(
    start: tuple[PriceGrid, dict[int, int], dict[int, int]], data: st.DataObject
) -> None:
    grid, yes, no = start
    book = OrderBook("KXPROP", grid)
    book.apply_snapshot(snapshot_of(yes), snapshot_of(no), T)
    book.invalidate("seq gap")
    assert not book.apply_delta(YES, grid.tradable[0], Count(1))
    yes2, no2 = data.draw(ladders_on(grid)), data.draw(ladders_on(grid))
    assert book.apply_snapshot(snapshot_of(yes2), snapshot_of(no2), T + 1)
    check_equal(book, Reference(yes2, no2))


@given(start=books(), data=st.data())
def test_store_delta_path_keeps_the_same_book_as_the_reference(
    start: tuple[PriceGrid, dict[int, int], dict[int, int]], data: st.DataObject
) -> None:
    """``BookStore.apply_delta`` inlines the book's commonest case; every delta must still land
    exactly as the reference says (or invalidate the book), whichever path took it."""
    grid, yes, no = start
    valid_prices = {int(p) for p in grid.tradable}
    store = BookStore(ManualClock(T))
    store.register("KXPROP", grid)
    levels = {
        side: tuple((Price(p), Count(s)) for p, s in sorted(lad.items()))
        for side, lad in ((YES, yes), (NO, no))
    }
    assert store.apply_snapshot(OrderbookSnapshot(1, 1, "KXPROP", levels[YES], levels[NO]))
    book = store.book("KXPROP")
    assert book is not None
    ref = Reference(yes, no)
    for _ in range(data.draw(st.integers(1, 60))):
        side = data.draw(st.sampled_from(SIDES))
        ladder = ref.ladders[side]
        if ladder and data.draw(st.booleans()):
            price = data.draw(st.sampled_from(sorted(ladder)))  # an existing level: the inlined path
            delta = data.draw(st.integers(-ladder[price] - 1, 5_000))
        else:
            price = data.draw(st.integers(0, PRICE_SCALE))
            delta = data.draw(st.integers(-2_000, 2_000))
        expect_ok = price in valid_prices and ladder.get(price, 0) + delta >= 0
        assert (
            store.apply_delta(OrderbookDelta(1, 2, "KXPROP", side, Price(price), Count(delta))) is expect_ok
        )
        if not expect_ok:
            assert not book.valid
            return
        ref.apply(side, price, delta)
        check_equal(book, ref)
