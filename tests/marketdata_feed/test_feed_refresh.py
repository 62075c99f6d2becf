"""Discovery refresh: a market that closes (or comes within the closing window) is unsubscribed and
its book forgotten; a freshly listed market is subscribed and its book follows the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.marketdata_feed.feed_kit import advance, running_feed, sim_on_manual_clock, until, wait_books_match

from kalshiflow.marketdata.discovery import DiscoveryConfig
from kalshiflow.marketdata.feed import FeedConfig
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
