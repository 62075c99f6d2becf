"""V2 order endpoints over HTTP: lifecycle, exact cash, and every documented rejection."""

from __future__ import annotations

import pytest
from tests.sim.server.rest.sim_rest_support import Env, SchemaCheck, order_body, snapshot

from kalshiflow.domain.units import Money

ORDERS = "/portfolio/events/orders"


@pytest.mark.parametrize(
    ("side", "price", "cost_per_contract"), [("bid", "0.3000", 310_000), ("ask", "0.7000", 310_000)]
)
async def test_order_lifecycle_over_http(
    env: Env, check_schema: SchemaCheck, side: str, price: str, cost_per_contract: int
) -> None:
    created = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, side, price, "10", client_order_id="c-1")
    )
    assert created.status_code == 201
    check_schema("CreateOrderV2Response", created.json())
    order_id = created.json()["order_id"]
    assert created.json()["remaining_count"] == "10.00"
    read = await env.alice.get(f"/portfolio/orders/{order_id}")
    check_schema("GetOrderResponse", read.json())
    assert read.json()["order"]["status"] == "resting"
    assert read.json()["order"]["book_side"] == side

    amend_price = "0.3100" if side == "bid" else "0.6900"
    amended = await env.alice.post(
        f"{ORDERS}/{order_id}/amend",
        json={"ticker": env.cent_ticker, "side": side, "price": amend_price, "count": "8"},
    )
    assert amended.status_code == 200, amended.text
    check_schema("AmendOrderV2Response", amended.json())
    decreased = await env.alice.post(f"{ORDERS}/{order_id}/decrease", json={"reduce_by": "3"})
    check_schema("DecreaseOrderV2Response", decreased.json())
    assert decreased.json()["remaining_count"] == "5.00"

    # Bob takes 2 contracts at the resting price; Alice is the maker.
    take_side = "ask" if side == "bid" else "bid"
    taken = await env.bob.post(
        ORDERS,
        json=order_body(env.cent_ticker, take_side, amend_price, "2", time_in_force="immediate_or_cancel"),
    )
    assert taken.json()["fill_count"] == "2.00"
    assert taken.json()["average_fill_price"] == amend_price
    fills = await env.alice.get("/portfolio/fills", params={"order_id": order_id})
    check_schema("GetFillsResponse", fills.json())
    assert [f["count_fp"] for f in fills.json()["fills"]] == ["2.00"]
    positions = await env.alice.get("/portfolio/positions")
    check_schema("GetPositionsResponse", positions.json())
    (row,) = positions.json()["market_positions"]
    assert row["position_fp"] == ("2.00" if side == "bid" else "-2.00")

    cancelled = await env.alice.delete(f"{ORDERS}/{order_id}")
    check_schema("CancelOrderV2Response", cancelled.json())
    assert cancelled.json()["reduced_by"] == "3.00"
    account = env.sim.engine.accounts["alice"]
    fee = sum(f.fee for f in account.fills)
    assert account.balance == Money.dollars(1000) - 2 * cost_per_contract - fee
    balance = (await env.alice.get("/portfolio/balance")).json()
    check_schema("GetBalanceResponse", balance)
    assert balance["balance_dollars"] == Money(account.balance).dollars_str()
    listed = await env.alice.get("/portfolio/orders", params={"status": "canceled"})
    check_schema("GetOrdersResponse", listed.json())
    assert [o["order_id"] for o in listed.json()["orders"]] == [order_id]


async def test_duplicate_client_order_id_is_409(env: Env) -> None:
    body = order_body(env.cent_ticker, "bid", "0.2000", client_order_id="same")
    assert (await env.alice.post(ORDERS, json=body)).status_code == 201
    again = await env.alice.post(ORDERS, json=body)
    assert again.status_code == 409


