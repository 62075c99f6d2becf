"""Authentication, rate limiting and injected faults, as a client meets them over HTTP."""

from __future__ import annotations

import httpx
import pytest
from tests.sim.server.rest.sim_rest_support import Env, KeyPair, order_body

from kalshiflow.domain.ratelimits import Tier

ORDERS = "/portfolio/events/orders"


async def test_unsigned_portfolio_request_is_401(env: Env) -> None:
    response = await env.public.get("/portfolio/balance")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_authentication"


async def test_signature_by_another_key_is_401(env: Env, spare_key: KeyPair) -> None:
    forged = KeyPair("alice-key", spare_key.private_key, spare_key.public_pem)
    async with env.client(forged) as client:
        response = await client.get("/portfolio/balance")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"


async def test_stale_timestamp_is_401(env: Env, alice_key: KeyPair) -> None:
    async with env.client(alice_key, skew_ms=-(env.sim.max_skew_ms + 1)) as client:
        response = await client.get("/portfolio/balance")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"


async def test_injected_429_burst_has_the_exact_body_and_no_retry_after(env: Env) -> None:
    env.sim.faults.update({"rate_limit_burst_requests": 2})
    for _ in range(2):
        limited = await env.alice.get("/portfolio/balance")
        assert limited.status_code == 429
        assert limited.json() == {"error": "too many requests"}
        assert "retry-after" not in limited.headers
    assert (await env.alice.get("/portfolio/balance")).status_code == 200


async def test_write_bucket_runs_dry_and_refills_with_the_clock(env: Env) -> None:
    assert env.sim.limiters is not None
    env.sim.limiters.set_tier("alice", Tier.BASIC)  # write bucket: 100 tokens = 10 creates
    statuses = [
        (
            await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", f"0.{10 + i:02d}00"))
        ).status_code
        for i in range(11)
    ]
    assert statuses == [201] * 10 + [429]
    env.clock.advance(0.1)  # 10 tokens at 100/s
    assert (
        await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.3000"))
    ).status_code == 201


async def test_injected_5xx_does_not_act(env: Env) -> None:
    env.sim.faults.schedule_5xx(1)
    response = await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.2000"))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_server_error"
    assert env.sim.engine.orders == {}


async def test_lost_response_takes_effect_but_the_client_sees_a_transport_error(env: Env) -> None:
    env.sim.faults.schedule_lost_responses(1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await env.alice.post(
            ORDERS, json=order_body(env.cent_ticker, "bid", "0.2000", client_order_id="lost-1")
        )
    listed = await env.alice.get("/portfolio/orders", params={"ticker": env.cent_ticker})
    assert [o["client_order_id"] for o in listed.json()["orders"]] == ["lost-1"]


async def test_read_lag_hides_recent_orders_and_fills(env: Env) -> None:
    env.sim.faults.update({"read_lag_ms": 5_000})
    created = await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.5000", "3"))
    await env.bob.post(
        ORDERS, json=order_body(env.cent_ticker, "ask", "0.5000", "3", time_in_force="immediate_or_cancel")
    )
    assert (await env.alice.get("/portfolio/orders")).json()["orders"] == []
    assert (await env.alice.get(f"/portfolio/orders/{created.json()['order_id']}")).status_code == 404
    assert (await env.alice.get("/portfolio/fills")).json()["fills"] == []
    assert (await env.alice.get("/portfolio/positions")).json()["market_positions"] == []
    env.clock.advance(5)
    assert len((await env.alice.get("/portfolio/fills")).json()["fills"]) == 1
    (row,) = (await env.alice.get("/portfolio/positions")).json()["market_positions"]
    assert row["position_fp"] == "3.00"
