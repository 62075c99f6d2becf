"""Discovery refresh: a market that closes (or comes within the closing window) is unsubscribed and
its book forgotten; a freshly listed market is subscribed and its book follows the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.marketdata.feed.feed_kit import (
    advance,
    book_ladders,
    replay_session,
    running_feed,
    sim_on_manual_clock,
    store_ladders,
    wait_books_match,
)
from tests.waiting import until

from kalshiflow.marketdata.discovery import DiscoveryConfig
from kalshiflow.marketdata.feed import FeedConfig
from kalshiflow.marketdata.recorder import Recorder
from kalshiflow.marketdata.replay import RecordedMarket, ReplayReader
from kalshiflow.sim import lifecycle
from kalshiflow.sim.state import MarketStatus

REFRESH_S = 1.0
STEP_S = 0.5


async def test_closed_market_is_unsubscribed_and_new_listing_subscribed_by_the_periodic_refresh(
    tmp_path: Path,
) -> None:
    async with sim_on_manual_clock(tmp_path, n_markets=4) as (handle, clock):
        config = FeedConfig(discovery=DiscoveryConfig(top_n=None), refresh_s=REFRESH_S)
        async with running_feed(handle, clock, config) as feed:
            await feed.wait_books_valid()
            before = set(feed.tickers)
            assert before == set(handle.sim.engine.markets)
            victim = sorted(before)[0]
            lifecycle.set_close_time(handle.sim.engine, victim, clock.now_ms() + 100)
            await advance(handle, clock, STEP_S)
            assert handle.sim.engine.markets[victim].status is MarketStatus.CLOSED
            await advance(handle, clock, STEP_S)  # the next step lists a replacement (keep-alive)
            assert handle.scheduler.listings_added == 1
            (new_market,) = set(handle.sim.engine.markets) - before

            await advance(handle, clock, STEP_S, steps=2)  # past refresh_s: the refresh loop runs
            await until(lambda: victim not in feed.tickers and new_market in feed.tickers, 10.0, "refresh")
            assert feed.books.book(victim) is None
            await feed.wait_books_valid()
            await advance(handle, clock, STEP_S, steps=4)
            await wait_books_match(feed, handle)
            assert set(feed.tickers) == (before - {victim}) | {new_market}
            assert feed.progress().refresh_failures == 0


@pytest.mark.parametrize("closes_in_s", [60, 299])
async def test_market_entering_the_closing_window_is_unsubscribed(tmp_path: Path, closes_in_s: int) -> None:
    async with sim_on_manual_clock(tmp_path, n_markets=4) as (handle, clock):
        config = FeedConfig(discovery=DiscoveryConfig(top_n=None, closing_window_s=300), refresh_s=0)
        async with running_feed(handle, clock, config) as feed:
            await feed.wait_books_valid()
            victim = feed.tickers[-1]
            lifecycle.set_close_time(handle.sim.engine, victim, clock.now_ms() + closes_in_s * 1000)
            plan = await feed.refresh()
            assert plan.to_unsubscribe == (victim,)
            assert plan.to_subscribe == ()
            assert handle.sim.engine.markets[victim].status is MarketStatus.ACTIVE
            assert victim not in feed.tickers
            assert feed.books.book(victim) is None
            await advance(handle, clock, STEP_S, steps=4)
            await wait_books_match(feed, handle)
            assert (await feed.refresh()).is_empty


async def test_markets_added_by_a_refresh_are_recorded_and_replay_without_outside_grids(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path}/refresh.db"
    async with sim_on_manual_clock(tmp_path, n_markets=4) as (handle, clock):
        recorder = Recorder(db_url, clock)
        config = FeedConfig(discovery=DiscoveryConfig(top_n=None), refresh_s=0)
        async with running_feed(handle, clock, config, recorder) as feed:
            await feed.wait_books_valid()
            before = set(feed.tickers)
            victim = sorted(before)[0]
            lifecycle.set_close_time(handle.sim.engine, victim, clock.now_ms() + 100)
            await advance(handle, clock, STEP_S, steps=2)  # closes the victim, lists a replacement
            (new_market,) = set(handle.sim.engine.markets) - before
            plan = await feed.refresh()
            assert (plan.to_subscribe, plan.to_unsubscribe) == ((new_market,), (victim,))
            await feed.wait_books_valid()
            await advance(handle, clock, STEP_S, steps=4)
            await wait_books_match(feed, handle)
            live = {t: store_ladders(feed.books, t) for t in feed.tickers}
        validity = {t: feed.books.is_valid(t) for t in feed.tickers}  # after stop: all disconnected
    session_id = recorder.session_id
    assert session_id is not None
    with ReplayReader(db_url, session_id) as reader:
        markets = [item for item in reader if isinstance(item, RecordedMarket)]
    assert {m.ticker: m.grid for m in markets} == feed.grids
    (added,) = [m for m in markets if m.ticker == new_market]
    assert added.seq_no > 0  # recorded where the refresh registered it, before its snapshot
    replayed, summary = replay_session(db_url, session_id)
    assert summary.markets == len(before) + 1
    assert {t: book_ladders(replayed, t) for t in live} == live
    assert {t: replayed.is_valid(t) for t in live} == validity


async def test_a_pinned_market_stays_subscribed_inside_the_closing_window() -> None:
    """The trader pins markets it holds: their exits need books even when discovery would drop them."""
    from kalshiflow.marketdata.discovery import DiscoveryConfig, select_markets

    class _Market:
        def __init__(self, ticker: str, close_time_ms: int) -> None:
            from kalshiflow.domain.grid import PriceGrid
            from kalshiflow.domain.units import Count

            self.ticker = ticker
            self.event_ticker = ticker.rsplit("-", 1)[0]
            self.status = "active"
            self.close_time_ms = close_time_ms
            self.volume = Count(100)
            self.grid = PriceGrid.named("linear_cent")

    now = 1_790_000_000_000
    markets = [_Market("S-E-A", now + 60_000), _Market("S-E-B", now + 86_400_000)]
    config = DiscoveryConfig(top_n=10, closing_window_s=300)
    assert select_markets(markets, config, now).tickers == ("S-E-B",)
    assert set(select_markets(markets, config, now, pinned=("S-E-A",)).tickers) == {"S-E-A", "S-E-B"}
