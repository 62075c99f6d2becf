"""Orderbook channel: snapshots, deltas, sequencing, price terms, own-order tags, subscription edits."""

from __future__ import annotations

import pytest
from tests.sim.server.ws.conftest import Connect
from tests.sim.server.ws.ws_helpers import Account, LocalBook, gtc, place, validate

from kalshiflow.domain.orders import BookSide
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.ws_hub import WsHub


def _book_messages(messages: list[dict[str, object]], sid: int) -> list[dict[str, object]]:
    return [
        m for m in messages if m.get("sid") == sid and m["type"] in ("orderbook_snapshot", "orderbook_delta")
    ]


def _drive(sim: SimExchange, alice: Account, bob: Account, ticker: str) -> None:
    """A fixed mix of rests, partial and full executions, a cancel, a decrease and an amend."""
    a1 = place(sim, alice, gtc(ticker, BookSide.BID, 40, 10, "a1")).order
    place(sim, alice, gtc(ticker, BookSide.BID, 42, 5, "a2"))
    b1 = place(sim, bob, gtc(ticker, BookSide.ASK, 47, 8, "b1")).order
    place(sim, bob, gtc(ticker, BookSide.ASK, 45, 3, "b2"))
    place(sim, alice, gtc(ticker, BookSide.BID, 46, 4, "a3"))  # takes 3 @45, rests 1 @46
    place(sim, bob, gtc(ticker, BookSide.ASK, 41, 7, "b3"))  # takes 1 @46 and 5 @42, rests 1 @41
    sim.engine.cancel_order(alice.account_id, a1.order_id)
    sim.engine.decrease_order(bob.account_id, b1.order_id, 200, None)
    sim.engine.amend_order(bob.account_id, b1.order_id, ticker, BookSide.ASK, 4800, 1000)
    place(sim, alice, gtc(ticker, BookSide.BID, 60, 20, "a4"))


async def test_subscribe_replies_subscribed_then_one_snapshot_per_market(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str, other_ticker: str
) -> None:
    place(sim, alice, gtc(cent_ticker, BookSide.BID, 30, 2))
    place(sim, alice, gtc(cent_ticker, BookSide.ASK, 70, 3))
    client = await connect(alice)
    cid = await client.command(
        "subscribe", {"channels": ["orderbook_delta"], "market_tickers": [cent_ticker, other_ticker]}
    )
    subscribed = await client.recv()
    validate(subscribed)
    assert subscribed == {"id": cid, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 1}}
    first, second = await client.recv(), await client.recv()
    for snap in (first, second):
        validate(snap)
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["msg"] == {
        "market_ticker": cent_ticker,
        "market_id": sim.engine.markets[cent_ticker].market_id,
        "yes_dollars_fp": [["0.3000", "2.00"]],
        "no_dollars_fp": [["0.3000", "3.00"]],
    }
    assert second["msg"] == {
        "market_ticker": other_ticker,
        "market_id": sim.engine.markets[other_ticker].market_id,
    }


async def test_local_book_from_snapshot_and_deltas_equals_engine_book(
    sim: SimExchange, alice: Account, bob: Account, connect: Connect, cent_ticker: str
) -> None:
    place(sim, bob, gtc(cent_ticker, BookSide.BID, 20, 4, "pre"))
    client = await connect(alice)
    sid = (await client.subscribe(["orderbook_delta"], market_ticker=cent_ticker))["orderbook_delta"]
    _drive(sim, alice, bob, cent_ticker)
    messages = _book_messages(await client.drain(), sid)
    local = LocalBook()
    for msg in messages:
        validate(msg)
        local.apply(msg)
    assert local.matches(sim.engine.books[cent_ticker])
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
async def test_use_yes_price_reports_no_levels_in_yes_terms(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str, side: BookSide
) -> None:
    place(sim, alice, gtc(cent_ticker, side, 35, 1))
    plain, yes_terms = await connect(alice), await connect(alice)
    await plain.subscribe(["orderbook_delta"], market_ticker=cent_ticker)
    await yes_terms.subscribe(["orderbook_delta"], market_ticker=cent_ticker, use_yes_price=True)
    place(sim, alice, gtc(cent_ticker, side, 36, 2))
    plain_msgs, yes_msgs = await plain.drain(), await yes_terms.drain()
    ladder = "yes_dollars_fp" if side is BookSide.BID else "no_dollars_fp"
    own_price = "0.3500" if side is BookSide.BID else "0.6500"  # NO-leg price of a YES ask at 0.35
    assert plain_msgs[0]["msg"][ladder] == [[own_price, "1.00"]]
    assert yes_msgs[0]["msg"][ladder] == [["0.3500", "1.00"]]
    assert plain_msgs[1]["msg"]["price_dollars"] == ("0.3600" if side is BookSide.BID else "0.6400")
    assert yes_msgs[1]["msg"]["price_dollars"] == "0.3600"


