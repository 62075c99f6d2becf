"""Queue positions, resting order value and account limits over HTTP, checked against the spec
and against the engine's own queue and token buckets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.sim.server.rest.sim_rest_support import Env, SchemaCheck, order_body

from kalshiflow.domain.ratelimits import DEFAULT_COST, TIER_LIMITS, Tier, cost_of

ORDERS = "/portfolio/events/orders"
OPPOSITE = {"bid": "ask", "ask": "bid"}


async def _rest(env: Env, who: str, side: str, price: str, count: str) -> str:
    client = env.alice if who == "alice" else env.bob
    created = await client.post(ORDERS, json=order_body(env.cent_ticker, side, price, count))
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    return order_id


@pytest.mark.parametrize(("side", "price"), [("bid", "0.3000"), ("ask", "0.7000")])
async def test_queue_position_counts_the_contracts_ahead_in_the_real_queue(
    env: Env, check_schema: SchemaCheck, side: str, price: str
) -> None:
    first = await _rest(env, "bob", side, price, "2")
    mine = await _rest(env, "alice", side, price, "5")
    await _rest(env, "bob", side, price, "3")  # behind alice: never counted
    read = await env.alice.get(f"/portfolio/orders/{mine}/queue_position")
    assert read.status_code == 200
    check_schema("GetOrderQueuePositionResponse", read.json())
    assert read.json() == {"queue_position_fp": "2.00"}

    # One contract trades off the front of the queue (bob's order), so one is left ahead.
    taken = await env.alice.post(
        ORDERS,
        json=order_body(env.cent_ticker, OPPOSITE[side], price, "1", time_in_force="immediate_or_cancel"),
    )
    assert taken.json()["fill_count"] == "1.00"
    assert (await env.alice.get(f"/portfolio/orders/{mine}/queue_position")).json()[
        "queue_position_fp"
    ] == "1.00"

    assert (await env.bob.delete(f"{ORDERS}/{first}")).status_code == 200
    batch = await env.alice.get(
        "/portfolio/orders/queue_positions", params={"market_tickers": env.cent_ticker}
    )
    check_schema("GetOrderQueuePositionsResponse", batch.json())
    assert batch.json()["queue_positions"] == [
        {"order_id": mine, "market_ticker": env.cent_ticker, "queue_position_fp": "0.00"}
    ]


async def test_queue_position_of_an_order_that_no_longer_rests_is_not_found(env: Env) -> None:
    mine = await _rest(env, "alice", "bid", "0.2000", "1")
    await env.alice.delete(f"{ORDERS}/{mine}")
    gone = await env.alice.get(f"/portfolio/orders/{mine}/queue_position")
    assert gone.status_code == 404
    listed = await env.alice.get("/portfolio/orders/queue_positions")
    assert listed.json() == {"queue_positions": []}
    assert (await env.bob.get(f"/portfolio/orders/{mine}/queue_position")).status_code == 404


async def test_queue_positions_filter_by_event_and_subaccount(env: Env) -> None:
    mine = await _rest(env, "alice", "bid", "0.2000", "1")
    event_ticker = env.sim.engine.markets[env.cent_ticker].event_ticker
    same_event = await env.alice.get(
        "/portfolio/orders/queue_positions", params={"event_ticker": event_ticker}
    )
    assert [row["order_id"] for row in same_event.json()["queue_positions"]] == [mine]
    other = await env.alice.get("/portfolio/orders/queue_positions", params={"event_ticker": "NOPE"})
    assert other.json()["queue_positions"] == []
    missing = await env.alice.get("/portfolio/orders/queue_positions", params={"subaccount": "3"})
    assert missing.status_code == 400  # alice never created sub-account 3
    assert (await env.alice.post("/portfolio/subaccounts", json={})).json() == {"subaccount_number": 1}
    empty = await env.alice.get("/portfolio/orders/queue_positions", params={"subaccount": "1"})
    assert empty.json()["queue_positions"] == []


async def test_total_resting_order_value_is_what_buying_everything_resting_costs(
    env: Env, check_schema: SchemaCheck
) -> None:
    await _rest(env, "alice", "bid", "0.3000", "10")  # 10 YES at $0.30 = $3.00
    value = await env.alice.get("/portfolio/summary/total_resting_order_value")
    check_schema("GetPortfolioRestingOrderTotalValueResponse", value.json())
    assert value.json() == {
        "total_resting_order_value": 300,
        "resting_order_value_breakdown": [{"exchange_index": 0, "balance": "3.0000"}],
    }
    await _rest(env, "alice", "ask", "0.6000", "5")  # 5 NO at $0.40 = $2.00
    value = await env.alice.get("/portfolio/summary/total_resting_order_value")
    assert value.json()["total_resting_order_value"] == 500
    assert (await env.bob.get("/portfolio/summary/total_resting_order_value")).json()[
        "total_resting_order_value"
    ] == 0


async def test_account_limits_are_the_buckets_the_limiter_charges(
    env: Env, check_schema: SchemaCheck
) -> None:
    limits = await env.alice.get("/account/limits")
    check_schema("GetAccountApiLimitsResponse", limits.json())
    prestige = TIER_LIMITS[Tier.PRESTIGE]
    assert limits.json() == {
        "usage_tier": "prestige",
        "read": {"refill_rate": prestige.read.refill_per_s, "bucket_capacity": prestige.read.capacity},
        "write": {"refill_rate": prestige.write.refill_per_s, "bucket_capacity": prestige.write.capacity},
        "grants": [{"exchange_instance": "event_contract", "level": "prestige", "source": "manual"}],
    }
    assert env.sim.limiters is not None
    env.sim.limiters.set_tier("bob", Tier.BASIC)
    basic = (await env.bob.get("/account/limits")).json()
    assert (basic["usage_tier"], basic["grants"]) == ("basic", [])
    assert basic["write"] == {"refill_rate": 100, "bucket_capacity": 100}


async def test_endpoint_costs_list_exactly_what_the_limiter_bills_off_default(
    env: Env, check_schema: SchemaCheck
) -> None:
    costs = await env.public.get("/account/endpoint_costs")
    check_schema("GetAccountEndpointCostsResponse", costs.json())
    body = costs.json()
    assert body["default_cost"] == DEFAULT_COST
    rows = {(row["method"], row["path"]): row["cost"] for row in body["endpoint_costs"]}
    assert rows[("DELETE", "/portfolio/events/orders/{order_id}")] == 2
    assert rows[("DELETE", "/portfolio/events/orders")] == 2
    assert rows[("GET", "/portfolio/orders/{order_id}")] == 2
    assert rows[("POST", "/portfolio/orders")] == 100
    assert ("POST", "/portfolio/events/orders") not in rows  # default cost
    for (method, path), cost in rows.items():
        assert cost == cost_of(method, path) != DEFAULT_COST


async def test_volume_progress_counts_the_callers_own_trailing_volume(
    env: Env, check_schema: SchemaCheck
) -> None:
    await _rest(env, "bob", "ask", "0.4000", "3")
    await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.4000", "3"))
    progress = await env.alice.get("/account/api_usage_level/volume_progress")
    check_schema("GetAccountApiUsageLevelVolumeProgressResponse", progress.json())
    (row,) = progress.json()["volume_progress"]
    assert row["trailing_30d_volume_fp"] == "3.00"
    assert [goal["level"] for goal in row["goals"]] == ["expert", "premier", "paragon", "prime", "prestige"]
    env.clock.advance(31 * 86_400)
    later = (await env.alice.get("/account/api_usage_level/volume_progress")).json()
    assert later["volume_progress"][0]["trailing_30d_volume_fp"] == "0.00"


async def test_user_data_timestamp_trails_now_by_the_read_lag(env: Env, check_schema: SchemaCheck) -> None:
    await env.admin.put("/faults", json={"read_lag_ms": 2_000})
    stamp = await env.alice.get("/exchange/user_data_timestamp")
    check_schema("GetUserDataTimestampResponse", stamp.json())
    expected_s = (env.clock.now_ms() - 2_000) // 1000
    as_of = datetime.strptime(stamp.json()["as_of_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert int(as_of.timestamp()) == expected_s
