"""Candlesticks over HTTP: OHLC of the YES bid, YES ask and traded price, minute by minute and
aggregated, for one market, many, and an event."""

from __future__ import annotations

from typing import Any

import pytest
from tests.sim.server.rest.sim_rest_support import Env, SchemaCheck, order_body

from kalshiflow.sim.state import SimMarket

ORDERS = "/portfolio/events/orders"


def _minute_end(ms: int) -> int:
    return (ms // 1000 // 60 + 1) * 60


def _path(env: Env, ticker: str) -> str:
    engine = env.sim.engine
    series = engine.events[engine.markets[ticker].event_ticker].series_ticker
    return f"/series/{series}/markets/{ticker}/candlesticks"


async def _trade_in_three_minutes(env: Env) -> list[int]:
    """Minute 1: quotes 0.30/0.55. Minute 2: 2 contracts trade at 0.55. Minute 3: ask drops to 0.50."""
    ends = [_minute_end(env.clock.now_ms())]
    await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.3000", "4"))
    await env.bob.post(ORDERS, json=order_body(env.cent_ticker, "ask", "0.5500", "5"))
    env.clock.advance(60)
    ends.append(_minute_end(env.clock.now_ms()))
    await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, "bid", "0.5500", "2", time_in_force="immediate_or_cancel")
    )
    env.clock.advance(60)
    ends.append(_minute_end(env.clock.now_ms()))
    await env.bob.post(ORDERS, json=order_body(env.cent_ticker, "ask", "0.5000", "1"))
    return ends


def _ohlc(candle: dict[str, Any], key: str) -> tuple[str, ...]:
    part = candle[key]
    return tuple(part.get(f"{k}_dollars") for k in ("open", "high", "low", "close"))


async def test_minute_candles_follow_quotes_and_trades(env: Env, check_schema: SchemaCheck) -> None:
    ends = await _trade_in_three_minutes(env)
    params = {"start_ts": ends[0] - 60, "end_ts": ends[-1], "period_interval": 1}
    answer = await env.public.get(_path(env, env.cent_ticker), params=params)
    assert answer.status_code == 200, answer.text
    check_schema("GetMarketCandlesticksResponse", answer.json())
    candles = answer.json()["candlesticks"]
    assert [c["end_period_ts"] for c in candles] == ends
    first, second, third = candles
    assert _ohlc(first, "yes_bid") == ("0.0000", "0.3000", "0.0000", "0.3000")
    assert _ohlc(first, "yes_ask") == ("1.0000", "1.0000", "0.5500", "0.5500")
    assert first["price"] == {"previous_dollars": None}
    assert _ohlc(second, "price") == ("0.5500", "0.5500", "0.5500", "0.5500")
    assert (second["price"]["mean_dollars"], second["volume_fp"], second["open_interest_fp"]) == (
        "0.5500",
        "2.00",
        "2.00",
    )
    assert _ohlc(third, "yes_ask") == ("0.5500", "0.5500", "0.5000", "0.5000")
    assert third["price"] == {"previous_dollars": "0.5500"}

    hour_params = {**params, "end_ts": ends[-1] + 3600, "period_interval": 60}  # ends on the hour
    hourly = await env.public.get(_path(env, env.cent_ticker), params=hour_params)
    (hour,) = hourly.json()["candlesticks"]
    assert hour["end_period_ts"] % 3600 == 0
    assert _ohlc(hour, "yes_ask") == ("1.0000", "1.0000", "0.5000", "0.5000")
    assert (hour["volume_fp"], _ohlc(hour, "price")) == ("2.00", ("0.5500",) * 4)


