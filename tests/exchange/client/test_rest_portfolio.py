"""Account reads and order groups over loopback: every method round-trips and parses exactly."""

from __future__ import annotations

import pytest
from tests.exchange.client.exchange_client_kit import START_BALANCE, ClientEnv

from kalshiflow.domain.orders import BookSide, OrderStatus, OutcomeSide, TimeInForce
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.errors import ErrorKind, RejectedError


async def _trade(env: ClientEnv, alice_side: BookSide, yes_price: Price, contracts: int) -> str:
    """Bob rests the opposite side, Alice takes it; returns Alice's order id."""
    await env.bob.create_order(env.cent_ticker, alice_side.opposite, yes_price, Count.contracts(contracts))
    result = await env.alice.create_order(
        env.cent_ticker,
        alice_side,
        yes_price,
        Count.contracts(contracts),
        time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
    )
    assert result.fill_count == Count.contracts(contracts)
    return result.order_id


async def test_balance_is_exact(env: ClientEnv) -> None:
    balance = await env.alice.balance()
    assert balance.balance == START_BALANCE
    assert balance.portfolio_value == Money(0)


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
async def test_positions_and_fills_after_a_trade(env: ClientEnv, side: BookSide) -> None:
    yes_price = Price.parse("0.4500")
    order_id = await _trade(env, side, yes_price, 5)
    sign = 1 if side is BookSide.BID else -1
    (position,) = await env.alice.positions()
    assert position.ticker == env.cent_ticker
    assert position.position == Count(sign * 500)
    (bob_position,) = await env.bob.positions()
    assert bob_position.position == Count(-sign * 500)
    (fill,) = await env.alice.fills(ticker=env.cent_ticker)
    assert fill.order_id == order_id
    assert fill.is_taker
    assert fill.book_side is side
    assert fill.outcome_side is side.outcome_side
    assert fill.yes_price == yes_price
    assert fill.no_price == yes_price.complement()
    assert fill.count == Count.contracts(5)
    assert fill.fee > 0
    engine_fill = env.sim.engine.account("alice-key").fills[0]
    assert fill.trade_id == engine_fill.trade_id
    assert fill.fee == engine_fill.fee
    order = await env.alice.order(order_id)
    assert order.status is OrderStatus.EXECUTED
    assert order.fees == fill.fee == order.taker_fees


async def test_orders_follow_the_cursor_to_the_last_page(env: ClientEnv) -> None:
    created = []
    for i in range(12):
        result = await env.alice.create_order(
            env.cent_ticker, BookSide.BID, Price(1000 + 100 * i), Count.contracts(1)
        )
        created.append(result.order_id)
    listed = await env.alice.orders(ticker=env.cent_ticker, page_size=5)
    assert [o.order_id for o in listed] == list(reversed(created))  # newest first
    assert all(o.status is OrderStatus.RESTING and o.is_resting for o in listed)
    assert all(o.outcome_side is OutcomeSide.YES for o in listed)
    resting = await env.alice.orders(status=OrderStatus.RESTING, page_size=1000)
    assert len(resting) == 12
    assert await env.alice.orders(status=OrderStatus.EXECUTED) == []


async def test_order_reads_back_every_field(env: ClientEnv) -> None:
    result = await env.alice.create_order(
        env.cent_ticker,
        BookSide.ASK,
        Price.parse("0.6100"),
        Count.parse("2.50"),
        client_order_id="read-back-1",
        cancel_order_on_pause=True,
    )
    order = await env.alice.order(result.order_id)
    assert order.client_order_id == "read-back-1"
    assert (order.ticker, order.book_side, order.outcome_side) == (
        env.cent_ticker,
        BookSide.ASK,
        OutcomeSide.NO,
    )
    assert order.yes_price == Price.parse("0.61")
    assert order.no_price == Price.parse("0.39")
    assert (order.initial_count, order.remaining_count, order.fill_count) == (
        Count(250),
        Count(250),
        Count(0),
    )
    assert order.cancel_order_on_pause
    assert order.created_ms == env.clock.now_ms()


async def test_settlements_after_the_market_settles(env: ClientEnv) -> None:
    await _trade(env, BookSide.BID, Price.parse("0.3000"), 2)
    answer = await env.admin.post(
        f"/markets/{env.cent_ticker}/determine", json={"result": "yes", "settle_now": True}
    )
    assert answer.status_code == 200, answer.text
    (settlement,) = await env.alice.settlements()
    assert settlement.ticker == env.cent_ticker
    assert settlement.market_result == "yes"
    assert settlement.yes_count == Count.contracts(2)
    assert settlement.revenue == Money.dollars(2)
    assert await env.alice.positions() == []


async def test_order_group_lifecycle(env: ClientEnv) -> None:
    group = await env.alice.create_order_group(Count.contracts(10))
    assert group.contracts_limit == Count.contracts(10)
    listed = await env.alice.order_groups()
    assert [g.order_group_id for g in listed] == [group.order_group_id]
    result = await env.alice.create_order(
        env.cent_ticker,
        BookSide.BID,
        Price.parse("0.2000"),
        Count.contracts(1),
        order_group_id=group.order_group_id,
    )
    detail = await env.alice.order_group(group.order_group_id)
    assert detail.order_ids == (result.order_id,)
    await env.alice.update_order_group_limit(group.order_group_id, Count.contracts(20))
    assert (await env.alice.order_group(group.order_group_id)).contracts_limit == Count.contracts(20)
    await env.alice.trigger_order_group(group.order_group_id)
    assert (await env.alice.order(result.order_id)).status is OrderStatus.CANCELED
    with pytest.raises(RejectedError) as excinfo:
        await env.alice.create_order(
            env.cent_ticker,
            BookSide.BID,
            Price.parse("0.2000"),
            Count.contracts(1),
            order_group_id=group.order_group_id,
        )
    assert excinfo.value.kind is ErrorKind.REJECTED
    await env.alice.reset_order_group(group.order_group_id)
    await env.alice.create_order(
        env.cent_ticker,
        BookSide.BID,
        Price.parse("0.2000"),
        Count.contracts(1),
        order_group_id=group.order_group_id,
    )
    await env.alice.delete_order_group(group.order_group_id)
    assert await env.alice.order_groups() == []
