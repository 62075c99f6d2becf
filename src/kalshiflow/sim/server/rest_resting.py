"""Reads about the caller's resting orders: queue positions and the value they commit.

It exists apart from ``rest_portfolio`` because these answers come from the book, not from the
account's records: a queue position is counted in the real FIFO queue the matching engine fills
from (contracts of live orders ahead at the same price), so what a client reads is exactly what
must trade or leave before its order fills.

Choices where Kalshi is silent (deliberate):

* An order that no longer rests has no queue position: the single read answers 404 (as a cancel of
  it would), the batch read leaves it out.
* ``total_resting_order_value`` is the cost of buying everything still resting (a bid's YES price,
  an ask's NO price, times the remaining count), floored to whole cents; the breakdown carries the
  same value exactly, as a dollar string.
"""

from __future__ import annotations

from typing import Final

from kalshiflow.sim import subaccounts, wire
from kalshiflow.sim.errors import not_found
from kalshiflow.sim.positions import opening_cost_per_contract
from kalshiflow.sim.server import rest_query as q
from kalshiflow.sim.server.rest_pipeline import Call, Reply, Spec
from kalshiflow.sim.state import SimOrder
from kalshiflow.sim.ws_messages import EXCHANGE_INDEX


def _resting_orders(call: Call, *, omitted_means_all: bool) -> list[SimOrder]:
    engine = call.sim.engine
    accounts = call.accounts_for(omitted_means_all=omitted_means_all)
    return [o for a in accounts for o in (engine.orders[oid] for oid in a.order_ids) if o.is_resting]


def _queue_position(call: Call) -> Reply:
    engine, order_id = call.sim.engine, call.param("order_id")
    order = subaccounts.own_order(engine, call.account.account_id, order_id)
    if not order.is_resting:
        raise not_found("resting order", order_id)
    return 200, {"queue_position_fp": wire.count(engine.queue_position(order))}


def _queue_positions(call: Call) -> Reply:
    engine, query = call.sim.engine, call.query
    tickers = q.csv_set(query, "market_tickers")
    event_ticker = query.get("event_ticker")
    rows = [
        {
            "order_id": o.order_id,
            "market_ticker": o.ticker,
            "queue_position_fp": wire.count(engine.queue_position(o)),
        }
        for o in _resting_orders(call, omitted_means_all=False)
        if (tickers is None or o.ticker in tickers)
        and (not event_ticker or engine.markets[o.ticker].event_ticker == event_ticker)
    ]
    return 200, {"queue_positions": rows}


def _total_resting_order_value(call: Call) -> Reply:
    value = sum(
        opening_cost_per_contract(o.side, o.yes_price) * o.remaining_count
        for o in _resting_orders(call, omitted_means_all=True)
    )
    return 200, {
        "total_resting_order_value": wire.cents(value),
        "resting_order_value_breakdown": [{"exchange_index": EXCHANGE_INDEX, "balance": wire.money(value)}],
    }


# ``/portfolio/orders/queue_positions`` is literal; the route table sorts it before ``{order_id}``.
RESTING_ROUTES: Final = (
    Spec("/portfolio/orders/queue_positions", _queue_positions),
    Spec("/portfolio/orders/{order_id}/queue_position", _queue_position),
    Spec("/portfolio/summary/total_resting_order_value", _total_resting_order_value),
)