async def test_batch_and_event_candles_cover_the_requested_markets(
    env: Env, check_schema: SchemaCheck
) -> None:
    ends = await _trade_in_three_minutes(env)
    params: dict[str, Any] = {"start_ts": ends[0] - 60, "end_ts": ends[-1], "period_interval": 1}
    quiet = next(t for t in env.sim.engine.markets if t != env.cent_ticker)
    batch = await env.public.get(
        "/markets/candlesticks", params={**params, "market_tickers": f"{env.cent_ticker},{quiet}"}
    )
    check_schema("BatchGetMarketCandlesticksResponse", batch.json())
    by_ticker = {m["market_ticker"]: m["candlesticks"] for m in batch.json()["markets"]}
    assert (len(by_ticker[env.cent_ticker]), by_ticker[quiet]) == (3, [])

    engine = env.sim.engine
    event_ticker = engine.markets[env.cent_ticker].event_ticker
    series = engine.events[event_ticker].series_ticker
    event = await env.public.get(f"/series/{series}/events/{event_ticker}/candlesticks", params=params)
    check_schema("GetEventCandlesticksResponse", event.json())
    body = event.json()
    members = sorted(m.ticker for m in engine.markets.values() if m.event_ticker == event_ticker)
    assert body["market_tickers"] == members
    assert body["adjusted_end_ts"] == ends[-1]
    assert len(body["market_candlesticks"][members.index(env.cent_ticker)]) == 3


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start_ts": 10, "end_ts": 5, "period_interval": 1}, 400),
        ({"start_ts": 0, "end_ts": 5, "period_interval": 5}, 400),
        ({"start_ts": 0, "end_ts": 5}, 400),
    ],
)
async def test_a_bad_candle_range_is_refused(env: Env, params: dict[str, int], status: int) -> None:
    response = await env.public.get(_path(env, env.cent_ticker), params=params)
    assert response.status_code == status


async def test_a_market_under_another_series_is_not_found(env: Env) -> None:
    params = {"start_ts": 0, "end_ts": 5, "period_interval": 1}
    response = await env.public.get(f"/series/NOPE/markets/{env.cent_ticker}/candlesticks", params=params)
    assert response.status_code == 404
    too_many = ",".join(f"X{i}" for i in range(101))
    batch = await env.public.get("/markets/candlesticks", params={**params, "market_tickers": too_many})
    assert batch.status_code == 400


async def test_forecast_percentiles_are_read_off_the_strike_ladder(
    env: Env, check_schema: SchemaCheck
) -> None:
    engine = env.sim.engine
    members: dict[str, list[SimMarket]] = {}
    for market in engine.markets.values():
        members.setdefault(market.event_ticker, []).append(market)
    event_ticker = next(  # an event whose markets all ask "above strike k?"
        e
        for e, ms in members.items()
        if len(ms) >= 3 and all(m.strike_type == "greater" and m.floor_strike is not None for m in ms)
    )
    series = engine.events[event_ticker].series_ticker
    ladder = sorted(members[event_ticker], key=lambda m: m.floor_strike or 0)
    for k, market in enumerate(ladder):  # mid prices 0.90, 0.70, 0.50, ...: P(value > strike)
        mid = max(10, 90 - 20 * k)
        await env.bob.post(ORDERS, json=order_body(market.ticker, "bid", f"0.{mid - 1:02d}00", "1"))
        await env.bob.post(ORDERS, json=order_body(market.ticker, "ask", f"0.{mid + 1:02d}00", "1"))
    end = _minute_end(env.clock.now_ms())
    params = {"percentiles": ["5000", "3000"], "start_ts": end - 60, "end_ts": end, "period_interval": 1}
    answer = await env.public.get(
        f"/series/{series}/events/{event_ticker}/forecast_percentile_history", params=params
    )
    assert answer.status_code == 200, answer.text
    check_schema("GetEventForecastPercentilesHistoryResponse", answer.json())
    (point,) = answer.json()["forecast_history"]
    assert (point["event_ticker"], point["end_period_ts"], point["period_interval"]) == (event_ticker, end, 1)
    by_percentile = {p["percentile"]: p for p in point["percentile_points"]}
    assert by_percentile[5000]["raw_numerical_forecast"] == pytest.approx(ladder[2].floor_strike)
    assert by_percentile[3000]["raw_numerical_forecast"] == pytest.approx(ladder[1].floor_strike)
    assert by_percentile[5000]["formatted_forecast"] == f"{ladder[2].floor_strike:.2f}"
    five_seconds = {**params, "period_interval": 0}
    path = f"/series/{series}/events/{event_ticker}/forecast_percentile_history"
    assert (await env.public.get(path, params=five_seconds)).status_code == 400


async def test_an_event_without_a_numeric_underlying_has_no_forecast(env: Env) -> None:
    engine = env.sim.engine
    market = next(m for m in engine.markets.values() if m.strike_type != "greater")
    series = engine.events[market.event_ticker].series_ticker
    params = {"percentiles": "5000", "start_ts": 0, "end_ts": 10, "period_interval": 1}
    path = f"/series/{series}/events/{market.event_ticker}/forecast_percentile_history"
    answer = await env.public.get(path, params=params)
    assert answer.status_code == 400
    assert "no numeric underlying" in answer.json()["error"]["message"]
