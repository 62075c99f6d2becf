"""BookStore: registration, unknown tickers, invalidation, the dirty set and its conflation."""

from __future__ import annotations

import asyncio

import pytest

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.events.trader import BookChanged
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.exchange.ws_stream import BookSink as StreamBookSink
from kalshiflow.marketdata.book import AWAITING_SNAPSHOT
from kalshiflow.marketdata.bookstore import BookSink, BookStore

YES, NO = OutcomeSide.YES, OutcomeSide.NO
CENT = PriceGrid.named("linear_cent")
T0 = 1_790_000_000_000


def snap(
    ticker: str, yes: tuple[tuple[int, int], ...] = (), no: tuple[tuple[int, int], ...] = ()
) -> OrderbookSnapshot:
    return OrderbookSnapshot(
        1,
        1,
        ticker,
        tuple((Price(p), Count(s)) for p, s in yes),
        tuple((Price(p), Count(s)) for p, s in no),
    )


def delta(ticker: str, side: OutcomeSide, price: int, size: int, seq: int = 2) -> OrderbookDelta:
    return OrderbookDelta(1, seq, ticker, side, Price(price), Count(size))


def store_with(*tickers: str) -> tuple[BookStore, ManualClock]:
    clock = ManualClock(T0)
    store = BookStore(clock)
    for ticker in tickers:
        store.register(ticker, CENT)
        store.apply_snapshot(snap(ticker, yes=((4_000, 100),), no=((5_000, 100),)))
    store.drain_dirty()
    return store, clock


def test_bookstore_satisfies_the_stream_clients_book_sink() -> None:
    store = BookStore(ManualClock(T0))
    sink: BookSink = store
    stream_sink: StreamBookSink = store  # checked by mypy: the stream client can feed it directly
    sink.on_invalid([], "nothing")
    assert stream_sink.on_delta(delta("A", YES, 4_000, 1)) is False  # unknown market
    store.register("A", CENT)
    stream_sink.on_snapshot(snap("A"))
    assert stream_sink.on_delta(delta("A", YES, 4_000, 1)) is True
    assert stream_sink.on_delta(delta("A", YES, 4_000, -2)) is False  # rejected: stream resyncs


def test_registered_book_awaits_its_snapshot_and_ignores_deltas_until_then() -> None:
    store = BookStore(ManualClock(T0))
    book = store.register("A", CENT)
    assert store.register("A", CENT) is book  # idempotent
    assert not store.is_valid("A")
    assert book.invalid_reason == AWAITING_SNAPSHOT
    assert not store.apply_delta(delta("A", YES, 4_000, 100))
    assert store.metrics().deltas_ignored == 1
    assert store.drain_dirty() == []  # nothing changed
    assert store.apply_snapshot(snap("A", yes=((4_000, 100),)))
    assert store.is_valid("A")
    assert store.drain_dirty() == ["A"]


def test_registering_with_another_grid_starts_a_fresh_book() -> None:
    store, _ = store_with("A")
    book = store.register("A", PriceGrid.named("deci_cent"))
    assert not book.valid
    assert book.grid == PriceGrid.named("deci_cent")


@pytest.mark.parametrize("side", [YES, NO])
def test_deltas_apply_and_the_first_one_stamps_the_clock_time(side: OutcomeSide) -> None:
    store, clock = store_with("A")
    clock.advance(1.5)
    assert store.apply_delta(delta("A", side, 5_100, 250))
    clock.advance(0.5)
    assert store.apply_delta(delta("A", side, 5_100, -50))  # folded into the pending change
    book = store.book("A")
    assert book is not None
    assert book.best_bid(side) == 5_100
    assert book.best_bid_size(side) == 200
    assert store.drain_dirty_since() == [("A", T0 + 1_500)]
    assert store.metrics().deltas_applied == 2


