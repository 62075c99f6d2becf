"""Series list, event metadata, fee changes on a schedule, and the historical split, over HTTP."""

from __future__ import annotations

from fractions import Fraction

import pytest
from tests.sim.server.rest.sim_rest_support import Env, SchemaCheck, order_body

from kalshiflow.domain.fees import FeeType
from kalshiflow.sim import lifecycle

ORDERS = "/portfolio/events/orders"


def _event_and_series(env: Env) -> tuple[str, str]:
    event_ticker = env.sim.engine.markets[env.cent_ticker].event_ticker
    return event_ticker, env.sim.engine.events[event_ticker].series_ticker


async def test_series_list_matches_the_spec_and_filters_by_category(
    env: Env, check_schema: SchemaCheck
) -> None:
    listed = await env.public.get("/series")
    assert listed.status_code == 200
    check_schema("GetSeriesListResponse", listed.json())
    tickers = {s["ticker"] for s in listed.json()["series"]}
    assert tickers == set(env.sim.engine.series)
    some = next(iter(env.sim.engine.series.values()))
    by_category = (await env.public.get("/series", params={"category": some.category})).json()["series"]
    assert by_category
    assert {s["category"] for s in by_category} == {some.category}
    assert (await env.public.get("/series", params={"category": "Nope"})).json() == {"series": []}
    future = env.clock.now_ms() // 1000 + 3_600
    assert (await env.public.get("/series", params={"min_updated_ts": str(future)})).json() == {"series": []}


async def test_event_metadata_names_every_market_of_the_event(env: Env, check_schema: SchemaCheck) -> None:
    event_ticker, _ = _event_and_series(env)
    metadata = await env.public.get(f"/events/{event_ticker}/metadata")
    check_schema("GetEventMetadataResponse", metadata.json())
    markets = {m.ticker for m in env.sim.engine.markets.values() if m.event_ticker == event_ticker}
    assert {d["market_ticker"] for d in metadata.json()["market_details"]} == markets
    assert (await env.public.get("/events/NOPE/metadata")).status_code == 404


async def test_multivariate_events_are_an_empty_page(env: Env, check_schema: SchemaCheck) -> None:
    listed = await env.public.get("/events/multivariate")
    check_schema("GetMultivariateEventsResponse", listed.json())
    assert listed.json() == {"events": [], "cursor": ""}


async def _taker_fee(env: Env) -> str:
    await env.bob.post(ORDERS, json=order_body(env.cent_ticker, "ask", "0.5000", "10"))
    taken = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, "bid", "0.5000", "10", time_in_force="immediate_or_cancel")
    )
    order = (await env.alice.get(f"/portfolio/orders/{taken.json()['order_id']}")).json()["order"]
    fee: str = order["taker_fees_dollars"]
    return fee


async def test_a_series_fee_change_is_listed_while_pending_and_charged_from_its_time(
    env: Env, check_schema: SchemaCheck
) -> None:
    _, series_ticker = _event_and_series(env)
    env.sim.engine.series[series_ticker].fee_type = FeeType.QUADRATIC
    env.sim.engine.series[series_ticker].fee_multiplier = Fraction(1)
    due_s = env.clock.now_ms() // 1000 + 60
    scheduled = await env.admin.post(
        "/fee_changes",
        json={
            "series_ticker": series_ticker,
            "fee_type": "quadratic",
            "fee_multiplier": "0.5",
            "scheduled_ts": due_s,
        },
    )
    assert scheduled.status_code == 201, scheduled.text
    pending = await env.public.get("/series/fee_changes", params={"series_ticker": series_ticker})
    check_schema("GetSeriesFeeChangesResponse", pending.json())
    (row,) = pending.json()["series_fee_change_arr"]
    assert (row["series_ticker"], row["fee_type"], row["fee_multiplier"]) == (series_ticker, "quadratic", 0.5)
    assert row["id"] == scheduled.json()["id"]
    # 0.07 * 10 * 0.5 * 0.5 = $0.175 at the multiplier in force now
    assert await _taker_fee(env) == "0.1750"

    env.clock.advance(61)
    lifecycle.advance(env.sim.engine, env.clock.now_ms())
    assert await _taker_fee(env) == "0.0875"  # half the multiplier from the scheduled time on
    series = (await env.public.get(f"/series/{series_ticker}")).json()["series"]
    assert series["fee_multiplier"] == 0.5
    gone = await env.public.get("/series/fee_changes", params={"series_ticker": series_ticker})
    assert gone.json() == {"series_fee_change_arr": []}
    history = await env.public.get(
        "/series/fee_changes", params={"series_ticker": series_ticker, "show_historical": "true"}
    )
    assert [r["id"] for r in history.json()["series_fee_change_arr"]] == [row["id"]]


