"""Subscription commands and the resync escalation, checked at the wire.

The simulator covers ``delete_markets``; a scripted fake server covers what the simulator never
does on its own: a terminal error on a non-orderbook channel, a failing ``get_snapshot`` and a
server that never sends the snapshots asked for. Every wait is on a condition with a deadline;
the resync deadlines are short so the escalation steps come quickly.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.exchange.stream.conftest import MakeStream
from tests.exchange.stream.stream_kit import (
    FAKE_TICKER,
    OrderScript,
    answer_subscribe,
    fake_server,
    fake_stream,
    recv_command,
    snapshot_frame,
)
from tests.waiting import until
from websockets.asyncio.server import ServerConnection

from kalshiflow.exchange import ws_stream
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.exchange.ws_models import (
    ChannelNotice,
    NoticeKind,
    OkReply,
    OrderbookDelta,
    OrderbookSnapshot,
    TickerUpdate,
    WsMessage,
)
from kalshiflow.exchange.ws_parse import parse_frame
from kalshiflow.exchange.ws_status import ConnectionState, ErrorKind
from kalshiflow.sim.exchange import SimExchange

Commands = list[dict[str, Any]]
TICKER_MSG = {
    "market_ticker": FAKE_TICKER,
    "market_id": "m",
    "price_dollars": "0.4000",
    "yes_bid_dollars": "0.3900",
    "yes_ask_dollars": "0.4100",
    "yes_bid_size_fp": "10.00",
    "yes_ask_size_fp": "12.00",
    "last_trade_size_fp": "1.00",
    "volume_fp": "100.00",
    "open_interest_fp": "50.00",
    "dollar_volume": 40,
    "dollar_open_interest": 20,
    "ts_ms": 1,
}


def _error(code: int, text: str, *, sid: int | None = None, command_id: int | None = None) -> str:
    frame: dict[str, Any] = {"type": "error", "msg": {"code": code, "msg": text}}
    if sid is not None:
        frame["sid"] = sid
    if command_id is not None:
        frame["id"] = command_id
    return json.dumps(frame)


async def _answer_unsubscribe(conn: ServerConnection, sid: int, log: Commands) -> None:
    command = await recv_command(conn, log)
    assert command["cmd"] == "unsubscribe", command
    assert command["params"] == {"sids": [sid]}
    await conn.send(json.dumps({"id": command["id"], "type": "unsubscribed", "sid": sid}))


def _shape(command: dict[str, Any]) -> tuple[str, Any]:
    """A command without its id: ``(cmd, action or params)``."""
    params = command.get("params") or {}
    return command["cmd"], params.get("action", params)


# ----------------------------------------------------------------------------- delete_markets


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> list[WsMessage]:
    """Every message the stream's reader parses, in arrival order (the wire as the client sees it)."""
    seen: list[WsMessage] = []

    def recording_parse(frame: str | bytes, received_ns: int | None = None) -> WsMessage:
        msg = parse_frame(frame, received_ns)
        seen.append(msg)
        return msg

    monkeypatch.setattr(ws_stream, "parse_frame", recording_parse)
    return seen


def _book_messages(messages: list[WsMessage], ticker: str) -> list[WsMessage]:
    return [m for m in messages if isinstance(m, OrderbookDelta | OrderbookSnapshot) and m.ticker == ticker]


async def test_delete_markets_stops_that_markets_deltas_on_the_wire(
    sim: SimExchange,
    make_stream: MakeStream,
    tickers: list[str],
    other_account: str,
    received: list[WsMessage],
) -> None:
    gone, kept = tickers[0], tickers[1]
    stream, sink = await make_stream()
    await stream.wait_live()
    sids = await stream.subscribe(["orderbook_delta"], [gone, kept])
    await stream.wait_books_valid([gone, kept])
    accounts = ["alice", other_account]
    OrderScript(sim, accounts, [gone], seed=21).step(40)
    await until(
        lambda: any(isinstance(m, OrderbookDelta) for m in _book_messages(received, gone)),
        what="deltas of the market to delete",
    )

    await stream.delete_markets("orderbook_delta", [gone])

    acks = [m for m in received if isinstance(m, OkReply) and m.market_tickers is not None]
    assert acks, "no ok reply to delete_markets"
    assert (acks[-1].sid, acks[-1].market_tickers) == (sids["orderbook_delta"], (kept,))
    listing = await stream.list_subscriptions()
    assert [(s.channel, s.sid) for s in listing] == [("orderbook_delta", sids["orderbook_delta"])]
    after_delete = len(received)
    assert not stream.book_valid(gone)
    assert gone not in stream.status().invalid_books  # forgotten, not awaiting a snapshot
    assert (gone,) in [t for t, reason in sink.invalidations if reason == "market removed from subscription"]

    before = sim.engine.books[gone].yes.ascending(), sim.engine.books[gone].no.ascending()
    OrderScript(sim, accounts, [gone], seed=22).step(60)
    assert (sim.engine.books[gone].yes.ascending(), sim.engine.books[gone].no.ascending()) != before
    # Deltas go out in order: once the kept market's later deltas arrived, any for ``gone`` would have.
    OrderScript(sim, accounts, [kept], seed=23).step(20)
    await until(lambda: _book_messages(received[after_delete:], kept) != [], what="deltas of the kept market")
    assert _book_messages(received[after_delete:], gone) == []
    assert stream.book_valid(kept)


# ----------------------------------------------------------------------------- fake server edges


