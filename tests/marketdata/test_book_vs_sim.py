"""A BookStore fed by the simulator's own book deltas mirrors the simulator's books exactly.

The matching engine runs in-process with random resting orders, crossing orders (fills), cancels,
decreases and amends on a whole-cent and a sub-cent market. Each ``BookDelta`` it emits is converted to the
wire model ``OrderbookDelta`` (as the stream client would produce it) and applied; after every
engine operation both ladders of every market equal ``engine.books[ticker].yes/.no``.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sim.engine.engine_kit import ASK, BID, GTC, IOC, T0, make_market, request, yes_price

from kalshiflow.clock import ManualClock
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.events import BookDelta, EngineEvent

TICKERS = ("KXCENT-26JAN01-T50", "KXDECI-26JAN01-T50")
GRIDS = ("linear_cent", "tapered_deci_cent")
ACCOUNTS = ("alice", "bob", "carol")


class Feed:
    """Engine listener that turns book events into wire deltas with a per-subscription seq."""

    def __init__(self, store: BookStore) -> None:
        self.store = store
        self.seq = 1
        self.deltas = 0

    def __call__(self, event: EngineEvent) -> None:
        if not isinstance(event, BookDelta):
            return
        self.seq += 1
        self.deltas += 1
        assert self.store.apply_delta(
            OrderbookDelta(
                sid=1,
                seq=self.seq,
                ticker=event.ticker,
                side=event.side,
                price=Price(event.price),
                delta=Count(event.delta),
                ts_ms=event.ts_ms,
                client_order_id=event.client_order_id,
            )
        )


def snapshot_from(engine: Engine, ticker: str) -> OrderbookSnapshot:
    book = engine.books[ticker]
    return OrderbookSnapshot(
        1,
        1,
        ticker,
        tuple((Price(p), Count(s)) for p, s in book.yes.ascending()),
        tuple((Price(p), Count(s)) for p, s in book.no.ascending()),
    )


def assert_mirrors(store: BookStore, engine: Engine) -> None:
    for ticker in TICKERS:
        book = store.book(ticker)
        assert book is not None
        assert book.valid
        sim = engine.books[ticker]
        assert book.ladder(OutcomeSide.YES) == tuple(sim.yes.ascending())
        assert book.ladder(OutcomeSide.NO) == tuple(sim.no.ascending())
        assert book.best_bid(OutcomeSide.YES) == sim.best_yes_bid()
        assert book.best_ask(OutcomeSide.YES) == sim.best_yes_ask()
        assert not book.is_crossed()


def random_step(engine: Engine, rng: random.Random) -> None:
    ticker = rng.choice(TICKERS)
    grid = engine.markets[ticker].grid.tradable
    roll = rng.random()
    resting = [o for o in engine.orders.values() if o.is_resting and o.ticker == ticker]
    try:
        if roll < 0.2 and resting:
            order = rng.choice(resting)
            engine.cancel_order(order.account_id, order.order_id)
        elif roll < 0.3 and resting:
            order = rng.choice(resting)
            engine.decrease_order(
                order.account_id, order.order_id, rng.randint(1, order.remaining_count), None
            )
        elif roll < 0.4 and resting:
            order = rng.choice(resting)
            own = rng.choice([p for p in grid if 4_000 <= p <= 6_000])
            engine.amend_order(
                order.account_id,
                order.order_id,
                ticker,
                order.side,
                yes_price(order.side, own),
                order.fill_count + rng.randint(1, 2_000),
            )
        else:
            side = rng.choice((BID, ASK))
            # Own prices around 50c so orders cross often: fills move both ladders.
            own = rng.choice([p for p in grid if 4_000 <= p <= 6_000])
            tif = IOC if roll > 0.9 else GTC
            size = rng.choice((100, 250, 1_000, rng.randint(1, 3_000)))
            engine.create_order(rng.choice(ACCOUNTS), request(side, own, size, ticker=ticker, tif=tif))
    except ExchangeError:
        pass  # rejected requests change nothing


def run_against_sim(seed: int, warmup: int, steps: int) -> tuple[BookStore, Feed, Engine]:
    clock = ManualClock(T0)
    engine = Engine(clock, seed=seed)
    for ticker, grid in zip(TICKERS, GRIDS, strict=True):
        make_market(engine, ticker, grid=grid)
    for account_id in ACCOUNTS:
        engine.add_account(account_id, 10**12)
    lifecycle.advance(engine, clock.now_ms())
    rng = random.Random(seed)
    for _ in range(warmup):  # the book exists before we subscribe: start from a snapshot
        random_step(engine, rng)
    store = BookStore(engine.clock)
    for ticker in TICKERS:
        store.register(ticker, engine.markets[ticker].grid)
        assert store.apply_snapshot(snapshot_from(engine, ticker))
    feed = Feed(store)
    engine.add_listener(feed)
    assert_mirrors(store, engine)
    for _ in range(steps):
        random_step(engine, rng)
        assert_mirrors(store, engine)
    return store, feed, engine


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), warmup=st.integers(0, 40))
def test_store_fed_by_engine_deltas_equals_engine_books_at_every_step(seed: int, warmup: int) -> None:
    store, feed, _ = run_against_sim(seed, warmup, steps=120)
    metrics = store.metrics()
    assert metrics.deltas_applied == feed.deltas
    assert metrics.integrity_errors == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_long_random_session_stays_exact_and_conflates(seed: int) -> None:
    store, feed, engine = run_against_sim(seed, warmup=20, steps=1_500)
    assert feed.deltas > 1_000
    assert len(engine.trades) > 100  # fills took liquidity off both ladders
    drained = store.drain_dirty()
    assert sorted(drained) == sorted(TICKERS)
    metrics = store.metrics()
    # 2 snapshots + every delta were marked; each market was drained once.
    assert metrics.updates_coalesced == 2 + feed.deltas - len(TICKERS)
