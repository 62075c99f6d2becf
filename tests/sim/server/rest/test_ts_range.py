"""``min_ts``/``max_ts`` on the portfolio lists (Unix seconds, inclusive; ``rest_query.TsRange``
parses them once per request): fills and orders of three different seconds, sliced every way."""

from __future__ import annotations

from tests.sim.server.rest.sim_rest_support import Env, order_body

ORDERS = "/portfolio/events/orders"


async def _trade_each_second(env: Env) -> list[int]:
    """One fill (and one executed order) for alice at each of three seconds; their Unix seconds."""
    seconds = []
    for _ in range(3):
        await env.bob.post(ORDERS, json=order_body(env.cent_ticker, "ask", "0.4000", "1"))
        taken = await env.alice.post(
            ORDERS,
            json=order_body(env.cent_ticker, "bid", "0.4000", "1", time_in_force="immediate_or_cancel"),
        )
        assert taken.status_code == 201, taken.text
        seconds.append(env.clock.now_ms() // 1000)
        env.clock.advance(5)
    return seconds


async def test_fills_and_orders_are_filtered_by_their_second(env: Env) -> None:
    first, second, third = await _trade_each_second(env)

    async def fill_seconds(**params: int) -> list[int]:
        rows = (await env.alice.get("/portfolio/fills", params=params)).json()["fills"]
        return [row["ts"] for row in rows]

    async def order_count(**params: int) -> int:
        return len((await env.alice.get("/portfolio/orders", params=params)).json()["orders"])

    assert await fill_seconds() == [third, second, first]
    assert await fill_seconds(min_ts=second) == [third, second]
    assert await fill_seconds(max_ts=second) == [second, first]
    assert await fill_seconds(min_ts=second, max_ts=second) == [second]
    assert await fill_seconds(min_ts=third + 1) == []
    assert await order_count(min_ts=second) == 2
    assert await order_count(min_ts=first, max_ts=first) == 1


async def test_a_bad_bound_is_refused_once_an_item_is_tested(env: Env) -> None:
    assert (await env.alice.get("/portfolio/fills", params={"min_ts": "soon"})).status_code == 200  # none
    await _trade_each_second(env)
    refused = await env.alice.get("/portfolio/fills", params={"min_ts": "soon"})
    assert refused.status_code == 400
    assert (await env.alice.get("/portfolio/orders", params={"max_ts": "x"})).status_code == 400
