"""Public market-data endpoints of the simulator: exchange, markets, orderbooks, trades, events, series.

It exists to keep the read-only, unauthenticated view of the exchange apart from account state
and order mutations. Every endpoint here is ``public``: unsigned requests are served (and
rate-limited per client IP by the pipeline).
"""

from __future__ import annotations

from typing import Final

from kalshiflow.sim import history, wire
from kalshiflow.sim import wire_market as wm
from kalshiflow.sim.errors import not_found
from kalshiflow.sim.server import rest_query as q
from kalshiflow.sim.server.rest_pipeline import Call, Reply, Spec
from kalshiflow.sim.state import STATUS_FILTERS
from kalshiflow.sim.wire import JsonObject


def _exchange_status(call: Call) -> Reply:
    engine = call.sim.engine
    return 200, wm.exchange_status(engine.exchange_active, engine.trading_active)


def _exchange_schedule(call: Call) -> Reply:
    return 200, wm.exchange_schedule()


def _market_json(call: Call, ticker: str) -> JsonObject:
    engine = call.sim.engine
    return wm.market(engine.market(ticker), engine.books[ticker], call.now_ms)


def _markets(call: Call) -> Reply:
    engine, query = call.sim.engine, call.query
    status = q.choice(query, "status", STATUS_FILTERS)
    events, tickers = q.csv_set(query, "event_ticker"), q.csv_set(query, "tickers")
    series, cutoff = query.get("series_ticker"), call.historical_cutoff_ms
    selected = [
        m
        for m in engine.markets.values()
        if (not status or m.status in STATUS_FILTERS[status])
        and (events is None or m.event_ticker in events)
        and (tickers is None or m.ticker in tickers)
        and (not series or engine.events[m.event_ticker].series_ticker == series)
        and q.in_ts_range(m.close_ms, query, "min_close_ts", "max_close_ts")
        and not history.market_archived(m, cutoff)
    ]
    page, cursor = q.paginate(selected, query)
    return 200, {"markets": [_market_json(call, m.ticker) for m in page], "cursor": cursor}


def _market(call: Call) -> Reply:
    return 200, {"market": _market_json(call, call.param("ticker"))}


def _depth(call: Call) -> int:
    return wire.query_int(call.query, "depth", 0, -(10**6), 100)


def _orderbook(call: Call) -> Reply:
    engine, ticker = call.sim.engine, call.param("ticker")
    engine.market(ticker)
    return 200, {"orderbook_fp": wm.orderbook(engine.books[ticker], _depth(call))}


def _orderbooks(call: Call) -> Reply:
    engine = call.sim.engine
    tickers = [t.strip() for raw in call.request.query_params.getlist("tickers") for t in raw.split(",")]
    tickers = [t for t in tickers if t]
    if not 1 <= len(tickers) <= 100:
        raise wire.bad("tickers must name between 1 and 100 markets")
    depth = _depth(call)
    books = []
    for ticker in tickers:
        engine.market(ticker)
        books.append({"ticker": ticker, "orderbook_fp": wm.orderbook(engine.books[ticker], depth)})
    return 200, {"orderbooks": books}


def _trades(call: Call) -> Reply:
    query, ticker, cutoff = call.query, call.query.get("ticker"), call.historical_cutoff_ms
    selected = [
        t
        for t in reversed(call.sim.engine.trades)
        if (not ticker or t.ticker == ticker) and q.in_ts_range(t.ts_ms, query) and t.ts_ms >= cutoff
    ]
    page, cursor = q.paginate(selected, query)
    return 200, {"trades": [wm.trade(t) for t in page], "cursor": cursor}


def _event_json(call: Call, event_ticker: str, nested: bool) -> tuple[JsonObject, list[JsonObject]]:
    engine = call.sim.engine
    event = engine.events.get(event_ticker)
    if event is None:
        raise not_found("event", event_ticker)
    markets = [
        _market_json(call, m.ticker) for m in engine.markets.values() if m.event_ticker == event_ticker
    ]
    series = engine.series.get(event.series_ticker)
    return wm.event(event, series, markets if nested else None), markets


def _events(call: Call) -> Reply:
    engine, query = call.sim.engine, call.query
    status, series = q.choice(query, "status", STATUS_FILTERS), query.get("series_ticker")
    nested, tickers = wire.query_bool(query, "with_nested_markets"), q.csv_set(query, "tickers")
    statuses: dict[str, set[str]] = {}
    for m in engine.markets.values():
        statuses.setdefault(m.event_ticker, set()).add(m.status.value)
    selected = [
        e
        for e in engine.events.values()
        if (not series or e.series_ticker == series)
        and (tickers is None or e.event_ticker in tickers)
        and (not status or any(s in STATUS_FILTERS[status] for s in statuses.get(e.event_ticker, ())))
    ]
    page, cursor = q.paginate(selected, query, 200, 200)
    return 200, {"events": [_event_json(call, e.event_ticker, nested)[0] for e in page], "cursor": cursor}


def _event(call: Call) -> Reply:
    event, markets = _event_json(
        call, call.param("event_ticker"), wire.query_bool(call.query, "with_nested_markets")
    )
    return 200, {"event": event, "markets": markets}


def _series(call: Call) -> Reply:
    engine, ticker = call.sim.engine, call.param("series_ticker")
    series = engine.series.get(ticker)
    if series is None:
        raise not_found("series", ticker)
    members = [m for m in engine.markets.values() if engine.events[m.event_ticker].series_ticker == ticker]
    updated = max((m.updated_ms for m in members), default=0) or call.now_ms
    return 200, {"series": wm.series(series, wm.total_volume(members), updated)}


# Literal paths (``/markets/trades``) must precede the ``/markets/{ticker}`` they would also match.
MARKET_ROUTES: Final = (
    Spec("/exchange/status", _exchange_status, access="public"),
    Spec("/exchange/schedule", _exchange_schedule, access="public"),
    Spec("/markets", _markets, access="public"),
    Spec("/markets/trades", _trades, access="public"),
    Spec("/markets/orderbooks", _orderbooks, access="public"),
    Spec("/markets/{ticker}", _market, access="public"),
    Spec("/markets/{ticker}/orderbook", _orderbook, access="public"),
    Spec("/events", _events, access="public"),
    Spec("/events/{event_ticker}", _event, access="public"),
    Spec("/series/{series_ticker}", _series, access="public"),
)