async def test_terminal_error_on_a_channel_resubscribes_it_and_leaves_books_alone(
    signer: RequestSigner,
) -> None:
    commands: Commands = []

    async def script(conn: ServerConnection, _: int) -> None:
        await answer_subscribe(conn, 1, log=commands)
        await conn.send(snapshot_frame(1, 1))
        await answer_subscribe(conn, 2, channel="ticker", log=commands)
        await conn.send(_error(10, "Channel error", sid=2))
        await answer_subscribe(conn, 3, channel="ticker", log=commands)
        await conn.send(json.dumps({"type": "ticker", "sid": 3, "msg": TICKER_MSG}))
        await conn.wait_closed()

    async with fake_server(script) as url:
        stream, sink = fake_stream(url, signer)
        async with stream:
            await stream.subscribe(["orderbook_delta"], [FAKE_TICKER])
            await stream.wait_books_valid([FAKE_TICKER], 5)
            assert await stream.subscribe(["ticker"]) == {"ticker": 2}
            await until(lambda: stream.events.qsize() >= 2, 5, "notice and ticker update")
            notice, update = stream.events.get_nowait(), stream.events.get_nowait()

            assert isinstance(notice, ChannelNotice)
            assert (notice.kind, notice.channel) == (NoticeKind.TERMINAL_ERROR, "ticker")
            assert "error 10" in notice.detail
            assert isinstance(update, TickerUpdate)
            assert update.sid == 3
            assert [_shape(c) for c in commands] == [
                ("subscribe", {"channels": ["orderbook_delta"], "market_tickers": [FAKE_TICKER]}),
                ("subscribe", {"channels": ["ticker"]}),
                ("subscribe", {"channels": ["ticker"]}),
            ]
            metrics = stream.status().metrics
            assert metrics.terminal_errors == 1
            assert metrics.resyncs == 0
            assert stream.book_valid(FAKE_TICKER)
            assert sink.invalidations == []
            assert stream.state is ConnectionState.LIVE


async def test_failed_get_snapshot_falls_back_to_unsubscribe_and_resubscribe(signer: RequestSigner) -> None:
    commands: Commands = []

    async def script(conn: ServerConnection, _: int) -> None:
        await answer_subscribe(conn, 1, log=commands)
        await conn.send(snapshot_frame(1, 1))
        request = await recv_command(conn, commands)
        assert _shape(request) == ("update_subscription", "get_snapshot")
        assert request["params"]["sids"] == [1]
        assert request["params"]["market_tickers"] == [FAKE_TICKER]
        await conn.send(_error(11, "Market not in subscription", sid=1, command_id=request["id"]))
        await _answer_unsubscribe(conn, 1, commands)
        await answer_subscribe(conn, 2, log=commands)
        await conn.send(snapshot_frame(2, 1))
        await conn.wait_closed()

    async with fake_server(script) as url:
        stream, sink = fake_stream(url, signer, resync_deadline_s=5.0)
        async with stream:
            await stream.subscribe(["orderbook_delta"], [FAKE_TICKER])
            await stream.wait_books_valid([FAKE_TICKER], 5)
            stream.request_snapshots([FAKE_TICKER], "test")
            assert not stream.book_valid(FAKE_TICKER)
            await stream.wait_for(lambda: stream.status().metrics.snapshots_applied == 2, 5)

            assert stream.book_valid(FAKE_TICKER)
            assert [c["cmd"] for c in commands] == [
                "subscribe",
                "update_subscription",
                "unsubscribe",
                "subscribe",
            ]
            metrics = stream.status().metrics
            assert metrics.resyncs == 2  # the get_snapshot, then the resubscription
            assert (metrics.reconnects, metrics.terminal_errors) == (0, 0)
            assert [reason for _, reason in sink.invalidations] == ["test"]
            assert stream.state is ConnectionState.LIVE


async def test_missed_snapshot_deadlines_escalate_to_resubscribe_then_reconnect(
    signer: RequestSigner,
) -> None:
    first: Commands = []
    second: Commands = []

    async def script(conn: ServerConnection, number: int) -> None:
        if number == 1:
            await answer_subscribe(conn, 1, log=first)
            await conn.send(snapshot_frame(1, 1))
            request = await recv_command(conn, first)  # get_snapshot: never answered
            assert _shape(request) == ("update_subscription", "get_snapshot")
            await _answer_unsubscribe(conn, 1, first)  # deadline 1: resubscribe
            await answer_subscribe(conn, 2, log=first)  # ... but no snapshot follows
        else:
            await answer_subscribe(conn, 1, log=second)
            await conn.send(snapshot_frame(1, 1))
        await conn.wait_closed()

    async with fake_server(script) as url:
        stream, sink = fake_stream(url, signer, resync_deadline_s=0.2, command_timeout_s=2.0)
        async with stream:
            await stream.subscribe(["orderbook_delta"], [FAKE_TICKER])
            await stream.wait_books_valid([FAKE_TICKER], 5)
            stream.request_snapshots([FAKE_TICKER], "test")
            await stream.wait_for(lambda: stream.status().metrics.reconnects == 1, 5)
            await stream.wait_books_valid([FAKE_TICKER], 5)

            status = stream.status()
            assert status.last_error is not None
            assert status.last_error.kind is ErrorKind.RESYNC
            assert FAKE_TICKER in status.last_error.detail
            assert [c["cmd"] for c in first] == [
                "subscribe",
                "update_subscription",
                "unsubscribe",
                "subscribe",
            ]
            assert [c["cmd"] for c in second] == ["subscribe"]
            assert status.metrics.resyncs == 2  # get_snapshot + resubscribe; the third step reconnected
            assert status.metrics.snapshots_applied == 2
            reasons = [reason for _, reason in sink.invalidations]
            assert reasons[0] == "test"
            assert "disconnected" not in reasons  # the book was already invalid: reported once
