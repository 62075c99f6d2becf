"""Command grammar: every documented error code, list_subscriptions, and fuzzed frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from tests.sim.server.ws.conftest import Connect
from tests.sim.server.ws.ws_helpers import Account, WsClient, make_sim, register, validate, ws_headers

from kalshiflow.clock import ManualClock
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.serve import running_server
from kalshiflow.sim.server.ws import ws_routes
from kalshiflow.sim.server.ws_hub import WsHub

KNOWN = "<known ticker>"

ERROR_CASES: list[tuple[str, Any, int]] = [
    ("invalid_json", "{not json", 1),
    ("not_an_object", "[1, 2]", 1),
    ("wrong_type_channels", {"cmd": "subscribe", "params": {"channels": "ticker"}}, 1),
    ("missing_params", {"cmd": "subscribe"}, 2),
    ("missing_channels", {"cmd": "subscribe", "params": {}}, 3),
    ("missing_sids", {"cmd": "unsubscribe", "params": {}}, 4),
    ("unknown_command", {"cmd": "subscribe_all", "params": {}}, 5),
    (
        "unknown_sid",
        {
            "cmd": "update_subscription",
            "params": {"sid": 99, "action": "add_markets", "market_ticker": KNOWN},
        },
        7,
    ),
    ("unsubscribe_unknown_sid", {"cmd": "unsubscribe", "params": {"sids": [42]}}, 7),
    ("unknown_channel", {"cmd": "subscribe", "params": {"channels": ["multivariate"]}}, 8),
    (
        "unknown_ticker",
        {"cmd": "subscribe", "params": {"channels": ["trade"], "market_ticker": "NOPE-1"}},
        11,
    ),
    ("two_sids", {"cmd": "update_subscription", "params": {"sids": [1, 2], "action": "add_markets"}}, 12),
    ("no_sid", {"cmd": "update_subscription", "params": {"action": "delete_markets"}}, 12),
    ("unsupported_action", {"cmd": "update_subscription", "params": {"sid": 1, "action": "replace"}}, 13),
    ("orderbook_without_ticker", {"cmd": "subscribe", "params": {"channels": ["orderbook_delta"]}}, 14),
    ("missing_action", {"cmd": "update_subscription", "params": {"sid": 1}}, 15),
]


@pytest.mark.parametrize(("frame", "code"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
async def test_bad_commands_get_the_documented_error_code(
    alice: Account, connect: Connect, cent_ticker: str, frame: Any, code: int
) -> None:
    client = await connect(alice)
    await client.subscribe(["ticker"])  # sid 1 exists for the update_subscription cases
    if isinstance(frame, dict):
        frame = json.loads(json.dumps({"id": 7, **frame}).replace(KNOWN, cent_ticker))
    await client.send(frame)
    reply = await client.until(lambda m: m["type"] == "error")
    validate(reply)
    assert reply["msg"]["code"] == code
    if isinstance(frame, dict):
        assert reply["id"] == 7
    probe = await client.command("list_subscriptions")
    assert (await client.reply_to(probe))["type"] == "ok", "the connection must survive bad input"


async def test_binary_frames_are_answered_with_error_1(alice: Account, connect: Connect) -> None:
    client = await connect(alice)
    await client.conn.send(b"\x00\x01")
    assert (await client.recv())["msg"]["code"] == 1


async def test_list_subscriptions_lists_channel_and_sid(
    alice: Account, connect: Connect, cent_ticker: str
) -> None:
    client = await connect(alice)
    await client.subscribe(["ticker", "fill", "orderbook_delta"], market_ticker=cent_ticker)
    cid = await client.command("list_subscriptions")
    reply = await client.reply_to(cid)
    validate(reply, "listSubscriptionsResponsePayload")
    assert reply == {
        "id": cid,
        "type": "ok",
        "msg": [
            {"channel": "ticker", "sid": 1},
            {"channel": "fill", "sid": 2},
            {"channel": "orderbook_delta", "sid": 3},
        ],
    }


async def test_command_id_zero_means_no_id(alice: Account, connect: Connect) -> None:
    client = await connect(alice)
    await client.send({"id": 0, "cmd": "subscribe", "params": {"channels": ["trade"]}})
    assert await client.recv() == {"type": "subscribed", "msg": {"channel": "trade", "sid": 1}}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_COMMANDS = st.fixed_dictionaries(
    {"cmd": st.sampled_from(["subscribe", "unsubscribe", "update_subscription", "list_subscriptions", "x"])},
    optional={
        "id": st.integers(-3, 2**40) | _JSON,
        "params": st.dictionaries(
            st.sampled_from(
                ["channels", "sids", "sid", "action", "market_ticker", "market_tickers", "use_yes_price"]
            ),
            _JSON | st.sampled_from(["orderbook_delta", "add_markets", "get_snapshot", ["ticker"], [1]]),
        )
        | _JSON,
    },
).map(json.dumps)
_FRAMES = _COMMANDS | st.text(st.characters(blacklist_categories=["Cs"]), max_size=40) | _JSON.map(json.dumps)


def test_random_text_frames_never_crash_the_connection(key_pairs: list[tuple[bytes, bytes]]) -> None:
    """One connection takes every example; each frame gets at least one reply and the socket stays up."""
    loop = asyncio.new_event_loop()
    sim = make_sim(ManualClock())
    account = register(sim, "fuzz", key_pairs[0])
    server_cm = running_server(Starlette(routes=ws_routes(sim, WsHub(sim))))
    address = loop.run_until_complete(server_cm.__aenter__())
    conn = loop.run_until_complete(
        websockets.connect(address.ws_url, additional_headers=ws_headers(sim, account), proxy=None)
    )
    client = WsClient(conn, next_id=10**13)  # above every fuzzed id

    async def roundtrip(frame: str) -> None:
        await client.send(frame)
        probe = await client.command("list_subscriptions")
        await client.until(
            lambda m: m.get("id") == probe and m["type"] == "ok" and isinstance(m["msg"], list)
        )
        assert client.backlog, f"no reply to {frame!r}"
        client.backlog.clear()

    @settings(max_examples=80, deadline=None)
    @given(_FRAMES)
    def check(frame: str) -> None:
        loop.run_until_complete(roundtrip(frame))

    try:
        check()
    finally:
        loop.run_until_complete(conn.close())
        loop.run_until_complete(server_cm.__aexit__(None, None, None))
        loop.close()


@pytest.mark.parametrize("channel", ["fill", "ticker", "trade"])
async def test_unsubscribe_of_a_subscription_without_sequenced_messages_still_carries_seq(
    sim: SimExchange, alice: Account, connect: Connect, channel: str
) -> None:
    client = await connect(alice)
    sid = (await client.subscribe([channel]))[channel]
    cid = await client.command("unsubscribe", {"sids": [sid]})
    reply = await client.reply_to(cid)
    validate(reply)
    assert reply == {"id": cid, "type": "unsubscribed", "sid": sid, "seq": 1}
