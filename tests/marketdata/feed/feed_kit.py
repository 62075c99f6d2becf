"""Helpers for the feed tests: an embedded simulator on a manual clock, a feed against it, stepping
simulated time, and comparing books (live store vs simulator engine vs replayed store)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from tests.sim.market.sim_harness import busy_profile
from tests.waiting import until

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.exchange.environments import ExchangeConnection
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_connect import StreamConfig
from kalshiflow.exchange.ws_status import BackoffPolicy
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.marketdata.feed import FeedConfig, MarketDataFeed
from kalshiflow.marketdata.recorder import Recorder
from kalshiflow.marketdata.replay import RecordedMarket, ReplayReader, ReplaySummary, replay_into
from kalshiflow.sim.runner import SimHandle, SimulatorConfig, start_simulator

FAST_BACKOFF = BackoffPolicy(initial_s=0.02, max_s=0.2, auth_initial_s=1.0)
Ladders = tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]


@contextlib.asynccontextmanager
async def sim_on_manual_clock(
    tmp_path: Path, *, seed: int = 5, n_markets: int = 6
) -> AsyncIterator[tuple[SimHandle, ManualClock]]:
    """The full simulator (server, participants, keep-alive listings) driven only by ``advance``."""
    clock = ManualClock()
    config = SimulatorConfig(
        port=0, seed=seed, n_markets=n_markets, data_dir=tmp_path / "sim", profile=busy_profile()
    )
    async with start_simulator(config, clock=clock) as handle:
        yield handle, clock


async def advance(handle: SimHandle, clock: ManualClock, seconds: float, steps: int = 1) -> None:
    """Move simulated time ``steps`` times by ``seconds``; each move is one scheduler step.

    Waits (with a deadline) until the scheduler has taken the step, so the books changed before
    this returns; never sleeps on luck.
    """
    for _ in range(steps):
        target = handle.scheduler.steps + 1
        clock.advance(seconds)
        await until(functools.partial(_stepped, handle, target), 5.0, "scheduler step")


def _stepped(handle: SimHandle, target: int) -> bool:
    return handle.scheduler.steps >= target


def connection_for(handle: SimHandle) -> ExchangeConnection:
    account = handle.accounts[0]
    assert account.private_key_path is not None
    return ExchangeConnection.from_settings(
        "sim", handle.address.rest_url, account.key_id, str(account.private_key_path), environ={}
    )


@contextlib.asynccontextmanager
async def running_feed(
    handle: SimHandle, clock: ManualClock, config: FeedConfig, recorder: Recorder | None = None
) -> AsyncIterator[MarketDataFeed]:
    connection = connection_for(handle)
    stream_config = StreamConfig(
        url=connection.ws_url, resync_deadline_s=0.5, command_timeout_s=2.0, backoff=FAST_BACKOFF, seed=1
    )
    async with KalshiRestClient.from_connection(connection, clock=clock) as rest:
        feed = MarketDataFeed(
            rest, stream_config, connection.signer(), config, clock=clock, recorder=recorder
        )
        async with feed:
            yield feed


def store_ladders(store: BookStore, ticker: str) -> Ladders | None:
    book = store.book(ticker)
    if book is None or not book.valid:
        return None
    return tuple(book.ladder(OutcomeSide.YES)), tuple(book.ladder(OutcomeSide.NO))


def book_ladders(store: BookStore, ticker: str) -> Ladders | None:
    """The book's ladders whether or not it is valid (None: no book)."""
    book = store.book(ticker)
    if book is None:
        return None
    return tuple(book.ladder(OutcomeSide.YES)), tuple(book.ladder(OutcomeSide.NO))


def engine_ladders(handle: SimHandle, ticker: str) -> Ladders:
    book = handle.sim.engine.books[ticker]
    return tuple(book.yes.ascending()), tuple(book.no.ascending())


def books_match_engine(feed: MarketDataFeed, handle: SimHandle, tickers: Iterable[str]) -> bool:
    return all(
        feed.stream.book_valid(t) and store_ladders(feed.books, t) == engine_ladders(handle, t)
        for t in tickers
    )


async def wait_books_match(feed: MarketDataFeed, handle: SimHandle, within_s: float = 10.0) -> None:
    tickers = feed.tickers
    await feed.stream.wait_for(lambda: books_match_engine(feed, handle, tickers), within_s)


def replay_session(database: str, session_id: int) -> tuple[BookStore, ReplaySummary]:
    """A fresh store rebuilt from the recorded session alone: grids, books and validity."""
    store = BookStore(ManualClock())
    with ReplayReader(database, session_id) as reader:
        summary = replay_into(store, reader)
    return store, summary


def recorded_grids(database: str, session_id: int) -> dict[str, PriceGrid]:
    """Ticker -> the grid the recording registered last for it."""
    with ReplayReader(database, session_id) as reader:
        return {item.ticker: item.grid for item in reader if isinstance(item, RecordedMarket)}


def comparable_metrics(store: BookStore) -> tuple[int, ...]:
    """The store's counters that depend only on what was applied (not on when it was drained)."""
    m = store.metrics()
    return (
        m.markets,
        m.valid_markets,
        m.deltas_applied,
        m.deltas_ignored,
        m.snapshots_applied,
        m.invalidations,
        m.integrity_errors,
        m.unknown_ticker_messages,
    )
