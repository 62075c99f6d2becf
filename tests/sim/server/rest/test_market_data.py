"""Public market-data endpoints over real HTTP, validated against the OpenAPI component schemas."""

from __future__ import annotations

import pytest
from tests.sim.server.rest.sim_rest_support import Env, SchemaCheck, order_body


async def test_exchange_status_and_schedule_match_the_spec(env: Env, check_schema: SchemaCheck) -> None:
    status = await env.public.get("/exchange/status")
    assert status.status_code == 200
    check_schema("ExchangeStatus", status.json())
    assert status.json()["trading_active"] is True
    schedule = await env.public.get("/exchange/schedule")
    check_schema("GetExchangeScheduleResponse", schedule.json())


async def test_markets_paginate_with_an_opaque_cursor(env: Env, check_schema: SchemaCheck) -> None:
    seen: list[str] = []
    cursor = ""
    while True:
        page = await env.public.get("/markets", params={"limit": 5, "cursor": cursor})
        assert page.status_code == 200
        check_schema("GetMarketsResponse", page.json())
        seen += [m["ticker"] for m in page.json()["markets"]]
        cursor = page.json()["cursor"]
        if not cursor:
            break
    assert seen == list(env.sim.engine.markets)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"cursor": "garbage!"}])
async def test_bad_list_parameters_are_400(env: Env, params: dict[str, str | int]) -> None:
    response = await env.public.get("/markets", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameters"


async def test_market_filters(env: Env) -> None:
    market = env.sim.engine.markets[env.cent_ticker]
    by_event = await env.public.get("/markets", params={"event_ticker": market.event_ticker})
    assert {m["event_ticker"] for m in by_event.json()["markets"]} == {market.event_ticker}
    by_tickers = await env.public.get(
        "/markets", params={"tickers": f"{env.cent_ticker},{env.subcent_ticker}"}
    )
    assert {m["ticker"] for m in by_tickers.json()["markets"]} == {env.cent_ticker, env.subcent_ticker}
    settled = await env.public.get("/markets", params={"status": "settled"})
    assert settled.json()["markets"] == []
    assert (await env.public.get("/markets", params={"status": "bogus"})).status_code == 400


async def test_unknown_market_is_a_404_envelope(env: Env) -> None:
    response = await env.public.get("/markets/NOPE-1")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "details"}


async def test_orderbook_and_top_of_book_follow_the_bids_only_book(
    env: Env, check_schema: SchemaCheck
) -> None:
    for price in ("0.4000", "0.4200"):
        assert (
            await env.alice.post("/portfolio/events/orders", json=order_body(env.cent_ticker, "bid", price))
        ).status_code == 201
    assert (
        await env.bob.post("/portfolio/events/orders", json=order_body(env.cent_ticker, "ask", "0.4500", "7"))
    ).status_code == 201
    book = await env.public.get(f"/markets/{env.cent_ticker}/orderbook")
    check_schema("GetMarketOrderbookResponse", book.json())
    assert book.json()["orderbook_fp"] == {
        "yes_dollars": [["0.4000", "10.00"], ["0.4200", "10.00"]],
        "no_dollars": [["0.5500", "7.00"]],
    }
    top = await env.public.get(f"/markets/{env.cent_ticker}/orderbook", params={"depth": 1})
    assert top.json()["orderbook_fp"]["yes_dollars"] == [["0.4200", "10.00"]]
    market = (await env.public.get(f"/markets/{env.cent_ticker}")).json()
    check_schema("GetMarketResponse", market)
    m = market["market"]
    assert (m["yes_bid_dollars"], m["yes_ask_dollars"], m["no_bid_dollars"], m["no_ask_dollars"]) == (
        "0.4200",
        "0.4500",
        "0.5500",
        "0.5800",
    )
    assert (m["yes_bid_size_fp"], m["yes_ask_size_fp"]) == ("10.00", "7.00")
    many = await env.public.get(
        "/markets/orderbooks", params=[("tickers", env.cent_ticker), ("tickers", env.subcent_ticker)]
    )
    check_schema("GetMarketOrderbooksResponse", many.json())
    assert [b["ticker"] for b in many.json()["orderbooks"]] == [env.cent_ticker, env.subcent_ticker]
    assert (await env.public.get("/markets/orderbooks")).status_code == 400


async def test_trades_are_newest_first(env: Env, check_schema: SchemaCheck) -> None:
    await env.alice.post("/portfolio/events/orders", json=order_body(env.cent_ticker, "bid", "0.5000", "5"))
    await env.bob.post(
        "/portfolio/events/orders",
        json=order_body(env.cent_ticker, "ask", "0.5000", "2", time_in_force="immediate_or_cancel"),
    )
    env.clock.advance(2)
    await env.bob.post(
        "/portfolio/events/orders",
        json=order_body(env.cent_ticker, "ask", "0.5000", "3", time_in_force="immediate_or_cancel"),
    )
    trades = await env.public.get("/markets/trades", params={"ticker": env.cent_ticker})
    check_schema("GetTradesResponse", trades.json())
    assert [t["count_fp"] for t in trades.json()["trades"]] == ["3.00", "2.00"]
    assert trades.json()["trades"][0]["taker_book_side"] == "ask"


async def test_events_and_series(env: Env, check_schema: SchemaCheck) -> None:
    events = await env.public.get("/events", params={"with_nested_markets": "true", "status": "open"})
    check_schema("GetEventsResponse", events.json())
    assert all(e["markets"] for e in events.json()["events"])
    event_ticker = env.sim.engine.markets[env.cent_ticker].event_ticker
    event = await env.public.get(f"/events/{event_ticker}")
    check_schema("GetEventResponse", event.json())
    assert "markets" not in event.json()["event"]
    assert env.cent_ticker in [m["ticker"] for m in event.json()["markets"]]
    series_ticker = env.sim.engine.events[event_ticker].series_ticker
    series = await env.public.get(f"/series/{series_ticker}")
    check_schema("GetSeriesResponse", series.json())
    assert (await env.public.get("/events/NOPE")).status_code == 404
    assert (await env.public.get("/series/NOPE")).status_code == 404


async def test_unknown_path_is_404_and_wrong_method_is_405_both_json(env: Env) -> None:
    missing = await env.public.get("/no/such/thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await env.public.put("/markets")
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["allow"]


async def test_public_endpoint_with_a_bad_signature_is_rejected(env: Env) -> None:
    headers = {
        "KALSHI-ACCESS-KEY": "alice-key",
        "KALSHI-ACCESS-TIMESTAMP": str(env.clock.now_ms()),
        "KALSHI-ACCESS-SIGNATURE": "AAAA",
    }
    response = await env.public.get("/markets", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