@pytest.mark.parametrize("side", [YES, NO])
def test_every_delta_is_published_with_its_clock_time_and_touch(side: OutcomeSide) -> None:
    store, clock = store_with("A")
    changes = store.bus.subscribe("test", [BookChanged])
    touches = []
    for _ in range(3):
        clock.advance(0.001)
        assert store.on_delta(delta("A", side, 3_000, 100))
        book = store.book("A")
        assert book is not None
        touches.append((book.best_bid(YES), book.best_ask(YES)))
    seen = changes.drain()
    assert [(c.ticker, c.ts_ms, c.valid) for c in seen] == [("A", T0 + n, True) for n in (1, 2, 3)]  # type: ignore[attr-defined]
    assert [(c.yes_bid, c.yes_ask) for c in seen] == touches  # type: ignore[attr-defined]


def test_no_event_is_built_when_nobody_subscribed() -> None:
    store, _ = store_with("A")
    assert store.on_delta(delta("A", YES, 3_000, 100))
    assert store.bus.published == 0


def test_publishing_stops_when_the_last_subscriber_closes_and_dirty_marking_goes_on() -> None:
    store, clock = store_with("A", "B")
    changes = store.bus.subscribe("test", [BookChanged])
    assert store.on_delta(delta("A", YES, 3_000, 100))
    changes.close()
    clock.advance(0.001)
    assert store.on_delta(delta("A", YES, 3_000, 100))  # A already dirty: nothing to stamp
    assert store.on_delta(delta("B", YES, 3_000, 100))  # B turns dirty at the new time
    assert store.bus.published == 1
    assert store.drain_dirty_since() == [("A", T0), ("B", T0 + 1)]
    assert store.metrics().deltas_applied == 3


def test_a_subscriber_arriving_while_markets_are_dirty_sees_their_next_deltas() -> None:
    """A dirty market with nobody listening skips the notification on its deltas (``quiet``): a
    subscription made before its drain must still see its next delta (the bus tells the store)."""
    store, clock = store_with("A")
    assert store.on_delta(delta("A", YES, 3_000, 100))
    assert store.on_delta(delta("A", YES, 3_000, 100))  # dirty already, nobody listens: quiet
    changes = store.bus.subscribe("test", [BookChanged])
    clock.advance(0.001)
    assert store.on_delta(delta("A", NO, 4_000, 100))
    assert [(c.ticker, c.ts_ms) for c in changes.drain()] == [("A", T0 + 1)]  # type: ignore[attr-defined]
    assert store.drain_dirty_since() == [("A", T0)]
    assert store.metrics().deltas_applied == 3


def test_a_market_re_registered_while_dirty_stays_pending_once() -> None:
    store, clock = store_with("A")
    assert store.on_delta(delta("A", YES, 3_000, 100))
    book = store.register("A", PriceGrid.named("deci_cent"))  # a fresh book, the change still pending
    clock.advance(1)
    assert store.apply_snapshot(snap("A", yes=((4_000, 100),)))
    assert book.valid
    assert store.drain_dirty_since() == [("A", T0)]
    assert store.on_delta(delta("A", YES, 4_000, 100))
    assert store.drain_dirty_since() == [("A", T0 + 1_000)]


def test_messages_for_unknown_tickers_are_counted_and_ignored() -> None:
    store, _ = store_with("A")
    assert not store.apply_delta(delta("NOPE", YES, 4_000, 1))
    assert not store.apply_snapshot(snap("NOPE"))
    store.on_delta(delta("NOPE", NO, 4_000, 1))
    store.invalidate(["NOPE"], "gap")  # also harmless
    assert store.metrics().unknown_ticker_messages == 3
    assert store.drain_dirty() == []
    assert store.book("NOPE") is None
    assert not store.is_valid("NOPE")


def test_unregistered_market_is_unknown_afterwards() -> None:
    store, _ = store_with("A", "B")
    store.apply_delta(delta("A", YES, 4_000, 1))
    assert store.unregister("A")
    assert not store.unregister("A")
    assert not store.apply_delta(delta("A", YES, 4_000, 1))
    assert store.drain_dirty() == []  # dropped, still counted as drained
    assert store.metrics().unknown_ticker_messages == 1
    assert store.tickers == ("B",)