async def test_client_order_id_tags_only_the_owners_deltas(
    sim: SimExchange, alice: Account, bob: Account, connect: Connect, cent_ticker: str
) -> None:
    mine, theirs = await connect(alice), await connect(bob)
    await mine.subscribe(["orderbook_delta"], market_ticker=cent_ticker)
    await theirs.subscribe(["orderbook_delta"], market_ticker=cent_ticker)
    place(sim, alice, gtc(cent_ticker, BookSide.BID, 50, 5, "alice-1"))
    place(sim, bob, gtc(cent_ticker, BookSide.ASK, 50, 2, "bob-1"))  # reduces alice's level
    own = [m for m in await mine.drain() if m["type"] == "orderbook_delta"]
    other = [m for m in await theirs.drain() if m["type"] == "orderbook_delta"]
    assert [m["msg"].get("client_order_id") for m in own] == ["alice-1", "alice-1"]
    assert [m["msg"].get("client_order_id") for m in other] == [None, None]
    assert all("subaccount" not in m["msg"] for m in own + other)


async def test_update_subscription_add_delete_and_get_snapshot(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str, other_ticker: str
) -> None:
    client = await connect(alice)
    sid = (await client.subscribe(["orderbook_delta"], market_ticker=cent_ticker))["orderbook_delta"]
    await client.recv()  # snapshot seq 1
    place(sim, alice, gtc(other_ticker, BookSide.BID, 10, 1))
    cid = await client.command(
        "update_subscription", {"sids": [sid], "market_tickers": [other_ticker], "action": "add_markets"}
    )
    ok = await client.recv()
    assert ok == {
        "id": cid,
        "type": "ok",
        "sid": sid,
        "seq": 1,
        "msg": {"market_tickers": sorted([cent_ticker, other_ticker])},
    }
    snap = await client.recv()
    assert (snap["type"], snap["seq"], snap["msg"]["market_ticker"]) == (
        "orderbook_snapshot",
        2,
        other_ticker,
    )
    assert snap["msg"]["yes_dollars_fp"] == [["0.1000", "1.00"]]

    cid = await client.command(
        "update_subscription", {"sid": sid, "market_ticker": cent_ticker, "action": "get_snapshot"}
    )
    snap = await client.recv()
    validate(snap)
    assert (snap["id"], snap["seq"], snap["msg"]["market_ticker"]) == (cid, 3, cent_ticker)

    cid = await client.command(
        "update_subscription", {"sids": [sid], "market_tickers": [cent_ticker], "action": "delete_markets"}
    )
    assert (await client.recv())["msg"] == {"market_tickers": [other_ticker]}
    place(sim, alice, gtc(cent_ticker, BookSide.BID, 11, 1))
    place(sim, alice, gtc(other_ticker, BookSide.BID, 12, 1))
    deltas = [m for m in await client.drain() if m["type"] == "orderbook_delta"]
    assert [(m["msg"]["market_ticker"], m["seq"]) for m in deltas] == [(other_ticker, 4)]


async def test_unsubscribe_stops_the_stream_and_reports_the_current_seq(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str, hub: WsHub
) -> None:
    client = await connect(alice)
    sid = (await client.subscribe(["orderbook_delta"], market_ticker=cent_ticker))["orderbook_delta"]
    place(sim, alice, gtc(cent_ticker, BookSide.BID, 10, 1))
    cid = await client.command("unsubscribe", {"sids": [sid]})
    reply = await client.reply_to(cid)
    validate(reply)
    assert reply == {"id": cid, "type": "unsubscribed", "sid": sid, "seq": 2}
    assert [(m["type"], m["seq"]) for m in client.backlog] == [
        ("orderbook_snapshot", 1),
        ("orderbook_delta", 2),
    ]
    client.backlog.clear()
    place(sim, alice, gtc(cent_ticker, BookSide.BID, 11, 1))
    assert await client.drain() == []


async def test_resubscribe_adds_markets_to_the_existing_sid(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str, other_ticker: str
) -> None:
    client = await connect(alice)
    first = await client.subscribe(["orderbook_delta"], market_ticker=cent_ticker)
    await client.recv()
    again = await client.subscribe(["orderbook_delta"], market_tickers=[cent_ticker, other_ticker])
    assert again == first
    snaps = [m for m in await client.drain() if m["type"] == "orderbook_snapshot"]
    assert [(m["msg"]["market_ticker"], m["seq"]) for m in snaps] == [(other_ticker, 2)]


async def test_slow_consumer_gets_error_25_instead_of_silent_loss(
    sim: SimExchange, alice: Account, connect: Connect, cent_ticker: str, hub: WsHub
) -> None:
    hub.max_pending = 8
    client = await connect(alice)
    sid = (await client.subscribe(["orderbook_delta"], market_ticker=cent_ticker))["orderbook_delta"]
    for cents in range(10, 40):  # all queued before the writer can run: the outbox must overflow
        place(sim, alice, gtc(cent_ticker, BookSide.BID, cents, 1))
    messages = await client.drain()
    data = [m for m in messages if m["type"] in ("orderbook_snapshot", "orderbook_delta")]
    errors = [m for m in messages if m["type"] == "error"]
    assert [m["seq"] for m in data] == list(range(1, len(data) + 1))
    assert len(errors) == 1
    validate(errors[0])
    assert (errors[0]["msg"]["code"], errors[0]["sid"]) == (25, sid)
    assert messages.index(errors[0]) == len(messages) - 1
    probe = await client.command("list_subscriptions")
    assert (await client.reply_to(probe))["msg"] == []
