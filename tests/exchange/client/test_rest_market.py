"""Market data over loopback: every endpoint round-trips and parses; lists run to the last page."""

from __future__ import annotations

import pytest
from tests.exchange.client.exchange_client_kit import N_MARKETS, ClientEnv

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange import rest_market
from kalshiflow.exchange.errors import ErrorKind, NotFoundError
from kalshiflow.exchange.models import MarketStatus


async def test_exchange_status_parses(env: ClientEnv) -> None:
    status = await env.alice.exchange_status()
    assert status.exchange_active
    assert status.trading_active


async def test_markets_follow_the_cursor_to_the_last_page(env: ClientEnv) -> None:
    one_page = await env.alice.list_markets()
    paged = await env.alice.list_markets(page_size=5)  # 24 markets -> 5 pages
    assert len(one_page) == N_MARKETS
    assert [m.ticker for m in paged] == [m.ticker for m in one_page]
    assert {m.ticker for m in one_page} == set(env.sim.engine.markets)


async def test_markets_async_iterator_and_filters(env: ClientEnv) -> None:
    event_ticker = env.sim.engine.markets[env.cent_ticker].event_ticker
    seen = [m async for m in env.alice.markets(event_ticker=event_ticker, page_size=2)]
    expected = {m.ticker for m in env.sim.engine.markets.values() if m.event_ticker == event_ticker}
    assert {m.ticker for m in seen} == expected
    assert await env.alice.list_markets(status="settled") == []
    picked = await env.alice.list_markets(tickers=[env.cent_ticker, env.subcent_ticker])
    assert {m.ticker for m in picked} == {env.cent_ticker, env.subcent_ticker}


async def test_market_carries_grid_times_and_top_of_book(env: ClientEnv) -> None:
    sim_market = env.sim.engine.markets[env.subcent_ticker]
    await env.bob.create_order(env.subcent_ticker, BookSide.BID, Price.parse("0.4100"), Count.contracts(7))
    await env.bob.create_order(env.subcent_ticker, BookSide.ASK, Price.parse("0.4400"), Count.contracts(3))
    market = await env.alice.market(env.subcent_ticker)
    assert market.status is MarketStatus.ACTIVE
    assert market.is_active
    assert market.grid == sim_market.grid
    assert market.close_time_ms == sim_market.close_ms
    assert market.open_time_ms == sim_market.open_ms
    assert (market.yes_bid, market.yes_bid_size) == (Price.parse("0.41"), Count.contracts(7))
    assert (market.yes_ask, market.yes_ask_size) == (Price.parse("0.44"), Count.contracts(3))
    assert market.no_bid == Price.parse("0.56")
    assert market.no_ask == Price.parse("0.59")


async def test_unknown_market_is_not_found(env: ClientEnv) -> None:
    with pytest.raises(NotFoundError) as excinfo:
        await env.alice.market("NO-SUCH-MARKET")
    assert excinfo.value.kind is ErrorKind.NOT_FOUND
    assert excinfo.value.status == 404
    assert "/markets/NO-SUCH-MARKET" in str(excinfo.value)


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
async def test_orderbook_levels_are_bids_on_each_leg(env: ClientEnv, side: BookSide) -> None:
    yes_price = Price.parse("0.3700")
    await env.bob.create_order(env.cent_ticker, side, yes_price, Count.contracts(4))
    book = await env.alice.orderbook(env.cent_ticker)
    if side is BookSide.BID:
        assert book.yes == ((yes_price, Count.contracts(4)),)
        assert book.best_yes_bid == yes_price
        assert book.best_no_ask == yes_price.complement()
        assert book.no == ()
    else:  # an ask at YES 0.37 rests as a NO bid at 0.63
        assert book.no == ((yes_price.complement(), Count.contracts(4)),)
        assert book.best_yes_ask == yes_price
        assert book.yes == ()


async def test_orderbooks_are_fetched_in_chunks(env: ClientEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rest_market, "ORDERBOOKS_PER_CALL", 5)
    await env.bob.create_order(env.cent_ticker, BookSide.BID, Price.parse("0.2000"), Count.contracts(1))
    tickers = sorted(env.sim.engine.markets)
    books = await env.alice.orderbooks(tickers)
    assert sorted(books) == tickers
    assert books[env.cent_ticker].best_yes_bid == Price.parse("0.20")


async def test_events_and_event_with_nested_markets(env: ClientEnv) -> None:
    events = await env.alice.events(page_size=2)
    assert {e.event_ticker for e in events} == set(env.sim.engine.events)
    event_ticker = env.sim.engine.markets[env.cent_ticker].event_ticker
    event = await env.alice.event(event_ticker)
    assert event.series_ticker == env.sim.engine.events[event_ticker].series_ticker
    assert env.cent_ticker in {m.ticker for m in event.markets}
    bare = await env.alice.event(event_ticker, with_nested_markets=False)
    assert bare.markets == ()
