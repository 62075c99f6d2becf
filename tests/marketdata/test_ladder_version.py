"""``BidLadder.version`` and ``BidLadder.total`` against the ladder's contents, on every mutation path.

The observation decides "did this side move?" by the version alone and reads the total instead of
summing the sizes, so both must hold after any mix of snapshots (good and bad), deltas through the
store's inlined resize and through the book (new level, removed level, integrity errors) and stream
invalidations: the total is the exact sum of the sizes, and a version once seen always stands for
the same contents (a changed ladder always has a new version).
"""

from __future__ import annotations

from functools import cache

from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import STRUCTURES, PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import PRICE_SCALE, Count, Price
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.book import BidLadder, OrderBook
from kalshiflow.marketdata.bookstore import BookStore

YES, NO = OutcomeSide.YES, OutcomeSide.NO
SIDES = (YES, NO)
T = 1_790_000_000_000
TICKER = "KXPROP"

grids = st.sampled_from(sorted(STRUCTURES)).map(PriceGrid.named)

Contents = tuple[tuple[int, int], ...]


class VersionWatch:
    """Every version seen per ladder -> the contents it stood for; checks each new observation."""

    def __init__(self) -> None:
        self.seen: dict[tuple[OutcomeSide, int], Contents] = {}

    def check(self, book: OrderBook) -> None:
        for side, ladder in ((YES, book.yes_bids), (NO, book.no_bids)):
            contents: Contents = tuple(sorted(ladder.sizes.items()))
            assert ladder.total == sum(ladder.sizes.values())
            assert ladder.prices == sorted(ladder.sizes)
            key = (side, ladder.version)
            # A version already seen with other contents: a change went unnoticed by the version.
            assert self.seen.setdefault(key, contents) == contents, f"version {ladder.version} reused"


def ladder_of(book: OrderBook, side: OutcomeSide) -> BidLadder:
    return book.yes_bids if side is YES else book.no_bids


@cache  # built once per grid: building a strategy per step was most of this file's run time
def levels_on(grid: PriceGrid) -> st.SearchStrategy[tuple[tuple[Price, Count], ...]]:
    """Snapshot levels: mostly a valid ladder, sometimes a bad one (off-grid price or size <= 0)."""
    tradable = tradable_on(grid)
    good = st.dictionaries(st.sampled_from(tradable), st.integers(1, 100_000), max_size=12)
    bad = st.dictionaries(st.integers(0, PRICE_SCALE), st.integers(-5, 100_000), min_size=1, max_size=12)
    return st.one_of(good, good, good, bad).map(
        lambda d: tuple((Price(p), Count(s)) for p, s in sorted(d.items()))
    )


@cache
def tradable_on(grid: PriceGrid) -> list[int]:
    return [int(p) for p in grid.tradable]


def delta_on(grid: PriceGrid, sizes: dict[int, int], data: st.DataObject) -> tuple[int, int]:
    """A (price, delta): mostly a resize of an existing level or a new on-grid level, sometimes
    anything (an off-grid price, a size driven negative: an integrity error)."""
    kind = data.draw(st.sampled_from(["resize", "resize", "resize", "new", "any"]))
    if kind == "resize" and sizes:
        price = data.draw(st.sampled_from(sorted(sizes)))
        return price, data.draw(st.integers(-sizes[price] - 1, 5_000))
    if kind == "new":
        return data.draw(st.sampled_from(tradable_on(grid))), data.draw(st.integers(1, 5_000))
    return data.draw(st.integers(0, PRICE_SCALE)), data.draw(st.integers(-2_000, 2_000))


@given(grid=grids, data=st.data())
def test_store_keeps_version_and_total_on_every_mutation(grid: PriceGrid, data: st.DataObject) -> None:
    store = BookStore(ManualClock(T))
    store.register(TICKER, grid)
    book = store.book(TICKER)
    assert book is not None
    watch = VersionWatch()
    watch.check(book)
    for _ in range(data.draw(st.integers(1, 80), label="steps")):
        kind = data.draw(st.integers(0, 19))
        if kind == 0 or (not book.valid and kind < 10):
            yes, no = data.draw(levels_on(grid)), data.draw(levels_on(grid))
            store.apply_snapshot(OrderbookSnapshot(1, 1, TICKER, yes, no))
        elif kind == 1:
            store.invalidate([TICKER], "seq gap")
        else:
            side = data.draw(st.sampled_from(SIDES))
            price, delta = delta_on(grid, ladder_of(book, side).sizes, data)
            store.apply_delta(OrderbookDelta(1, 2, TICKER, side, Price(price), Count(delta)))
        watch.check(book)


@given(grid=grids, data=st.data())
def test_book_keeps_version_and_total_on_every_mutation(grid: PriceGrid, data: st.DataObject) -> None:
    """The bare book's own paths (``apply_delta`` resizes an existing level itself)."""
    book = OrderBook(TICKER, grid)
    watch = VersionWatch()
    watch.check(book)
    for _ in range(data.draw(st.integers(1, 80), label="steps")):
        if data.draw(st.integers(0, 9)) == 0 or not book.valid:
            book.apply_snapshot(data.draw(levels_on(grid)), data.draw(levels_on(grid)), T)
        else:
            side = data.draw(st.sampled_from(SIDES))
            price, delta = delta_on(grid, ladder_of(book, side).sizes, data)
            book.apply_delta(side, Price(price), Count(delta))
        watch.check(book)


def test_every_applied_delta_moves_the_version_of_its_side_only() -> None:
    store = BookStore(ManualClock(T))
    grid = PriceGrid.named("linear_cent")
    book = store.register(TICKER, grid)
    one = (Price(4_000), Count(500))
    assert store.apply_snapshot(OrderbookSnapshot(1, 1, TICKER, (one,), (one,)))
    yes, no = book.yes_bids, book.no_bids
    for price, delta, total in ((4_000, 300, 800), (4_100, 200, 1_000), (4_100, -200, 800), (4_000, -800, 0)):
        before_yes, before_no = yes.version, no.version
        assert store.apply_delta(OrderbookDelta(1, 2, TICKER, YES, Price(price), Count(delta)))
        assert yes.version != before_yes
        assert no.version == before_no
        assert yes.total == total
    assert no.total == 500
