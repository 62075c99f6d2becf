"""The historical split over HTTP: with a retention set, old fills, trades, finished orders and
settled markets leave the live lists for ``/historical/*``; resting orders always stay live."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.sim.server.rest.sim_rest_support import Env, SchemaCheck, order_body

from kalshiflow.domain.settlement import MarketResult
from kalshiflow.sim import lifecycle

ORDERS = "/portfolio/events/orders"


def _ids(rows: list[dict[str, object]], key: str) -> set[object]:
    return {row[key] for row in rows}


async def test_old_records_move_to_the_historical_endpoints(env: Env, check_schema: SchemaCheck) -> None:
    await env.bob.post(ORDERS, json=order_body(env.cent_ticker, "ask", "0.4000", "5"))
    taken = await env.alice.post(
        ORDERS, json=order_body(env.cent_ticker, "bid", "0.4000", "2", time_in_force="immediate_or_cancel")
    )
    old_order = taken.json()["order_id"]
    resting = (await env.alice.post(ORDERS, json=order_body(env.cent_ticker, "bid", "0.1000", "1"))).json()
    settled = next(t for t, m in env.sim.engine.markets.items() if t != env.cent_ticker and m.is_trading)
    lifecycle.determine(env.sim.engine, settled, MarketResult.NO)
    lifecycle.settle_market(env.sim.engine, env.sim.engine.markets[settled], env.clock.now_ms())

    assert (await env.admin.post("/historical", json={"retention_s": 3600})).status_code == 200
    env.clock.advance(3601)  # everything above is now older than the cutoff
    cutoff = (await env.public.get("/historical/cutoff")).json()
    expected = datetime.fromtimestamp((env.clock.now_ms() - 3_600_000) // 1000, tz=UTC)
    assert cutoff["trades_created_ts"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")

    live_orders = (await env.alice.get("/portfolio/orders")).json()["orders"]
    assert _ids(live_orders, "order_id") == {resting["order_id"]}  # resting orders always stay live
    old_orders = await env.alice.get("/historical/orders")
    check_schema("GetOrdersResponse", old_orders.json())
    assert _ids(old_orders.json()["orders"], "order_id") == {old_order}

    assert (await env.alice.get("/portfolio/fills")).json()["fills"] == []
    old_fills = await env.alice.get("/historical/fills")
    check_schema("GetFillsResponse", old_fills.json())
    assert _ids(old_fills.json()["fills"], "order_id") == {old_order}

    assert (await env.public.get("/markets/trades")).json()["trades"] == []
    old_trades = await env.public.get("/historical/trades", params={"ticker": env.cent_ticker})
    check_schema("GetTradesResponse", old_trades.json())
    assert [t["count_fp"] for t in old_trades.json()["trades"]] == ["2.00"]

    live_markets = (await env.public.get("/markets", params={"limit": 1000})).json()["markets"]
    assert settled not in _ids(live_markets, "ticker")
    old_markets = await env.public.get("/historical/markets")
    check_schema("GetMarketsResponse", old_markets.json())
    assert _ids(old_markets.json()["markets"], "ticker") == {settled}
    one = await env.public.get(f"/historical/markets/{settled}")
    check_schema("GetMarketResponse", one.json())
    assert (await env.public.get(f"/historical/markets/{env.cent_ticker}")).status_code == 404

    assert (await env.admin.post("/historical", json={"retention_s": None})).status_code == 200
    assert len((await env.alice.get("/portfolio/fills")).json()["fills"]) == 1  # all live again
    assert (await env.alice.get("/historical/fills")).json() == {"fills": [], "cursor": ""}
