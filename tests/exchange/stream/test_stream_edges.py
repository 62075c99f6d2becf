"""Edges the simulator cannot produce (bad frames, silent peers, terminal errors) via a tiny fake
server, plus authentication/connect failures and the consumer queue against the real simulator."""

from __future__ import annotations

import asyncio
import json
import logging
from fractions import Fraction

import pytest
from tests.exchange.stream.conftest import MakeStream
from tests.exchange.stream.stream_kit import (
    OrderScript,
    answer_subscribe,
    fake_server,
    fake_stream,
    snapshot_frame,
)
from websockets.asyncio.server import ServerConnection

from kalshiflow.domain.fees import FeeType
from kalshiflow.exchange.auth import RequestSigner, generate_key_pair
from kalshiflow.exchange.ws_models import (
    ChannelNotice,
    EventFeeUpdate,
    FillMessage,
    MarketLifecycle,
    NoticeKind,
    UserOrderUpdate,
)
from kalshiflow.exchange.ws_status import BackoffPolicy, ConnectionState, ErrorKind
from kalshiflow.exchange.ws_stream import StreamClosed
from kalshiflow.sim import fee_schedule, lifecycle
from kalshiflow.sim.exchange import SimExchange


async def test_malformed_and_unknown_frames_are_counted_and_do_not_stop_the_reader(
    signer: RequestSigner,
) -> None:
    async def script(conn: ServerConnection, _: int) -> None:
        await answer_subscribe(conn, 1)
        for bad in (
            "{nope",
            "[]",
            '{"type":"orderbook_delta","sid":1,"seq":1,"msg":{"side":"yes"}}',
            b"\xff\xfe",
        ):
            await conn.send(bad)
        await conn.send('{"type":"multivariate_lookup","sid":9,"msg":{}}')
        await conn.send(snapshot_frame(1, 1))
        await conn.wait_closed()

    async with fake_server(script) as url:
        stream, sink = fake_stream(url, signer)
        async with stream:
            await stream.subscribe(["orderbook_delta"], ["FAKE-1"])
            await stream.wait_books_valid(["FAKE-1"], 5)
            metrics = stream.status().metrics
            assert (metrics.malformed_frames, metrics.unknown_messages) == (4, 1)
            assert stream.state is ConnectionState.LIVE
            assert sink.books["FAKE-1"]


async def test_terminal_subscription_error_resubscribes_and_refreshes_books(signer: RequestSigner) -> None:
    async def script(conn: ServerConnection, _: int) -> None:
        await answer_subscribe(conn, 1)
        await conn.send(snapshot_frame(1, 1))
        await conn.send(
            json.dumps(
                {
                    "type": "error",
                    "sid": 1,
                    "seq": 2,
                    "msg": {"code": 25, "msg": "Subscription buffer overflow"},
                }
            )
        )
        await answer_subscribe(conn, 2)
        await conn.send(snapshot_frame(2, 1))
        await conn.wait_closed()

    async with fake_server(script) as url:
        stream, sink = fake_stream(url, signer)
        async with stream:
            await stream.subscribe(["orderbook_delta"], ["FAKE-1"])
            await stream.wait_for(lambda: stream.status().metrics.snapshots_applied == 2, 5)
            assert stream.book_valid("FAKE-1")
            assert stream.status().metrics.terminal_errors == 1
            assert any("error 25" in reason for _, reason in sink.invalidations)


async def test_silent_peer_is_detected_by_heartbeat_and_replaced(signer: RequestSigner) -> None:
    replaced = asyncio.Event()

    async def script(conn: ServerConnection, number: int) -> None:
        await answer_subscribe(conn, 1)
        await conn.send(snapshot_frame(1, 1))
        if number == 1:
            conn.transport.pause_reading()  # a dead peer: no pongs, no data
            await replaced.wait()
            conn.transport.abort()
            return
        replaced.set()
        await conn.wait_closed()

    async with fake_server(script) as url:
        stream, _ = fake_stream(url, signer, idle_timeout_s=0.3, ping_timeout_s=0.3)
        async with stream:
            await stream.subscribe(["orderbook_delta"], ["FAKE-1"])
            await stream.wait_for(lambda: stream.status().metrics.reconnects == 1, 5)
            status = stream.status()
            assert status.last_error is not None
            assert status.last_error.kind is ErrorKind.HEARTBEAT
            await stream.wait_books_valid(["FAKE-1"], 5)


async def test_bad_key_surfaces_a_clear_auth_error_without_a_retry_storm(
    server_url: str, sim: SimExchange
) -> None:
    private_pem, _ = generate_key_pair()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, RSAPrivateKey)
    stranger = RequestSigner("no-such-key", key)
    stream, _ = fake_stream(server_url, stranger, backoff=BackoffPolicy(initial_s=0.01, auth_initial_s=5.0))
    async with stream:
        await stream.wait_for(lambda: stream.status().last_error is not None, 5)
        status = stream.status()
        assert status.last_error is not None
        assert status.last_error.kind is ErrorKind.AUTH
        assert "HTTP 401" in status.last_error.detail
        assert status.state is ConnectionState.BACKING_OFF
        assert status.retry_delay_s is not None
        assert status.retry_delay_s >= 2.5
        assert status.metrics.auth_failures == 1


