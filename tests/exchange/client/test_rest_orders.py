"""V2 order mutations over loopback, and how the exchange's refusals are classified."""

from __future__ import annotations

import uuid

import pytest
from tests.exchange.client.exchange_client_kit import ClientEnv, Key, make_client, make_key

from kalshiflow.domain.orders import BookSide, OrderStatus, TimeInForce
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.errors import AuthError, ErrorKind, NotFoundError, RejectedError
from kalshiflow.exchange.models import NewOrder


async def test_create_generates_and_returns_a_client_order_id(env: ClientEnv) -> None:
    result = await env.alice.create_order(
        env.cent_ticker, BookSide.BID, Price.parse("0.25"), Count.contracts(3)
    )
    assert uuid.UUID(result.client_order_id).version == 4
    assert result.remaining_count == Count.contracts(3)
    assert result.fill_count == Count(0)
    assert result.average_fill_price is None
    assert env.sim.engine.orders[result.order_id].client_order_id == result.client_order_id


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
async def test_taking_create_reports_fill_and_averages(env: ClientEnv, side: BookSide) -> None:
    price = Price.parse("0.5500")
    await env.bob.create_order(env.cent_ticker, side.opposite, price, Count.contracts(2))
    result = await env.alice.create_order(
        env.cent_ticker, side, price, Count.contracts(2), time_in_force=TimeInForce.FILL_OR_KILL
    )
    assert result.fill_count == Count.contracts(2)
    assert result.remaining_count == Count(0)
    assert result.average_fill_price is not None
    assert result.average_fill_price == price * 100
    assert result.average_fee_paid is not None
    assert result.average_fee_paid > 0


async def test_cancel_amend_decrease_round_trip(env: ClientEnv) -> None:
    created = await env.alice.create_order(
        env.cent_ticker, BookSide.BID, Price.parse("0.30"), Count.contracts(10), client_order_id="amend-me"
    )
    amended = await env.alice.amend_order(
        created.order_id,
        env.cent_ticker,
        BookSide.BID,
        Price.parse("0.31"),
        Count.contracts(8),
        client_order_id="amend-me",
        updated_client_order_id="amended",
    )
    assert amended.order_id == created.order_id
    assert amended.client_order_id == "amended"
    order = await env.alice.order(created.order_id)
    assert order.yes_price == Price.parse("0.31")
    assert order.remaining_count == Count.contracts(8)
    decreased = await env.alice.decrease_order(created.order_id, reduce_by=Count.contracts(3))
    assert decreased.remaining_count == Count.contracts(5)
    decreased = await env.alice.decrease_order(created.order_id, reduce_to=Count.contracts(4))
    assert decreased.remaining_count == Count.contracts(4)
    cancelled = await env.alice.cancel_order(created.order_id)
    assert cancelled.reduced_by == Count.contracts(4)
    assert cancelled.client_order_id == "amended"
    assert (await env.alice.order(created.order_id)).status is OrderStatus.CANCELED
    with pytest.raises(ValueError, match="exactly one"):
        await env.alice.decrease_order(created.order_id)


async def test_batch_create_answers_per_item(env: ClientEnv) -> None:
    good = env.alice.new_order(env.cent_ticker, BookSide.BID, Price.parse("0.20"), Count.contracts(1))
    off_grid = env.alice.new_order(env.cent_ticker, BookSide.BID, Price.parse("0.2050"), Count.contracts(1))
    items = await env.alice.batch_create([good, off_grid])
    assert [i.ok for i in items] == [True, False]
    assert items[0].result is not None
    assert items[0].client_order_id == good.client_order_id
    assert items[1].error is not None
    assert items[1].error.code == "invalid_price"
    assert items[1].client_order_id == off_grid.client_order_id
    assert await env.alice.batch_create([]) == []


async def test_batch_cancel_answers_per_item(env: ClientEnv) -> None:
    a = await env.alice.create_order(env.cent_ticker, BookSide.BID, Price.parse("0.20"), Count.contracts(2))
    items = await env.alice.batch_cancel([a.order_id, "no-such-order"])
    assert items[0].ok
    assert items[0].result is not None
    assert items[0].result.reduced_by == Count.contracts(2)
    assert not items[1].ok
    assert items[1].order_id == "no-such-order"


async def test_cancel_all_cancels_every_resting_order(env: ClientEnv) -> None:
    for cents in (10, 11, 12):
        await env.alice.create_order(
            env.cent_ticker, BookSide.BID, Price.from_cents(cents), Count.contracts(1)
        )
    await env.alice.cancel_all()
    assert await env.alice.orders(status=OrderStatus.RESTING) == []


async def test_duplicate_client_order_id_is_rejected_409(env: ClientEnv) -> None:
    order = env.alice.new_order(env.cent_ticker, BookSide.BID, Price.parse("0.20"), Count.contracts(1))
    await env.alice.place(order)
    with pytest.raises(RejectedError) as excinfo:
        await env.alice.place(order)
    assert (excinfo.value.kind, excinfo.value.status) == (ErrorKind.REJECTED, 409)
    assert sum(1 for o in env.sim.engine.orders.values() if o.client_order_id == order.client_order_id) == 1


async def test_off_grid_price_is_rejected_400_invalid_price(env: ClientEnv) -> None:
    with pytest.raises(RejectedError) as excinfo:
        await env.alice.create_order(env.cent_ticker, BookSide.BID, Price.parse("0.5050"), Count.contracts(1))
    assert (excinfo.value.status, excinfo.value.code) == (400, "invalid_price")
    assert env.sim.engine.orders == {}


async def test_cancel_of_unknown_order_is_not_found(env: ClientEnv) -> None:
    with pytest.raises(NotFoundError):
        await env.alice.cancel_order("00000000-0000-4000-8000-000000000000")


async def test_unknown_key_is_auth_with_a_clear_message(env: ClientEnv) -> None:
    stranger: Key = make_key("stranger-key")
    client = make_client(env.rest_url, stranger, env.clock)
    try:
        with pytest.raises(AuthError) as excinfo:
            await client.balance()
    finally:
        await client.aclose()
    err = excinfo.value
    assert (err.kind, err.status) == (ErrorKind.AUTH, 401)
    assert "GET /portfolio/balance" in str(err)
    assert "KALSHIFLOW_KEY_ID" in str(err)
    assert "BEGIN" not in str(err)


async def test_v1_order_path_answers_410_and_is_rejected(env: ClientEnv) -> None:
    """The client only uses V2 paths; a V1 create (sent by hand here) is a definitive 410."""
    body = {"ticker": env.cent_ticker, "side": "yes", "action": "buy", "count": 1, "yes_price": 20}
    with pytest.raises(RejectedError) as excinfo:
        await env.alice._write("POST", "/portfolio/orders", body)
    assert (excinfo.value.status, excinfo.value.code) == (410, "deprecated_v1_order_endpoint")


def test_new_order_renders_the_v2_request() -> None:
    order = NewOrder(
        "T-1",
        BookSide.ASK,
        Price.parse("0.4200"),
        Count.parse("3.5"),
        "cid-1",
        post_only=True,
        order_group_id="g",
    )
    assert order.to_wire() == {
        "ticker": "T-1",
        "client_order_id": "cid-1",
        "side": "ask",
        "count": "3.50",
        "price": "0.4200",
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "taker_at_cross",
        "post_only": True,
        "order_group_id": "g",
    }
    with pytest.raises(ValueError, match="client_order_id"):
        NewOrder("T-1", BookSide.BID, Price(4200), Count(100), "")
