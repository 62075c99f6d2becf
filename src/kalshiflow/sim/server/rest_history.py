"""``/historical/*``: the cutoff and what lies before it (see ``sim.history`` for the split).

The live endpoints leave out exactly what these serve: markets settled before the cutoff, trades
and fills made before it, orders finished before it (resting orders are always live). With no
retention configured the cutoff is the Unix epoch and these lists are empty. Filters kept: ticker
(and ``tickers``/``event_ticker`` for markets), the ``min_ts``/``max_ts`` range for trades and
fills, cursor pagination.
"""

from __future__ import annotations

from typing import Final

from kalshiflow.sim import history, wire
from kalshiflow.sim import wire_market as wm
from kalshiflow.sim import wire_portfolio as wp
from kalshiflow.sim.errors import not_found
from kalshiflow.sim.server import rest_query as q
from kalshiflow.sim.server.rest_pipeline import Call, Reply, Spec


def _cutoff(call: Call) -> Reply:
    cutoff = wire.ts(call.historical_cutoff_ms)
    return 200, {
        "market_settled_ts": cutoff,
        "trades_created_ts": cutoff,
        "orders_updated_ts": cutoff,
        "market_positions_last_updated_ts": cutoff,
    }


def _markets(call: Call) -> Reply:
    engine, query, cutoff = call.sim.engine, call.query, call.historical_cutoff_ms
    tickers, events = q.csv_set(query, "tickers"), q.csv_set(query, "event_ticker")
    selected = [
        m
        for m in engine.markets.values()
        if history.market_archived(m, cutoff)
        and (tickers is None or m.ticker in tickers)
        and (events is None or m.event_ticker in events)
    ]
    page, cursor = q.paginate(selected, query)
    rows = [wm.market(m, engine.books[m.ticker], call.now_ms) for m in page]
    return 200, {"markets": rows, "cursor": cursor}


def _market(call: Call) -> Reply:
    engine, ticker = call.sim.engine, call.param("ticker")
    market = engine.markets.get(ticker)
    if market is None or not history.market_archived(market, call.historical_cutoff_ms):
        raise not_found("historical market", ticker)
    return 200, {"market": wm.market(market, engine.books[ticker], call.now_ms)}


def _trades(call: Call) -> Reply:
    query, ticker, cutoff = call.query, call.query.get("ticker"), call.historical_cutoff_ms
    selected = [
        t
        for t in reversed(call.sim.engine.trades)
        if history.trade_archived(t, cutoff)
        and (not ticker or t.ticker == ticker)
        and q.in_ts_range(t.ts_ms, query)
    ]
    page, cursor = q.paginate(selected, query)
    return 200, {"trades": [wm.trade(t) for t in page], "cursor": cursor}


def _fills(call: Call) -> Reply:
    query, ticker, cutoff = call.query, call.query.get("ticker"), call.historical_cutoff_ms
    fills = [f for a in call.accounts_for(omitted_means_all=True) for f in a.fills]
    selected = [
        f
        for f in sorted(fills, key=lambda f: f.ts_ms, reverse=True)
        if history.fill_archived(f, cutoff)
        and (not ticker or f.ticker == ticker)
        and q.in_ts_range(f.ts_ms, query)
    ]
    page, cursor = q.paginate(selected, query)
    return 200, {"fills": [wp.fill(f) for f in page], "cursor": cursor}


def _orders(call: Call) -> Reply:
    engine, query, ticker = call.sim.engine, call.query, call.query.get("ticker")
    cutoff, user_id = call.historical_cutoff_ms, call.account.user_id
    orders = [engine.orders[oid] for a in call.accounts_for(omitted_means_all=True) for oid in a.order_ids]
    selected = [
        o
        for o in sorted(orders, key=lambda o: o.updated_ms, reverse=True)
        if history.order_archived(o, cutoff) and (not ticker or o.ticker == ticker)
    ]
    page, cursor = q.paginate(selected, query)
    return 200, {"orders": [wp.order(o, user_id) for o in page], "cursor": cursor}


HISTORY_ROUTES: Final = (
    Spec("/historical/cutoff", _cutoff, access="public"),
    Spec("/historical/markets", _markets, access="public"),
    Spec("/historical/markets/{ticker}", _market, access="public"),
    Spec("/historical/trades", _trades, access="public"),
    Spec("/historical/fills", _fills),
    Spec("/historical/orders", _orders),
)
