"""``KalshiStream``: one authenticated WebSocket connection that keeps local books trustworthy.

Why it exists: the trader decides on local books, so every book must either equal the exchange's
or be marked invalid (ARCHITECTURE §2). The stream

* connects with freshly signed headers on every attempt and reconnects forever with seeded,
  jittered exponential backoff (slower after an authentication failure, which retrying cannot fix);
* restores every wanted subscription after a reconnect; books stay invalid until their snapshot;
* checks ``seq`` per sid: a gap, a duplicate/out-of-order message or a terminal subscription error
  (10, 25) invalidates the affected books and asks for fresh snapshots (``get_snapshot``, else
  unsubscribe+resubscribe) with a deadline that escalates to a reconnect;
* applies orderbook messages to a ``BookSink`` synchronously in the reader (cheap, never queued,
  so never dropped) and hands every other channel to a bounded queue: when the consumer is slow
  the overflow is counted and told to it as a ``ChannelNotice``, never silent;
* detects a dead connection (no traffic for ``idle_timeout_s`` and no pong) and reconnects.

Network timeouts use the event loop's monotonic time; the injected ``Clock`` only stamps the
handshake signature, so a simulator on a virtual clock accepts it.

This module owns the connection lifecycle and the dispatch of incoming messages; the subscription
commands and the resubscribe/snapshot requests are ``ws_commands``, frame parsing is ``ws_parse``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from kalshiflow.clock import Clock, SystemClock
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.exchange.ws_books import BookFeed, BookSink
from kalshiflow.exchange.ws_commands import COMMAND_ERRORS, StreamCommands
from kalshiflow.exchange.ws_connect import ConnectFailed, StreamConfig, open_connection
from kalshiflow.exchange.ws_consumer import ChannelQueue
from kalshiflow.exchange.ws_models import (
    ChannelNotice,
    ErrorReply,
    EventFeeUpdate,
    EventLifecycle,
    FillMessage,
    MalformedFrame,
    MarketLifecycle,
    MarketPositionUpdate,
    NoticeKind,
    OkReply,
    OrderbookDelta,
    OrderbookSnapshot,
    OrderGroupUpdate,
    PublicTrade,
    StreamEvent,
    Subscribed,
    SubscriptionListing,
    TickerUpdate,
    UnknownMessage,
    Unsubscribed,
    UserOrderUpdate,
    WsMessage,
)
from kalshiflow.exchange.ws_parse import parse_frame
from kalshiflow.exchange.ws_sequence import BookGate, Escalation, SequenceTracker, SeqVerdict
from kalshiflow.exchange.ws_status import (
    Backoff,
    ConnectionState,
    ErrorKind,
    StateMachine,
    StreamError,
    StreamMetrics,
    StreamStatus,
)
from kalshiflow.exchange.ws_subscriptions import ORDERBOOK, SubscriptionRegistry

__all__ = ["BookSink", "KalshiStream", "StreamClosed", "StreamConfig"]

log = logging.getLogger(__name__)

_CHANNEL_TYPES = (
    TickerUpdate,
    PublicTrade,
    MarketLifecycle,
    EventLifecycle,
    EventFeeUpdate,
    FillMessage,
    UserOrderUpdate,
    MarketPositionUpdate,
    OrderGroupUpdate,
)
_SEQUENCED_CHANNEL_TYPES = (PublicTrade, MarketLifecycle, EventLifecycle, EventFeeUpdate, OrderGroupUpdate)


class StreamClosed(RuntimeError):
    """The stream was closed (by ``close()`` or by the auth failure limit) while waiting on it."""


class KalshiStream:
    def __init__(
        self, config: StreamConfig, signer: RequestSigner, sink: BookSink, clock: Clock | None = None
    ) -> None:
        self.config = config
        self.metrics = StreamMetrics()
        self._channel_queue = ChannelQueue(config.queue_size, self.metrics)
        self.events: asyncio.Queue[StreamEvent] = self._channel_queue.queue  # the consumer reads here
        self._signer = signer
        self._clock = clock or SystemClock()
        self._fsm = StateMachine()
        self._backoff = Backoff(config.backoff, config.seed)
        self._registry = SubscriptionRegistry()
        self._seq = SequenceTracker()
        self._gate = BookGate(config.resync_deadline_s)
        self._books = BookFeed(
            sink,
            self._gate,
            self._seq,
            self.metrics,
            lambda sid: self._registry.channel_of(sid) == ORDERBOOK,
            self._now,
        )
        self._commands = StreamCommands(
            config,
            self._registry,
            self._gate,
            self._seq,
            self._books,
            self.metrics,
            self._channel_queue,
            lambda: self._conn,
            self._can_send,
            self._end_connection,
            self._now,
        )
        self._conn: ClientConnection | None = None
        self._end: StreamError | None = None
        self._last_error: StreamError | None = None
        self._last_rx = 0.0
        self._rx_seen = 0  # messages_received when the watchdog last saw traffic
        self._waiters: list[asyncio.Future[None]] = []
        self._runner: asyncio.Task[None] | None = None
        self._connected_once = False
        self._auth_failures_in_row = 0
        self._down_since_failures = 0  # failed connects since the connection was last up
        self._retry_delay_s: float | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="kalshi-stream")

    async def close(self) -> None:
        if self._fsm.state is not ConnectionState.CLOSED:
            self._set_state(ConnectionState.CLOSED)
        if self._conn is not None:
            await self._conn.close()
        if self._runner is not None and self._runner is not asyncio.current_task():
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def __aenter__(self) -> KalshiStream:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def state(self) -> ConnectionState:
        return self._fsm.state

    def status(self) -> StreamStatus:
        return StreamStatus(
            self._fsm.state,
            self._backoff.failures,
            self._last_error,
            tuple(self._gate.awaiting()),
            self.metrics.copy(),
            self._retry_delay_s,
        )

    def book_valid(self, ticker: str) -> bool:
        return self._gate.accepts_delta(ticker)

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> None:
        """Wait until ``predicate()`` holds (checked on every state change and snapshot)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not predicate():
            if self._fsm.state is ConnectionState.CLOSED:
                raise StreamClosed(f"stream closed ({self._last_error or 'by request'})")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout_s}s; status {self.status()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, min(remaining, 0.25))

    async def wait_live(self, timeout_s: float = 10.0) -> None:
        await self.wait_for(lambda: self._fsm.state is ConnectionState.LIVE, timeout_s)

    async def wait_books_valid(self, tickers: Iterable[str], timeout_s: float = 10.0) -> None:
        wanted = list(tickers)
        await self.wait_for(lambda: all(self._gate.accepts_delta(t) for t in wanted), timeout_s)

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _set_state(self, new: ConnectionState) -> None:
        self._fsm.to(new)
        log.info("ws.state %s", new.value)
        self._notify()

    # ------------------------------------------------------------------ public commands
    async def subscribe(
        self, channels: Sequence[str], tickers: Sequence[str] | None = None
    ) -> dict[str, int]:
        """Want ``channels`` (for ``tickers``, or all markets); returns channel -> sid if connected now.

        The wish survives reconnects; while disconnected it is applied on the next connection.
        """
        return await self._commands.subscribe(channels, tickers)

    async def unsubscribe(self, channels: Sequence[str]) -> None:
        await self._commands.unsubscribe(channels)

    async def add_markets(self, channel: str, tickers: Sequence[str]) -> None:
        await self._commands.add_markets(channel, tickers)

    async def delete_markets(self, channel: str, tickers: Sequence[str]) -> None:
        await self._commands.delete_markets(channel, tickers)

    async def list_subscriptions(self) -> tuple[SubscriptionListing, ...]:
        return await self._commands.list_subscriptions()

    def request_snapshots(self, tickers: Iterable[str], reason: str = "requested") -> None:
        """Distrust these books and fetch fresh snapshots (coalesced with other requests)."""
        self._books.resync(list(tickers), reason)

    def _can_send(self) -> bool:
        return self._conn is not None and self._fsm.state in (
            ConnectionState.SUBSCRIBING,
            ConnectionState.LIVE,
        )

    # ------------------------------------------------------------------ connection loop
    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _closed(self) -> bool:
        return self._fsm.state is ConnectionState.CLOSED

    async def _run(self) -> None:
        while not self._closed():
            self._set_state(ConnectionState.CONNECTING)
            error = await self._connect_and_serve()
            if self._closed():
                return
            self._last_error = error
            # One warning per outage: the loss (or the first failed connect); the reconnect attempts
            # that follow it stay at info until one succeeds, which warns again (``ws.connected``).
            log.log(
                logging.INFO if self._down_since_failures else logging.WARNING,
                "ws.disconnected %s%s",
                error,
                ""
                if self._down_since_failures
                else "; reconnecting (attempts logged at info until one succeeds)",
            )
            self._down_since_failures += 1
            if error.kind is ErrorKind.AUTH:
                self._auth_failures_in_row += 1
                limit = self.config.max_auth_failures
                if limit is not None and self._auth_failures_in_row >= limit:
                    self._set_state(ConnectionState.CLOSED)
                    return
            self._set_state(ConnectionState.BACKING_OFF)
            self._retry_delay_s = self._backoff.next_delay(error.kind)
            await asyncio.sleep(self._retry_delay_s)

    async def _connect_and_serve(self) -> StreamError:
        try:
            conn = await open_connection(self.config, self._signer, self._clock, self.metrics)
        except ConnectFailed as failed:
            return failed.error
        self._conn, self._end = conn, None
        self._last_rx = self._now()
        if self._down_since_failures > 1:  # the connection itself failed at least once: said so
            log.warning(
                "ws.connected again after %d failed connection attempts", self._down_since_failures - 1
            )
        self._down_since_failures = 0
        if self._connected_once:
            self.metrics.reconnects += 1
            self._channel_queue.put(
                ChannelNotice(NoticeKind.RECONNECTED, None, 0, "messages sent while disconnected are lost")
            )
        self._connected_once = True
        self._gate.restart_deadlines(self._now())
        reader = asyncio.create_task(self._read(conn))
        helpers = [
            asyncio.create_task(self._watchdog(conn)),
            asyncio.create_task(self._commands.send_snapshot_requests(conn)),
        ]
        try:
            self._set_state(ConnectionState.SUBSCRIBING)
            try:
                await self._commands.restore()
            except COMMAND_ERRORS as err:
                self._end = self._end or StreamError(
                    ErrorKind.SUBSCRIBE, f"restoring subscriptions failed: {err}"
                )
                await conn.close()
            else:
                if self._fsm.state is ConnectionState.SUBSCRIBING and not reader.done():
                    self._set_state(ConnectionState.LIVE)
                    self._backoff.reset()
                    self._auth_failures_in_row = 0
            await reader
        finally:
            for task in (reader, *helpers):
                task.cancel()
            for task in (reader, *helpers):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._conn = None
            self._after_disconnect()
        return self._end or StreamError(ErrorKind.CONNECTION_LOST, "connection closed")

    def _after_disconnect(self) -> None:
        self._commands.after_disconnect()
        self._books.wanted.clear()
        self._registry.unbind_all()
        self._seq.clear()
        self._books.invalidate(self._gate.tracked(), "disconnected")

    def _end_connection(self, conn: ClientConnection, error: StreamError) -> None:
        self._end = self._end or error
        asyncio.get_running_loop().create_task(conn.close(code=1000, reason=error.kind.value))

    async def _read(self, conn: ClientConnection) -> None:
        try:
            async for frame in conn:
                try:
                    self._on_message(parse_frame(frame))
                except Exception:  # a sink bug must not kill the reader; distrust every book instead
                    log.exception("ws.handler_failed")
                    self._books.resync(self._gate.tracked(), "handler error")
        except ConnectionClosed as closed:
            self._end = self._end or StreamError(ErrorKind.CONNECTION_LOST, f"closed by peer: {closed}")

    async def _watchdog(self, conn: ClientConnection) -> None:
        cfg = self.config
        while True:
            await asyncio.sleep(cfg.watchdog_interval_s)
            now = self._now()
            # Liveness from the frame count, not a clock read per frame (the reader's hot path):
            # any frame since the last look means the connection was alive within this interval.
            if self.metrics.messages_received != self._rx_seen:
                self._rx_seen = self.metrics.messages_received
                self._last_rx = now
            self._channel_queue.flush_notice()
            self._commands.expire_snapshot_requests(now)
            overdue = self._gate.overdue(now)
            if overdue is not None:
                log.warning("ws.resync_overdue %s %s", overdue.action.name, overdue.tickers)
                if overdue.action is Escalation.RECONNECT:
                    self._end_connection(
                        conn, StreamError(ErrorKind.RESYNC, f"no snapshot for {list(overdue.tickers)}")
                    )
                    return
                self._commands.resubscribe_books(conn, "snapshot overdue")
            if now - self._last_rx > cfg.idle_timeout_s:
                try:
                    pong = await conn.ping()
                    await asyncio.wait_for(pong, cfg.ping_timeout_s)
                    self._last_rx = self._now()
                except (TimeoutError, ConnectionClosed):
                    self._end_connection(conn, StreamError(ErrorKind.HEARTBEAT, "no traffic and no pong"))
                    return

    # ------------------------------------------------------------------ dispatch
    def _on_message(self, msg: WsMessage) -> None:
        self.metrics.messages_received += 1
        kind = type(msg)
        if kind is OrderbookDelta:
            assert isinstance(msg, OrderbookDelta)
            self._books.on_delta(msg)
        elif kind is OrderbookSnapshot:
            assert isinstance(msg, OrderbookSnapshot)
            if self._books.on_snapshot(msg) and self._waiters:
                self._notify()
        elif isinstance(msg, _CHANNEL_TYPES):
            self._on_channel(msg)
        elif isinstance(msg, Subscribed | Unsubscribed | OkReply | ErrorReply):
            self._commands.on_reply(msg)
        elif isinstance(msg, MalformedFrame):
            self.metrics.malformed_frames += 1
            log.warning("ws.malformed_frame reason=%s excerpt=%r", msg.reason, msg.excerpt)
        elif isinstance(msg, UnknownMessage):
            self.metrics.unknown_messages += 1
            log.info("ws.unknown_message type=%s", msg.msg_type)
            if msg.sid is not None and msg.seq is not None:
                # A type we do not model (``event_fee_update`` on the lifecycle channel, say) still
                # takes a number of its sid's sequence; skipping it would fake a gap.
                self._in_sequence(msg.sid, msg.seq)

    def _on_channel(self, msg: Any) -> None:
        if isinstance(msg, _SEQUENCED_CHANNEL_TYPES) and not self._in_sequence(msg.sid, msg.seq):
            return  # a duplicate is not handed on twice
        self._channel_queue.put(msg)

    def _in_sequence(self, sid: int, seq: int) -> bool:
        """Check ``seq`` on ``sid``; report a gap or duplicate; False for a duplicate (drop it)."""
        verdict = self._seq.observe(sid, seq)
        if verdict.is_anomaly:
            self.metrics.gaps += verdict is SeqVerdict.GAP
            self.metrics.stale_messages += verdict is SeqVerdict.STALE
            channel = self._registry.channel_of(sid)
            self._channel_queue.put(
                ChannelNotice(NoticeKind.GAP, channel, 1, f"seq {verdict.value} on sid {sid}")
            )
        return verdict is not SeqVerdict.STALE
