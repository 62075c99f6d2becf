"""Candlesticks: one market, many markets at once, and every market of an event; and the event
forecast percentile history read off a strike ladder's candles (``sim.forecast``).

The candles come from ``sim.candles.CandleRecorder`` (OHLC of YES bid, YES ask and traded price
per minute, aggregated to 1 min, 1 h or 1 day on request). Choices where Kalshi is silent or the
simulator models less (deliberate):

* ``period_interval`` must be 1, 60 or 1440 on every endpoint (the batch endpoint documents any
  positive number of minutes; the simulator answers others with 400).
* ``include_latest_before_start`` is accepted and ignored: a period with no activity has no candle.
* ``min_dollars``/``max_dollars`` (closes across markets) are left out: they are optional.
* The event endpoint never needs to shorten the range: ``adjusted_end_ts`` is ``end_ts``.
* Forecasts: an event has a numeric underlying when all its markets are "above strike" markets
  with a ``floor_strike``; others answer 400. Each period's ladder is the mid of every market's
  closing YES bid and ask (carried forward from its last candle); 5-second periods
  (``period_interval`` 0) are not recorded and answer 400.
"""

from __future__ import annotations

from typing import Final

from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim import wire
from kalshiflow.sim.candles import PERIODS_MIN, Candle, CandleRecorder, Ohlc
from kalshiflow.sim.errors import not_found
from kalshiflow.sim.forecast import PERCENTILE_SCALE, survival, value_at
from kalshiflow.sim.server import rest_query as q
from kalshiflow.sim.server.rest_pipeline import Call, Reply, Spec

MAX_BATCH_MARKETS: Final = 100
MAX_BATCH_CANDLES: Final = 10_000
MAX_PERCENTILES: Final = 10
_MAX_TS: Final = 10**11


def _ohlc(values: Ohlc) -> wire.JsonObject:
    return {
        "open_dollars": wire.price(values.open),
        "low_dollars": wire.price(values.low),
        "high_dollars": wire.price(values.high),
        "close_dollars": wire.price(values.close),
    }


def _price(candle: Candle) -> wire.JsonObject:
    previous = None if candle.previous_price is None else wire.price(candle.previous_price)
    if candle.price is None:
        return {"previous_dollars": previous}
    mean = candle.mean_price
    return {
        **_ohlc(candle.price),
        "mean_dollars": None if mean is None else wire.price(mean),
        "previous_dollars": previous,
    }


def candle_json(candle: Candle) -> wire.JsonObject:
    return {
        "end_period_ts": candle.end_s,
        "yes_bid": _ohlc(candle.yes_bid),
        "yes_ask": _ohlc(candle.yes_ask),
        "price": _price(candle),
        "volume_fp": wire.count(candle.volume),
        "open_interest_fp": wire.count(candle.open_interest),
    }


def _range(call: Call) -> tuple[int, int, int]:
    query = call.query
    start = wire.query_int(query, "start_ts", -1, 0, _MAX_TS)
    end = wire.query_int(query, "end_ts", -1, 0, _MAX_TS)
    period = wire.query_int(query, "period_interval", -1, 1, 1440)
    if start < 0 or end < 0 or period < 0:
        raise wire.bad("start_ts, end_ts and period_interval are required")
    if period not in PERIODS_MIN:
        raise wire.bad("period_interval must be 1, 60 or 1440")
    if start > end:
        raise wire.bad("start_ts must not be after end_ts")
    wire.query_bool(query, "include_latest_before_start")
    return start, end, period


def _recorder(call: Call) -> CandleRecorder:
    assert call.sim.candles is not None
    return call.sim.candles


def _series_of_event(call: Call, event_ticker: str) -> str:
    event = call.sim.engine.events.get(event_ticker)
    if event is None:
        raise not_found("event", event_ticker)
    return event.series_ticker


def _market_candles(call: Call) -> Reply:
    engine, ticker, series = call.sim.engine, call.param("ticker"), call.param("series_ticker")
    market = engine.market(ticker)
    if _series_of_event(call, market.event_ticker) != series:
        raise not_found("market", ticker)
    start, end, period = _range(call)
    candles = _recorder(call).candles(ticker, start, end, period)
    return 200, {"ticker": ticker, "candlesticks": [candle_json(c) for c in candles]}


