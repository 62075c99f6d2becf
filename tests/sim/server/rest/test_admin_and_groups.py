"""The sim-only admin API and order groups over HTTP."""

from __future__ import annotations

from tests.sim.server.rest.sim_rest_support import Env, KeyPair, SchemaCheck, order_body

from kalshiflow.domain.units import Money

ORDERS = "/portfolio/events/orders"
GROUPS = "/portfolio/order_groups"


async def test_fault_config_round_trips_and_rejects_unknown_keys(env: Env) -> None:
    updated = await env.admin.put("/faults", json={"latency_ms": 1, "http_5xx_rate": 0.0})
    assert updated.status_code == 200
    assert updated.json()["config"]["latency_ms"] == 1
    assert (await env.admin.put("/faults", json={"nonsense": 1})).status_code == 400
    assert (await env.admin.put("/faults", json={"http_5xx_rate": 2.0})).status_code == 400
    scheduled = await env.admin.post("/faults/schedule", json={"http_5xx": 2})
    assert scheduled.json()["pending"]["http_5xx"] == 2
    reset = await env.admin.post("/faults/reset")
    assert reset.json()["pending"]["http_5xx"] == 0


async def test_balance_edit_is_exact_and_booked_as_a_deposit(env: Env) -> None:
    deposits = env.sim.engine.deposits
    response = await env.admin.post("/accounts/alice/balance", json={"balance_dollars": "123.4500"})
    assert response.status_code == 200
    assert env.sim.engine.accounts["alice"].balance == Money.parse("123.45")
    assert env.sim.engine.deposits == deposits + Money.parse("123.45") - Money.dollars(1000)
    assert (await env.alice.get("/portfolio/balance")).json()["balance_dollars"] == "123.4500"
    assert (
        await env.admin.post("/accounts/nobody/balance", json={"balance_dollars": "1"})
    ).status_code == 401


async def test_position_edit_and_settlement_show_up_in_portfolio(env: Env, check_schema: SchemaCheck) -> None:
    edit = await env.admin.post(
        f"/accounts/alice/positions/{env.cent_ticker}",
        json={"position_fp": "-4.00", "cost_dollars": "2.0000"},
    )
    assert edit.status_code == 200, edit.text
    (row,) = (await env.alice.get("/portfolio/positions")).json()["market_positions"]
    assert row["position_fp"] == "-4.00"
    settled = await env.admin.post(
        f"/markets/{env.cent_ticker}/determine", json={"result": "no", "settle_now": True}
    )
    assert settled.json()["status"] == "finalized"
    settlements = await env.alice.get("/portfolio/settlements")
    check_schema("GetSettlementsResponse", settlements.json())
    (s,) = settlements.json()["settlements"]
    assert (s["market_result"], s["no_count_fp"], s["revenue"]) == ("no", "4.00", 400)


async def test_new_account_can_trade(env: Env, spare_key: KeyPair) -> None:
    created = await env.admin.post(
        "/accounts",
        json={
            "key_id": spare_key.key_id,
            "public_key_pem": spare_key.public_pem.decode(),
            "balance_dollars": "50",
        },
    )
    assert created.status_code == 201, created.text
    async with env.client(spare_key) as client:
        assert (await client.get("/portfolio/balance")).json()["balance_dollars"] == "50.0000"
    assert (
        await env.admin.post("/accounts", json={"key_id": "k", "public_key_pem": "nope"})
    ).status_code == 400


