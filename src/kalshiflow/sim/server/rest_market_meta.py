"""Market metadata of the simulator: the series list, event metadata, multivariate events and fee
changes.

It exists apart from ``rest_market`` (books, markets, trades) because none of this moves with
trading: it describes listings and their fee schedules.

Choices where Kalshi is silent or the simulator models less (deliberate):

* The simulator lists no multivariate (combo) events: ``/events/multivariate`` is an empty page.
* Event metadata has no images or settlement sources (empty strings and lists), one entry per
  market with a neutral colour.
* Fee changes come from ``sim.fee_schedule``: series changes are listed while pending
  (``show_historical=true`` adds the applied ones); event changes are listed applied and pending.
"""

from __future__ import annotations

from typing import Final

from kalshiflow.sim import fee_schedule, wire
from kalshiflow.sim import wire_market as wm
from kalshiflow.sim.errors import not_found
from kalshiflow.sim.server import rest_query as q
from kalshiflow.sim.server.rest_pipeline import Call, Reply, Spec
from kalshiflow.sim.state import FeeChange

MARKET_COLOR: Final = "#888888"


def _series_list(call: Call) -> Reply:
    engine, query = call.sim.engine, call.query
    category, tags = query.get("category"), q.csv_set(query, "tags")
    min_updated_s = wire.query_opt_int(query, "min_updated_ts")
    wire.query_bool(query, "include_product_metadata")
    wire.query_bool(query, "include_volume")
    members: dict[str, list[str]] = {}
    for market in engine.markets.values():
        members.setdefault(engine.events[market.event_ticker].series_ticker, []).append(market.ticker)
    rows: list[wire.JsonObject] = []
    for series in engine.series.values():
        markets = [engine.markets[t] for t in members.get(series.ticker, ())]
        updated = max((m.updated_ms for m in markets), default=0) or call.now_ms
        if category and series.category != category:
            continue
        if tags:  # the simulator's series carry no tags
            continue
        if min_updated_s is not None and updated // 1000 < min_updated_s:
            continue
        rows.append(wm.series(series, wm.total_volume(markets), updated))
    return 200, {"series": rows}


def _event_metadata(call: Call) -> Reply:
    engine, event_ticker = call.sim.engine, call.param("event_ticker")
    if event_ticker not in engine.events:
        raise not_found("event", event_ticker)
    details = [
        {"market_ticker": m.ticker, "image_url": "", "color_code": MARKET_COLOR}
        for m in engine.markets.values()
        if m.event_ticker == event_ticker
    ]
    return 200, {"image_url": "", "settlement_sources": [], "market_details": details}


def _multivariate_events(call: Call) -> Reply:
    query = call.query
    wire.query_int(query, "limit", 100, 1, 200)
    wire.query_bool(query, "with_nested_markets")
    return 200, {"events": [], "cursor": ""}


def _multiplier(change: FeeChange) -> float | None:
    return None if change.fee_multiplier is None else float(change.fee_multiplier)


def _series_fee_changes(call: Call) -> Reply:
    query = call.query
    changes = fee_schedule.series_changes(
        call.sim.engine, query.get("series_ticker"), wire.query_bool(query, "show_historical")
    )
    rows = [
        {
            "id": c.change_id,
            "series_ticker": c.series_ticker,
            "fee_type": None if c.fee_type is None else c.fee_type.value,
            "fee_multiplier": _multiplier(c),
            "scheduled_ts": wire.ts(c.scheduled_ms),
        }
        for c in changes
    ]
    return 200, {"series_fee_change_arr": rows}


def _event_fee_changes(call: Call) -> Reply:
    query = call.query
    changes = fee_schedule.event_changes(call.sim.engine, query.get("event_ticker"))
    page, cursor = q.paginate(changes, query)
    rows = [
        {
            "id": c.change_id,
            "event_ticker": c.event_ticker,
            "series_ticker": c.series_ticker,
            "fee_type_override": None if c.fee_type is None else c.fee_type.value,
            "fee_multiplier_override": _multiplier(c),
            "scheduled_ts": wire.ts(c.scheduled_ms),
        }
        for c in page
    ]
    return 200, {"event_fee_changes": rows, "cursor": cursor}


MARKET_META_ROUTES: Final = (
    Spec("/series", _series_list, access="public"),
    Spec("/series/fee_changes", _series_fee_changes, access="public"),
    Spec("/events/fee_changes", _event_fee_changes, access="public"),
    Spec("/events/multivariate", _multivariate_events, access="public"),
    Spec("/events/{event_ticker}/metadata", _event_metadata, access="public"),
)