async def test_auth_failure_limit_closes_the_stream_with_the_error(server_url: str) -> None:
    private_pem, _ = generate_key_pair()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, RSAPrivateKey)
    stream, _ = fake_stream(server_url, RequestSigner("no-such-key", key), max_auth_failures=1)
    async with stream:
        with pytest.raises(StreamClosed, match=r"auth: handshake rejected with HTTP 401"):
            await stream.wait_live(5)


async def test_unreachable_host_reports_connect_error_and_keeps_backing_off(
    signer: RequestSigner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kalshiflow.exchange")
    stream, _ = fake_stream("ws://127.0.0.1:1/trade-api/ws/v2", signer)
    async with stream:
        await stream.wait_for(lambda: stream.status().metrics.connect_failures >= 3, 10)
        # One warning for the outage, not one per reconnect attempt (a screenful while an exchange
        # was down); the attempts stay in the log at info.
        lines = [(r.levelno, r.getMessage()) for r in caplog.records if "ws.disconnected" in r.getMessage()]
        assert len(lines) >= 3
        assert [level for level, _ in lines[:3]] == [logging.WARNING, logging.INFO, logging.INFO]
        assert "reconnecting (attempts logged at info until one succeeds)" in lines[0][1]
        status = stream.status()
        assert status.last_error is not None
        assert status.last_error.kind is ErrorKind.CONNECT
        assert "127.0.0.1:1" in status.last_error.detail
        assert status.state in (ConnectionState.BACKING_OFF, ConnectionState.CONNECTING)


async def test_private_channels_reach_the_consumer_queue(
    sim: SimExchange, make_stream: MakeStream, tickers: list[str], other_account: str
) -> None:
    stream, _ = await make_stream()
    await stream.wait_live()
    await stream.subscribe(["fill", "user_orders", "market_positions"])
    OrderScript(sim, ["alice", other_account], tickers[:1], seed=2).step(60)
    kinds: set[type] = set()
    while not {FillMessage, UserOrderUpdate} <= kinds:
        event = await asyncio.wait_for(stream.events.get(), 5)
        kinds.add(type(event))


async def test_slow_consumer_overflow_is_counted_and_reported(
    sim: SimExchange, make_stream: MakeStream, tickers: list[str], other_account: str
) -> None:
    stream, _ = await make_stream(queue_size=5)
    await stream.wait_live()
    await stream.subscribe(["ticker", "user_orders"])
    OrderScript(sim, ["alice", other_account], tickers, seed=4).step(100)
    await stream.wait_for(lambda: stream.status().metrics.queue_overflows > 0, 5)
    drained = [stream.events.get_nowait() for _ in range(stream.events.qsize())]
    notices: list[ChannelNotice] = []
    await stream.wait_for(
        lambda: stream.events.qsize() > 0, 5
    )  # the watchdog queues the notice once there is room
    while not stream.events.empty():
        event = stream.events.get_nowait()
        if isinstance(event, ChannelNotice):
            notices.append(event)
    assert len(drained) == 5
    assert notices
    assert notices[0].kind is NoticeKind.OVERFLOW
    assert notices[0].count == stream.status().metrics.queue_overflows


async def test_event_fee_update_is_delivered_in_the_lifecycle_sequence_without_a_gap(
    sim: SimExchange, make_stream: MakeStream
) -> None:
    """``event_fee_update`` shares the lifecycle sid's sequence: delivered typed, in order."""
    stream, _ = await make_stream()
    await stream.wait_live()
    assert "market_lifecycle_v2" in await stream.subscribe(["market_lifecycle_v2"])
    engine = sim.engine
    ticker = next(t for t, m in engine.markets.items() if m.is_trading)
    event_ticker = engine.markets[ticker].event_ticker
    lifecycle.deactivate(engine, ticker)  # seq 1
    fee_schedule.schedule(  # seq 2: event_fee_update
        engine,
        series_ticker=None,
        event_ticker=event_ticker,
        fee_type=FeeType.FLAT,
        fee_multiplier=Fraction(3, 2),
        scheduled_ms=engine.clock.now_ms(),
    )
    lifecycle.activate(engine, ticker)  # seq 3
    received: list[object] = []
    while sum(isinstance(m, MarketLifecycle) for m in received) < 2:
        received.append(await asyncio.wait_for(stream.events.get(), 5))
    metrics = stream.status().metrics
    assert (metrics.unknown_messages, metrics.gaps) == (0, 0)
    [update] = [m for m in received if isinstance(m, EventFeeUpdate)]
    assert (update.seq, update.event_ticker, update.fee_type_override, update.fee_multiplier_override) == (
        2,
        event_ticker,
        "flat",
        Fraction(3, 2),
    )
    assert not any(isinstance(m, ChannelNotice) for m in received)