def _batch_candles(call: Call) -> Reply:
    tickers = sorted(q.csv_set(call.query, "market_tickers") or ())
    if not 1 <= len(tickers) <= MAX_BATCH_MARKETS:
        raise wire.bad(f"market_tickers must name between 1 and {MAX_BATCH_MARKETS} markets")
    for ticker in tickers:
        call.sim.engine.market(ticker)
    start, end, period = _range(call)
    budget = MAX_BATCH_CANDLES
    markets: list[wire.JsonObject] = []
    for ticker in tickers:
        candles = _recorder(call).candles(ticker, start, end, period)[-budget:] if budget else []
        budget -= len(candles)
        markets.append({"market_ticker": ticker, "candlesticks": [candle_json(c) for c in candles]})
    return 200, {"markets": markets}


def _event_candles(call: Call) -> Reply:
    engine, event_ticker = call.sim.engine, call.param("ticker")
    if _series_of_event(call, event_ticker) != call.param("series_ticker"):
        raise not_found("event", event_ticker)
    start, end, period = _range(call)
    tickers = sorted(m.ticker for m in engine.markets.values() if m.event_ticker == event_ticker)
    recorder = _recorder(call)
    return 200, {
        "market_tickers": tickers,
        "market_candlesticks": [
            [candle_json(c) for c in recorder.candles(t, start, end, period)] for t in tickers
        ],
        "adjusted_end_ts": end,
    }


def _percentiles(call: Call) -> list[int]:
    raw = [p.strip() for value in call.request.query_params.getlist("percentiles") for p in value.split(",")]
    values = [p for p in raw if p]
    if not 1 <= len(values) <= MAX_PERCENTILES or not all(p.isascii() and p.isdigit() for p in values):
        raise wire.bad(f"percentiles must list 1 to {MAX_PERCENTILES} integers")
    numbers = [int(p) for p in values]
    if not all(0 <= p < PERCENTILE_SCALE for p in numbers):
        raise wire.bad("percentiles must lie between 0 and 9999")
    return numbers


def _forecast(call: Call) -> Reply:
    engine, event_ticker = call.sim.engine, call.param("ticker")
    if _series_of_event(call, event_ticker) != call.param("series_ticker"):
        raise not_found("event", event_ticker)
    percentiles = _percentiles(call)
    start, end, period = _range(call)
    markets = [m for m in engine.markets.values() if m.event_ticker == event_ticker]
    strikes = {m.ticker: m.floor_strike for m in markets if m.strike_type == "greater"}
    if not markets or len(strikes) < len(markets) or any(k is None for k in strikes.values()):
        raise wire.bad(f"event {event_ticker} has no numeric underlying")
    history = {t: _recorder(call).candles(t, 0, end, period) for t in strikes}
    ends = sorted({c.end_s for candles in history.values() for c in candles if c.end_s >= start})
    points: list[wire.JsonObject] = []
    for period_end in ends:
        ladder = []
        for ticker, candles in history.items():
            last = next((c for c in reversed(candles) if c.end_s <= period_end), None)
            strike = strikes[ticker]
            if last is not None and strike is not None:
                ladder.append((strike, (last.yes_bid.close + last.yes_ask.close) / 2 / PRICE_SCALE))
        curve = survival(ladder)
        values = [(p, value_at(curve, p)) for p in percentiles]
        points.append(
            {
                "event_ticker": event_ticker,
                "end_period_ts": period_end,
                "period_interval": period,
                "percentile_points": [
                    {
                        "percentile": p,
                        "raw_numerical_forecast": v,
                        "numerical_forecast": round(v, 2),
                        "formatted_forecast": f"{v:.2f}",
                    }
                    for p, v in values
                ],
            }
        )
    return 200, {"forecast_history": points}


CANDLE_ROUTES: Final = (
    Spec("/series/{series_ticker}/markets/{ticker}/candlesticks", _market_candles, access="public"),
    Spec("/markets/candlesticks", _batch_candles, access="public"),
    Spec("/series/{series_ticker}/events/{ticker}/candlesticks", _event_candles, access="public"),
    Spec("/series/{series_ticker}/events/{ticker}/forecast_percentile_history", _forecast, access="public"),
)