@pytest.mark.parametrize("which", ["cent", "subcent"])
async def test_off_grid_price_is_invalid_price(env: Env, which: str) -> None:
    ticker = env.cent_ticker if which == "cent" else env.subcent_ticker
    before = snapshot(env.sim.engine)
    bad = await env.alice.post(
        ORDERS, json=order_body(ticker, "bid", "0.5005" if which == "cent" else "0.50005")
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_price"
    assert snapshot(env.sim.engine) == before


async def test_subcent_market_accepts_a_subcent_price(env: Env) -> None:
    ok = await env.alice.post(ORDERS, json=order_body(env.subcent_ticker, "bid", "0.0510"))
    assert ok.status_code == 201, ok.text


async def test_post_only_that_would_cross_is_rejected(env: Env) -> None:
    await env.bob.post(ORDERS, json=order_body(env.cent_ticker, "ask", "0.5000"))
    crossing = await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.5000", post_only=True))
    assert crossing.status_code == 400
    assert crossing.json()["error"]["details"] == "post only cross"


async def test_fill_or_kill_is_all_or_nothing_and_ioc_takes_what_it_can(env: Env) -> None:
    await env.bob.post(ORDERS, json=order_body(env.cent_ticker, "ask", "0.5000", "4"))
    fok = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, "bid", "0.5000", "5", time_in_force="fill_or_kill")
    )
    assert (fok.json()["fill_count"], fok.json()["remaining_count"]) == ("0.00", "0.00")
    ioc = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, "bid", "0.5000", "5", time_in_force="immediate_or_cancel")
    )
    assert (ioc.json()["fill_count"], ioc.json()["remaining_count"]) == ("4.00", "0.00")


async def test_reduce_only_without_a_position_is_rejected(env: Env) -> None:
    response = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, "ask", "0.5000", reduce_only=True)
    )
    assert response.status_code == 400


async def test_insufficient_balance(env: Env) -> None:
    response = await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.9900", "5000"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "insufficient_balance"


async def test_closed_market_is_409_and_unknown_things_are_404(env: Env) -> None:
    market = env.sim.engine.markets[env.cent_ticker]
    env.clock.set_ms(market.close_ms + 1)
    closed = await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.5000"))
    assert closed.status_code == 409
    assert closed.json()["error"]["code"] == "market_closed"
    assert (await env.alice.post(ORDERS, json=order_body("NOPE-1", "bid", "0.5000"))).status_code == 404
    assert (await env.alice.get("/portfolio/orders/no-such-order")).status_code == 404
    assert (await env.alice.delete(f"{ORDERS}/no-such-order")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/portfolio/orders"),
        ("DELETE", "/portfolio/orders/abc"),
        ("POST", "/portfolio/orders/abc/amend"),
        ("POST", "/portfolio/orders/abc/decrease"),
        ("POST", "/portfolio/orders/batched"),
        ("DELETE", "/portfolio/orders/batched"),
    ],
)
async def test_v1_mutations_are_gone(env: Env, method: str, path: str) -> None:
    response = await env.alice.request(method, path, json={})
    assert response.status_code == 410
    assert response.json() == {
        "error": {
            "code": "deprecated_v1_order_endpoint",
            "message": "Please switch to the V2 endpoints",
            "details": "https://docs.kalshi.com/api-reference/orders/create-order-v2",
        }
    }


async def test_batch_create_reports_errors_per_item(env: Env, check_schema: SchemaCheck) -> None:
    orders = [
        order_body(env.cent_ticker, "bid", "0.2000"),
        order_body(env.cent_ticker, "bid", "0.2050", client_order_id="x"),
    ]
    response = await env.alice.post(f"{ORDERS}/batched", json={"orders": orders})
    assert response.status_code == 201
    check_schema("BatchCreateOrdersV2Response", response.json())
    first, second = response.json()["orders"]
    assert "error" not in first
    assert first["ts_ms"]
    assert second["error"]["code"] == "invalid_price"
    assert second["client_order_id"] == "x"
    cancel = await env.alice.request(
        "DELETE",
        f"{ORDERS}/batched",
        json={"orders": [{"order_id": first["order_id"]}, {"order_id": "nope"}]},
    )
    check_schema("BatchCancelOrdersV2Response", cancel.json())
    ok, failed = cancel.json()["orders"]
    assert ok["reduced_by"] == "10.00"
    assert failed["reduced_by"] == "0.00"
    assert failed["error"]["code"] == "not_found"


async def test_oversize_batch_is_400(env: Env) -> None:
    orders = [order_body(env.cent_ticker, "bid", "0.2000")] * 21
    response = await env.alice.post(f"{ORDERS}/batched", json={"orders": orders})
    assert response.status_code == 400
    assert env.sim.engine.orders == {}


async def test_cancel_all_is_204_without_body(env: Env) -> None:
    for price in ("0.1000", "0.1100"):
        await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", price))
    response = await env.alice.delete(ORDERS)
    assert response.status_code == 204
    assert response.content == b""
    assert not any(o.is_resting for o in env.sim.engine.orders.values())
