"""Sub-accounts over HTTP: their own cash, orders, fills and positions; exact, idempotent transfers."""

from __future__ import annotations

import pytest
from tests.sim.server.rest.sim_rest_support import Env, SchemaCheck, order_body

from kalshiflow.domain.ratelimits import Tier
from kalshiflow.domain.units import Money

ORDERS = "/portfolio/events/orders"
SUBS = "/portfolio/subaccounts"


async def _balances(env: Env) -> dict[int, str]:
    answer = await env.alice.get(f"{SUBS}/balances")
    return {row["subaccount_number"]: row["balance"] for row in answer.json()["subaccount_balances"]}


async def test_transfers_move_exact_cash_once_per_client_transfer_id(
    env: Env, check_schema: SchemaCheck
) -> None:
    assert (await env.alice.post(SUBS, json={})).json() == {"subaccount_number": 1}
    created = await env.alice.post(SUBS, json={})
    check_schema("CreateSubaccountResponse", created.json())
    assert created.json() == {"subaccount_number": 2}
    body = {"client_transfer_id": "t-1", "from_subaccount": 0, "to_subaccount": 2, "amount_cents": 12_345}
    for _ in range(2):  # the repeat is the same transfer, not a second one
        moved = await env.alice.post(f"{SUBS}/transfer", json=body)
        assert (moved.status_code, moved.json()) == (200, {})
    balances = await env.alice.get(f"{SUBS}/balances")
    check_schema("GetSubaccountBalancesResponse", balances.json())
    assert await _balances(env) == {0: "876.5500", 1: "0.0000", 2: "123.4500"}
    transfers = await env.alice.get(f"{SUBS}/transfers")
    check_schema("GetSubaccountTransfersResponse", transfers.json())
    (row,) = transfers.json()["transfers"]
    assert (row["from_subaccount"], row["to_subaccount"], row["amount_cents"]) == (0, 2, 12_345)
    too_much = {**body, "client_transfer_id": "t-2", "from_subaccount": 1, "amount_cents": 1}
    assert (await env.alice.post(f"{SUBS}/transfer", json=too_much)).status_code == 400
    unknown = {**body, "client_transfer_id": "t-3", "to_subaccount": 9}
    assert (await env.alice.post(f"{SUBS}/transfer", json=unknown)).status_code == 400
    assert await _balances(env) == {0: "876.5500", 1: "0.0000", 2: "123.4500"}
    assert (await env.bob.get(f"{SUBS}/transfers")).json()["transfers"] == []


@pytest.mark.parametrize(("side", "taker_side"), [("bid", "ask"), ("ask", "bid")])
async def test_a_sub_account_trades_with_its_own_cash_and_positions(
    env: Env, side: str, taker_side: str
) -> None:
    await env.alice.post(SUBS, json={})
    move = {"client_transfer_id": "fund", "from_subaccount": 0, "to_subaccount": 1, "amount_cents": 10_000}
    await env.alice.post(f"{SUBS}/transfer", json=move)
    rejected = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, side, "0.5000", "2", subaccount=5)
    )
    assert rejected.status_code == 400  # sub-account 5 was never created
    created = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, side, "0.5000", "4", subaccount=1)
    )
    assert created.status_code == 201, created.text
    order_id = created.json()["order_id"]
    held = await _balances(env)  # $2 plus the taker fee held back, in sub-account 1 only
    assert held[0] == "900.0000"
    assert Money.parse(held[1]) < Money.parse("98.00")

    await env.bob.post(
        ORDERS,
        json=order_body(env.cent_ticker, taker_side, "0.5000", "3", time_in_force="immediate_or_cancel"),
    )
    in_sub = (await env.alice.get("/portfolio/orders", params={"subaccount": 1})).json()["orders"]
    assert [(o["order_id"], o["subaccount_number"]) for o in in_sub] == [(order_id, 1)]
    assert (await env.alice.get("/portfolio/orders", params={"subaccount": 0})).json()["orders"] == []
    assert [o["order_id"] for o in (await env.alice.get("/portfolio/orders")).json()["orders"]] == [order_id]
    fills = (await env.alice.get("/portfolio/fills")).json()["fills"]
    assert [(f["count_fp"], f["subaccount_number"]) for f in fills] == [("3.00", 1)]
    expected = "3.00" if side == "bid" else "-3.00"
    sub_positions = (await env.alice.get("/portfolio/positions", params={"subaccount": 1})).json()
    assert [p["position_fp"] for p in sub_positions["market_positions"]] == [expected]
    assert (await env.alice.get("/portfolio/positions")).json()["market_positions"] == []  # primary: none

    assert (await env.bob.delete(f"{ORDERS}/{order_id}")).status_code == 404
    cancelled = await env.alice.delete(f"{ORDERS}/{order_id}")
    assert cancelled.json()["reduced_by"] == "1.00"
    sub = env.sim.engine.accounts["alice#sub1"]
    assert sub.reserved(env.sim.engine.orders) == 0
    assert (await _balances(env))[1] == Money(sub.balance).dollars_str()
    assert env.sim.engine.accounts["alice"].balance == Money.dollars(900)  # never touched


async def test_sub_accounts_need_the_advanced_level(env: Env) -> None:
    assert env.sim.limiters is not None
    env.sim.limiters.set_tier("bob", Tier.BASIC)
    assert (await env.bob.post(SUBS, json={})).status_code == 403