def test_updates_of_a_market_unregistered_or_regridded_while_dirty_still_count() -> None:
    """Each book counts its updates until its market is drained: a market forgotten before the
    drain, or re-registered on another grid, must not lose them from the counters."""
    store, _ = store_with("A", "B")
    for _ in range(3):
        store.apply_delta(delta("A", YES, 4_000, 1))
    store.unregister("A")
    store.apply_delta(delta("B", YES, 4_000, 1))
    store.apply_delta(delta("B", YES, 4_000, 1))
    store.register("B", PriceGrid.named("deci_cent"))  # a fresh book; B's change stays pending
    assert store.drain_dirty() == ["B"]
    metrics = store.metrics()
    assert metrics.deltas_applied == 5
    assert metrics.updates_coalesced == (3 - 1) + (2 - 1)
    assert metrics.markets_drained == 4


@pytest.mark.parametrize("side", [YES, NO])
def test_integrity_error_invalidates_notifies_and_a_snapshot_restores(side: OutcomeSide) -> None:
    broken: list[tuple[str, str]] = []
    clock = ManualClock(T0)
    store = BookStore(clock, on_integrity_error=lambda ticker, reason: broken.append((ticker, reason)))
    store.register("A", CENT)
    store.apply_snapshot(snap("A", yes=((4_000, 100),), no=((4_000, 100),)))
    store.drain_dirty()
    assert not store.apply_delta(delta("A", side, 4_000, -101))  # would go negative
    assert not store.is_valid("A")
    assert [ticker for ticker, _ in broken] == ["A"]
    assert store.drain_dirty() == ["A"]  # the actor learns the book went bad
    assert not store.apply_delta(delta("A", side, 4_000, 1))  # ignored until a snapshot
    assert not store.apply_delta(delta("A", side, 4_050, 1))
    m = store.metrics()
    assert (m.integrity_errors, m.invalidations, m.deltas_ignored, m.deltas_applied) == (1, 1, 2, 0)
    assert store.apply_snapshot(snap("A", yes=((3_900, 5),)))
    assert store.is_valid("A")
    assert store.apply_delta(delta("A", side, 4_200, 1))


def test_off_grid_delta_invalidates_the_book() -> None:
    store, _ = store_with("A")
    assert not store.apply_delta(delta("A", NO, 4_050, 1))
    assert not store.is_valid("A")
    book = store.book("A")
    assert book is not None
    assert "off-grid" in (book.invalid_reason or "")


def test_bad_snapshot_counts_as_an_integrity_error() -> None:
    store, _ = store_with("A")
    assert not store.apply_snapshot(snap("A", yes=((4_000, 0),)))
    m = store.metrics()
    assert (m.integrity_errors, m.invalidations, m.snapshots_applied) == (1, 1, 2)


def test_invalidate_from_the_stream_marks_books_until_their_snapshot() -> None:
    store, _ = store_with("A", "B", "C")
    assert store.invalidate(["A", "B"], "seq gap on sid 1") == 2
    assert store.invalidate(["A"], "again") == 0
    store.on_invalid(iter(["C"]), "error 25")
    assert [store.is_valid(t) for t in "ABC"] == [False, False, False]
    assert store.drain_dirty() == ["A", "B", "C"]
    assert store.metrics().invalidations == 3
    book = store.book("A")
    assert book is not None
    assert book.invalid_reason == "seq gap on sid 1"


def test_many_deltas_for_one_market_are_drained_once() -> None:
    store, _ = store_with("A", "B")
    for i in range(100):
        store.apply_delta(delta("A", YES, 3_000, 1, seq=i + 2))
    store.apply_delta(delta("B", NO, 3_000, 1))
    assert store.dirty_count == 2
    assert store.drain_dirty() == ["A", "B"]
    assert store.drain_dirty() == []
    m = store.metrics()
    assert m.deltas_applied == 101
    assert m.updates_coalesced == 99  # 101 updates, 2 markets drained
    book = store.book("A")
    assert book is not None
    assert book.size_at(YES, 3_000) == 100  # the drained market shows the newest book