async def test_an_event_fee_override_applies_and_clears(env: Env, check_schema: SchemaCheck) -> None:
    event_ticker, series_ticker = _event_and_series(env)
    now_s = env.clock.now_ms() // 1000
    set_now = await env.admin.post(
        "/fee_changes", json={"event_ticker": event_ticker, "fee_type": "flat", "fee_multiplier": "2"}
    )
    assert set_now.status_code == 201, set_now.text
    event = (await env.public.get(f"/events/{event_ticker}")).json()["event"]
    assert (event["fee_type_override"], event["fee_multiplier_override"]) == ("flat", 2.0)
    await env.admin.post(
        "/fee_changes",
        json={
            "event_ticker": event_ticker,
            "fee_type": None,
            "fee_multiplier": None,
            "scheduled_ts": now_s + 30,
        },
    )
    changes = await env.public.get("/events/fee_changes", params={"event_ticker": event_ticker})
    check_schema("GetEventFeeChangesResponse", changes.json())
    rows = changes.json()["event_fee_changes"]
    assert [(r["fee_type_override"], r["fee_multiplier_override"]) for r in rows] == [
        ("flat", 2.0),
        (None, None),
    ]
    assert {r["series_ticker"] for r in rows} == {series_ticker}
    env.clock.advance(31)
    lifecycle.advance(env.sim.engine, env.clock.now_ms())
    event = (await env.public.get(f"/events/{event_ticker}")).json()["event"]
    assert (event["fee_type_override"], event["fee_multiplier_override"]) == (None, None)


@pytest.mark.parametrize(
    "body",
    [
        {"series_ticker": "NOPE", "fee_type": "flat", "fee_multiplier": "1"},
        {"event_ticker": "NOPE", "fee_type": "flat", "fee_multiplier": "1"},
        {"series_ticker": "X", "fee_type": "cubic", "fee_multiplier": "1"},
        {"series_ticker": "X", "fee_type": "flat", "fee_multiplier": 1.5},
    ],
)
async def test_a_malformed_fee_change_is_refused(env: Env, body: dict[str, object]) -> None:
    response = await env.admin.post("/fee_changes", json=body)
    assert response.status_code in (400, 404), response.text
    assert env.sim.engine.fee_changes == []


async def test_nothing_is_older_than_the_historical_cutoff(env: Env, check_schema: SchemaCheck) -> None:
    cutoff = await env.public.get("/historical/cutoff")
    check_schema("GetHistoricalCutoffResponse", cutoff.json())
    assert set(cutoff.json().values()) == {"1970-01-01T00:00:00Z"}
    for path, key, schema in [
        ("/historical/markets", "markets", "GetMarketsResponse"),
        ("/historical/trades", "trades", "GetTradesResponse"),
    ]:
        page = await env.public.get(path)
        check_schema(schema, page.json())
        assert page.json() == {key: [], "cursor": ""}
    for path, key in [("/historical/fills", "fills"), ("/historical/orders", "orders")]:
        assert (await env.alice.get(path)).json() == {key: [], "cursor": ""}
    assert (await env.public.get(f"/historical/markets/{env.cent_ticker}")).status_code == 404
