"""Ticker, trade, private channels and lifecycle: shapes checked against the AsyncAPI schemas."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

from tests.sim.server.ws.conftest import Connect
from tests.sim.server.ws.ws_helpers import Account, gtc, place, validate

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.settlement import MarketResult
from kalshiflow.sim import fee_schedule, lifecycle, order_groups, subaccounts
from kalshiflow.sim.events import EngineEvent, LifecycleEvent
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.market.headless import HeadlessMarket

PRIVATE = ["fill", "user_orders", "market_positions", "order_group_updates"]


def _of(messages: list[dict[str, Any]], msg_type: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == msg_type]


async def test_trade_ticker_and_private_messages_match_the_schemas(
    sim: SimExchange, alice: Account, bob: Account, connect: Connect, cent_ticker: str
) -> None:
    client = await connect(alice)
    sids = await client.subscribe(["ticker", "trade", *PRIVATE])
    maker = place(sim, bob, gtc(cent_ticker, BookSide.ASK, 55, 5, "bob-ask")).order
    taker = place(sim, alice, gtc(cent_ticker, BookSide.BID, 56, 3, "alice-bid")).order
    messages = await client.drain()
    for msg in messages:
        validate(msg)
    (trade,) = _of(messages, "trade")
    assert (trade["sid"], trade["seq"]) == (sids["trade"], 1)
    assert trade["msg"] | {"trade_id": "x", "ts": 0, "ts_ms": 0} == {
        "trade_id": "x",
        "market_ticker": cent_ticker,
        "yes_price_dollars": "0.5500",
        "no_price_dollars": "0.4500",
        "count_fp": "3.00",
        "taker_side": "yes",
        "taker_outcome_side": "yes",
        "taker_book_side": "bid",
        "is_block_trade": False,
        "ts": 0,
        "ts_ms": 0,
    }
    (fill,) = _of(messages, "fill")
    assert "seq" not in fill
    assert (fill["msg"]["order_id"], fill["msg"]["is_taker"], fill["msg"]["post_position_fp"]) == (
        taker.order_id,
        True,
        "3.00",
    )
    assert fill["msg"]["trade_id"] == trade["msg"]["trade_id"]
    orders = _of(messages, "user_order")
    assert {m["msg"]["order_id"] for m in orders} == {taker.order_id}, "bob's order leaked"
    # rendered when each event happened, not from the order's final state
    assert [(m["msg"]["status"], m["msg"]["fill_count_fp"]) for m in orders] == [
        ("resting", "0.00"),
        ("executed", "3.00"),
    ]
    assert orders[-1]["msg"]["last_update_reason"] == "Trade"
    assert maker.order_id not in str(messages)
    (position,) = _of(messages, "market_position")
    assert position["msg"]["position_fp"] == "3.00"
    assert position["msg"]["user_id"] == sim.engine.accounts["alice"].user_id
    tickers = _of(messages, "ticker")
    assert tickers[-1]["msg"]["price_dollars"] == "0.5500"
    assert tickers[-1]["msg"]["yes_ask_dollars"] == "0.5500"
    assert tickers[-1]["msg"]["yes_ask_size_fp"] == "2.00"
    assert tickers[-1]["msg"]["volume_fp"] == "3.00"
    assert all("seq" not in m for m in tickers + orders + [position])


async def test_ticker_initial_snapshot_and_only_changes_afterwards(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str
) -> None:
    place(sim, alice, gtc(cent_ticker, BookSide.BID, 30, 2))
    client = await connect(alice)
    await client.subscribe(["ticker"], market_ticker=cent_ticker, send_initial_snapshot=True)
    first = await client.recv()
    validate(first)
    assert (first["msg"]["yes_bid_dollars"], first["msg"]["yes_bid_size_fp"]) == ("0.3000", "2.00")
    assert first["msg"]["yes_ask_dollars"] == "1.0000"
    place(sim, alice, gtc(cent_ticker, BookSide.BID, 20, 1))  # below the top: no ticker
    place(sim, alice, gtc(cent_ticker, BookSide.BID, 30, 1))  # size-only top change: ticker
    updates = _of(await client.drain(), "ticker")
    assert [m["msg"]["yes_bid_size_fp"] for m in updates] == ["3.00"]


async def test_order_group_updates_are_sequenced_and_private(
    sim: SimExchange, alice: Account, bob: Account, connect: Connect
) -> None:
    mine, theirs = await connect(alice), await connect(bob)
    sid = (await mine.subscribe(["order_group_updates"]))["order_group_updates"]
    await theirs.subscribe(["order_group_updates"])
    group = order_groups.create_group(sim.engine, alice.account_id, 500)
    order_groups.update_limit(sim.engine, alice.account_id, group.group_id, 700)
    order_groups.trigger_group(sim.engine, alice.account_id, group.group_id)
    order_groups.reset_group(sim.engine, alice.account_id, group.group_id)
    order_groups.delete_group(sim.engine, alice.account_id, group.group_id)
    messages = await mine.drain()
    for msg in messages:
        validate(msg)
    assert [(m["msg"]["event_type"], m["seq"], m["msg"].get("contracts_limit_fp")) for m in messages] == [
        ("created", 1, "5.00"),
        ("limit_updated", 2, "7.00"),
        ("triggered", 3, None),
        ("reset", 4, None),
        ("deleted", 5, None),
    ]
    assert all(m["sid"] == sid for m in messages)
    assert await theirs.drain() == []


async def test_lifecycle_channel_reports_creation_pause_determination_and_settlement(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str
) -> None:
    client = await connect(alice)
    sid = (await client.subscribe(["market_lifecycle_v2"]))["market_lifecycle_v2"]
    engine = sim.engine
    market = engine.markets[cent_ticker]
    engine.emit(LifecycleEvent(market, "created", engine.clock.now_ms()))
    lifecycle.deactivate(engine, cent_ticker)
    lifecycle.activate(engine, cent_ticker)
    lifecycle.set_close_time(engine, cent_ticker, market.close_ms - 60_000)
    lifecycle.determine(engine, cent_ticker, MarketResult.YES)
    sim.clock.advance(market.settlement_timer_s + 1)  # type: ignore[attr-defined]
    lifecycle.advance(engine, engine.clock.now_ms())
    messages = await client.drain()
    for msg in messages:
        validate(msg)
    kinds = [(m["type"], m["msg"].get("event_type")) for m in messages]
    assert kinds == [
        ("event_lifecycle", None),
        ("market_lifecycle_v2", "created"),
        ("market_lifecycle_v2", "deactivated"),
        ("market_lifecycle_v2", "activated"),
        ("market_lifecycle_v2", "close_date_updated"),
        ("market_lifecycle_v2", "determined"),
        ("market_lifecycle_v2", "settled"),
    ]
    assert [m["seq"] for m in messages] == list(range(1, 8))
    assert {m["sid"] for m in messages} == {sid}
    assert messages[0]["msg"]["event_ticker"] == market.event_ticker
    assert messages[2]["msg"]["is_deactivated"] is True
    assert messages[3]["msg"]["is_deactivated"] is False
    determined = messages[5]["msg"]
    assert (determined["result"], determined["settlement_value"]) == ("yes", "1.0000")
    assert messages[6]["msg"]["settled_ts"] == engine.clock.now_ms() // 1000


async def test_user_order_reports_only_the_reason_of_its_own_update(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str
) -> None:
    """A cancel after a decrease is a plain cancel: no ``last_update_reason`` left over from before."""
    client = await connect(alice)
    await client.subscribe(["user_orders"])
    order = place(sim, alice, gtc(cent_ticker, BookSide.BID, 30, 5)).order
    sim.engine.decrease_order(alice.account_id, order.order_id, 200, None)
    sim.engine.cancel_order(alice.account_id, order.order_id)
    messages = _of(await client.drain(), "user_order")
    for msg in messages:
        validate(msg)
    assert [(m["msg"]["status"], m["msg"].get("last_update_reason")) for m in messages] == [
        ("resting", None),
        ("resting", "Decrease"),
        ("canceled", None),
    ]


def test_a_freshly_listed_market_is_announced_once() -> None:
    """Listing (first markets and refills alike) emits one ``created`` per market, from the engine."""
    created: list[str] = []

    def collect(event: EngineEvent) -> None:
        if isinstance(event, LifecycleEvent) and event.event_type == "created":
            created.append(event.market.ticker)

    market = HeadlessMarket(seed=3, n_markets=8, listener=collect)
    market.advance(6 * 3600)  # markets close and settle; fresh ones are listed to keep 8 live
    assert market.model.listings_added > 0
    assert sorted(created) == sorted(market.engine.markets)  # each listed market exactly once


async def test_a_scheduled_event_fee_change_is_announced_when_it_takes_effect(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str
) -> None:
    client = await connect(alice)
    sid = (await client.subscribe(["market_lifecycle_v2"]))["market_lifecycle_v2"]
    engine = sim.engine
    event_ticker = engine.markets[cent_ticker].event_ticker
    due_ms = engine.clock.now_ms() + 10_000
    fee_schedule.schedule(
        engine,
        series_ticker=None,
        event_ticker=event_ticker,
        fee_type=FeeType.FLAT,
        fee_multiplier=Fraction(3, 2),
        scheduled_ms=due_ms,
    )
    assert await client.drain() == []  # nothing until it takes effect
    sim.clock.advance(10)  # type: ignore[attr-defined]
    lifecycle.advance(engine, engine.clock.now_ms())
    (update,) = await client.drain()
    validate(update)
    assert (update["type"], update["sid"], update["seq"]) == ("event_fee_update", sid, 1)
    assert update["msg"] == {
        "event_ticker": event_ticker,
        "fee_type_override": "flat",
        "fee_multiplier_override": 1.5,
    }
    assert engine.fee_schedule(event_ticker) == (FeeType.FLAT, Fraction(3, 2))


async def test_a_sub_accounts_private_messages_reach_its_user_with_the_sub_account_named(
    sim: SimExchange, alice: Account, bob: Account, connect: Connect, cent_ticker: str
) -> None:
    engine = sim.engine
    number = subaccounts.create(engine, alice.account_id)
    subaccounts.transfer(engine, alice.account_id, "fund", 0, number, 10_000)
    client = await connect(alice)
    await client.subscribe(["fill", "user_orders", "market_positions"])
    await client.subscribe(["orderbook_delta"], market_ticker=cent_ticker)
    await client.drain()
    sub_id = subaccounts.engine_account_id(alice.account_id, number)
    request = replace(gtc(cent_ticker, BookSide.BID, 40, 2, "sub-bid"), subaccount=number)
    engine.create_order(sub_id, request)
    place(sim, bob, gtc(cent_ticker, BookSide.ASK, 40, 2))
    messages = await client.drain()
    for msg in messages:
        validate(msg)
    assert {m["msg"]["subaccount_number"] for m in _of(messages, "user_order")} == {number}
    (fill,) = _of(messages, "fill")
    assert fill["msg"]["subaccount"] == number
    (position,) = _of(messages, "market_position")
    assert (position["msg"]["subaccount"], position["msg"]["position_fp"]) == (number, "2.00")
    assert position["msg"]["user_id"] == engine.accounts[alice.account_id].user_id
    own_delta = next(
        m for m in _of(messages, "orderbook_delta") if m["msg"].get("client_order_id") == "sub-bid"
    )
    assert own_delta["msg"]["subaccount"] == number