@pytest.mark.parametrize("side", [YES, NO])
def test_a_zero_delta_counts_as_applied_whether_or_not_its_level_exists(side: OutcomeSide) -> None:
    # Update counts are derived from the ladders' versions, so even a delta that changes nothing
    # (a size change of 0, at a resting level or at an empty one) must be counted like any other.
    store, _ = store_with("A")
    level = 4_000 if side is YES else 5_000
    assert store.on_delta(delta("A", side, level, 0))
    assert store.on_delta(delta("A", side, 3_000, 0))
    assert store.drain_dirty() == ["A"]
    m = store.metrics()
    assert (m.deltas_applied, m.updates_coalesced) == (2, 1)


def test_coalesced_count_accumulates_over_drains() -> None:
    store, _ = store_with("A", "B")
    base = store.metrics().updates_coalesced  # the setup snapshots of A and B: 0
    for _ in range(3):
        store.apply_delta(delta("A", YES, 3_000, 1))
        store.apply_delta(delta("A", YES, 3_000, 1))
        store.apply_delta(delta("B", YES, 3_000, 1))
        assert store.drain_dirty() == ["A", "B"]
    m = store.metrics()
    assert m.updates_coalesced - base == 3
    assert m.markets_drained == 2 + 6


def test_drain_reports_when_each_market_first_became_dirty() -> None:
    store, clock = store_with("A", "B")
    store.apply_delta(delta("A", YES, 3_000, 1))
    clock.advance(0.2)
    store.apply_delta(delta("B", YES, 3_000, 1))
    store.apply_delta(delta("A", YES, 3_000, 1))
    assert store.drain_dirty_since() == [("A", T0), ("B", T0 + 200)]


async def test_wait_dirty_wakes_on_the_first_change_and_returns_at_once_while_dirty() -> None:
    store, _ = store_with("A")
    waiter = asyncio.create_task(store.wait_dirty())
    await asyncio.sleep(0)
    assert not waiter.done()
    store.on_delta(delta("A", YES, 3_000, 1))
    await asyncio.wait_for(waiter, 1)
    await asyncio.wait_for(store.wait_dirty(), 1)  # still dirty: no wait
    store.drain_dirty()
    second = asyncio.create_task(store.wait_dirty())
    await asyncio.sleep(0)
    assert not second.done()
    store.on_snapshot(snap("A"))
    await asyncio.wait_for(second, 1)


def test_metrics_count_markets_and_valid_books() -> None:
    store, _ = store_with("A", "B")
    store.register("C", CENT)
    m = store.metrics()
    assert (m.markets, m.valid_markets, m.snapshots_applied, m.dirty_markets) == (3, 2, 2, 0)


def test_the_change_hook_sees_every_snapshot_delta_and_invalidation() -> None:
    from kalshiflow.clock import ManualClock
    from kalshiflow.domain.grid import PriceGrid
    from kalshiflow.domain.orders import OutcomeSide
    from kalshiflow.domain.units import Count, Price
    from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
    from kalshiflow.marketdata.bookstore import BookStore

    clock = ManualClock()
    store = BookStore(clock)
    store.register("T", PriceGrid.named("linear_cent"))
    changes = store.bus.subscribe("test", [BookChanged])
    store.apply_snapshot(
        OrderbookSnapshot(1, 1, "T", ((Price(4000), Count(500)),), ((Price(5000), Count(300)),))
    )
    clock.advance(1)
    store.apply_delta(OrderbookDelta(1, 2, "T", OutcomeSide.YES, Price(4100), Count(100)))
    store.invalidate(["T"], "gap")
    seen = [c for c in changes.drain() if isinstance(c, BookChanged)]
    assert [(c.ticker, c.valid) for c in seen] == [("T", True), ("T", True), ("T", False)]
    assert seen[1].ts_ms == clock.now_ms()