async def test_close_time_and_trading_pause(env: Env) -> None:
    closed = await env.admin.post(
        f"/markets/{env.cent_ticker}/close_time", json={"close_ts": env.clock.now_ms() // 1000}
    )
    assert closed.json()["status"] == "closed"
    assert (
        await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.5000"))
    ).status_code == 409
    await env.admin.post("/exchange", json={"trading_active": False})
    assert (await env.public.get("/exchange/status")).json()["trading_active"] is False
    paused = await env.alice.post(ORDERS, json=order_body(env.subcent_ticker, "bid", "0.5000"))
    assert paused.json()["error"]["code"] == "trading_is_paused"
    state = (await env.admin.get("/state")).json()
    assert {a["account_id"] for a in state["accounts"]} == {"alice", "bob"}
    assert (await env.admin.post("/markets/NOPE/determine", json={"result": "yes"})).status_code == 404


async def test_order_group_lifecycle(env: Env, check_schema: SchemaCheck) -> None:
    created = await env.alice.post(f"{GROUPS}/create", json={"contracts_limit": 5})
    assert created.status_code == 201
    check_schema("CreateOrderGroupResponse", created.json())
    group_id = created.json()["order_group_id"]
    order = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, "bid", "0.3000", order_group_id=group_id)
    )
    order_id = order.json()["order_id"]
    detail = await env.alice.get(f"{GROUPS}/{group_id}")
    check_schema("GetOrderGroupResponse", detail.json())
    assert detail.json()["orders"] == [order_id]
    listed = await env.alice.get(GROUPS)
    check_schema("GetOrderGroupsResponse", listed.json())
    assert (await env.alice.put(f"{GROUPS}/{group_id}/trigger", json={})).json() == {}
    assert (await env.alice.get(f"/portfolio/orders/{order_id}")).json()["order"]["status"] == "canceled"
    rejected = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, "bid", "0.3000", order_group_id=group_id)
    )
    assert rejected.status_code == 400
    assert (await env.alice.put(f"{GROUPS}/{group_id}/reset", json={})).status_code == 200
    again = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, "bid", "0.3000", order_group_id=group_id)
    )
    assert again.status_code == 201
    assert (
        await env.alice.put(f"{GROUPS}/{group_id}/limit", json={"contracts_limit_fp": "7.00"})
    ).status_code == 200
    assert (await env.alice.get(f"{GROUPS}/{group_id}")).json()["contracts_limit_fp"] == "7.00"
    assert (await env.alice.put(f"{GROUPS}/{group_id}/limit", json={"contracts_limit": 0})).status_code == 400
    assert (await env.alice.delete(f"{GROUPS}/{group_id}")).json() == {}
    assert (await env.alice.get(f"{GROUPS}/{group_id}")).status_code == 404
    assert (await env.bob.get(f"{GROUPS}/{group_id}")).status_code == 404


async def test_admin_refuses_a_cross_site_origin_and_leaves_the_balance_alone(env: Env) -> None:
    before = env.sim.engine.accounts["alice"].balance
    response = await env.admin.post(
        "/accounts/alice/balance",
        json={"balance_dollars": "1.0000"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert env.sim.engine.accounts["alice"].balance == before
    own_origin = env.address.base_url
    allowed = await env.admin.get("/faults", headers={"Origin": own_origin})
    assert allowed.status_code == 200


async def test_admin_on_loopback_refuses_a_request_naming_another_host(env: Env) -> None:
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 sends
    ``Host: evil.example:PORT`` and the matching Origin, so the Origin check passes; on loopback the
    admin API (no auth: balances, faults, settlements) must not answer it."""
    before = env.sim.engine.accounts["alice"].balance
    port = env.address.port
    foreign = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    edit = await env.admin.post(
        "/accounts/alice/balance", json={"balance_dollars": "1.0000"}, headers=foreign
    )
    assert edit.status_code == 421
    assert env.sim.engine.accounts["alice"].balance == before
    read = await env.admin.get("/faults", headers=foreign)
    assert read.status_code == 421
    assert "latency_ms" not in read.text
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        own = {"Host": host, "Origin": f"http://{host}"}
        assert (await env.admin.get("/faults", headers=own)).status_code == 200, host


async def test_admin_refuses_bodies_that_are_not_json(env: Env) -> None:
    """A cross-site form or no-cors fetch can send text/plain or form bodies without a preflight."""
    before = env.sim.engine.accounts["alice"].balance
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = await env.admin.post(
            "/accounts/alice/balance",
            content=b'{"balance_dollars": "1.0000"}',
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 415, content_type
    assert env.sim.engine.accounts["alice"].balance == before
    sent = await env.admin.post(
        "/accounts/alice/balance",
        content=b'{"balance_dollars": "1.0000"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert sent.status_code == 200
