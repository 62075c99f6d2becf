"""Subscription commands on the stream's current connection, and the resubscribe/snapshot machinery.

Why a module of its own: ``KalshiStream`` owns the connection lifecycle (connect, read, watchdog,
reconnect); everything that *talks* to the server about subscriptions lives here:

* the public commands (subscribe, unsubscribe, add/delete markets, list) and their wish in the
  ``SubscriptionRegistry``, which survives reconnects;
* ``restore`` after a reconnect;
* the coalesced ``get_snapshot`` requests for distrusted books (their replies arrive only on error,
  so they are remembered by id until ``command_timeout_s``);
* an unsubscribe+resubscribe of the orderbook channel when a snapshot request failed or is
  overdue, and a resubscription after a terminal subscription error (10, 25).

The connection itself is reached through callables, so this class never outlives or keeps one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from kalshiflow.exchange.ws_books import BookFeed
from kalshiflow.exchange.ws_connect import StreamConfig
from kalshiflow.exchange.ws_consumer import ChannelQueue
from kalshiflow.exchange.ws_models import (
    ChannelNotice,
    ErrorReply,
    NoticeKind,
    OkReply,
    ReplyMessage,
    Subscribed,
    SubscriptionListing,
)
from kalshiflow.exchange.ws_sequence import BookGate, SequenceTracker
from kalshiflow.exchange.ws_status import ErrorKind, StreamError, StreamMetrics
from kalshiflow.exchange.ws_subscriptions import (
    ORDERBOOK,
    ChannelWant,
    CommandFailed,
    PendingCommands,
    SubscriptionRegistry,
    subscribe_params,
)

log = logging.getLogger("kalshiflow.exchange.ws_stream")  # one logger for the whole stream

# Everything a command can fail with on a live connection (an error reply, no reply, the connection gone).
COMMAND_ERRORS: Final = (CommandFailed, TimeoutError, ConnectionError, ConnectionClosed)


def encode_command(command_id: int, cmd: str, params: dict[str, Any] | None) -> str:
    body: dict[str, Any] = {"id": command_id, "cmd": cmd}
    if params is not None:
        body["params"] = params
    return json.dumps(body)


def update_params(sid: int, action: str, tickers: Sequence[str]) -> dict[str, Any]:
    """``update_subscription`` parameters: add_markets, delete_markets or get_snapshot."""
    return {"sids": [sid], "market_tickers": list(tickers), "action": action}


class StreamCommands:
    def __init__(
        self,
        config: StreamConfig,
        registry: SubscriptionRegistry,
        gate: BookGate,
        seq: SequenceTracker,
        books: BookFeed,
        metrics: StreamMetrics,
        channel_queue: ChannelQueue,
        connection: Callable[[], ClientConnection | None],
        can_send: Callable[[], bool],
        end_connection: Callable[[ClientConnection, StreamError], None],
        now: Callable[[], float],
    ) -> None:
        self._config = config
        self._registry = registry
        self._gate = gate
        self._seq = seq
        self._books = books
        self._metrics = metrics
        self._channel_queue = channel_queue
        self._connection = connection
        self._can_send = can_send
        self._end_connection = end_connection
        self._now = now
        self._pending = PendingCommands()
        self._snapshot_commands: dict[int, float] = {}  # get_snapshot id -> sent at (only errors reply)

    # ------------------------------------------------------------------ public commands
    async def subscribe(self, channels: Sequence[str], tickers: Sequence[str] | None) -> dict[str, int]:
        for channel in channels:
            self._want(channel, tickers)
        if not self._can_send():
            return {}
        sids: dict[str, int] = {}
        for channel in channels:
            want = self._registry.wants[channel]
            params = subscribe_params(want)
            if tickers is not None and want.tickers is not None:
                params["market_tickers"] = sorted(set(tickers))
            for reply in await self.command("subscribe", params, 1):
                if isinstance(reply, Subscribed):
                    sids[reply.channel] = reply.sid
        return sids

    async def unsubscribe(self, channels: Sequence[str]) -> None:
        for channel in channels:
            sid = self._registry.sid_of(channel)
            self._registry.drop(channel)
            if channel == ORDERBOOK:
                self._books.forget(self._gate.tracked(), "unsubscribed")
            if sid is not None and self._can_send():
                await self._unsubscribe_sid(sid)

    async def add_markets(self, channel: str, tickers: Sequence[str]) -> None:
        sid = self._registry.sid_of(channel)
        if channel not in self._registry.wants or sid is None:
            await self.subscribe([channel], tickers)
            return
        self._want(channel, tickers)
        await self.command("update_subscription", update_params(sid, "add_markets", tickers), 1)

    async def delete_markets(self, channel: str, tickers: Sequence[str]) -> None:
        self._registry.remove_markets(channel, tickers)
        if channel == ORDERBOOK:
            self._books.forget(tickers, "market removed from subscription")
        sid = self._registry.sid_of(channel)
        if sid is not None and self._can_send():
            await self.command("update_subscription", update_params(sid, "delete_markets", tickers), 1)

    async def list_subscriptions(self) -> tuple[SubscriptionListing, ...]:
        (reply,) = await self.command("list_subscriptions", None, 1)
        assert isinstance(reply, OkReply)
        return reply.subscriptions or ()

    def _want(self, channel: str, tickers: Sequence[str] | None) -> None:
        self._registry.want(channel, tickers)
        if channel == ORDERBOOK and tickers:
            self._gate.track(tickers, self._now())

    async def command(self, cmd: str, params: dict[str, Any] | None, replies: int) -> list[ReplyMessage]:
        """Send one command and wait for its ``replies`` (``CommandFailed`` on an error reply)."""
        conn = self._connection()
        if conn is None:
            raise ConnectionError(f"cannot send {cmd}: not connected")
        command_id = self._pending.next_id()
        future = self._pending.expect(command_id, replies)
        try:
            await conn.send(encode_command(command_id, cmd, params))
            return await asyncio.wait_for(future, self._config.command_timeout_s)
        finally:
            self._pending.discard(command_id)

    async def _subscribe_want(self, want: ChannelWant) -> None:
        await self.command("subscribe", subscribe_params(want), 1)

    async def _unsubscribe_sid(self, sid: int) -> None:
        """Unsubscribe; an error reply (the sid is already gone) is not a failure."""
        with contextlib.suppress(CommandFailed):
            await self.command("unsubscribe", {"sids": [sid]}, 1)

    # ------------------------------------------------------------------ connection lifecycle
    async def restore(self) -> None:
        """Subscribe every wanted channel on a fresh connection."""
        for channel in list(self._registry.wants):
            want = self._registry.wants.get(channel)
            if want is None or want.sid is not None:
                continue  # dropped meanwhile, or already subscribed by a concurrent subscribe()
            if want.channel == ORDERBOOK and not want.tickers:
                continue
            await self._subscribe_want(want)

    def after_disconnect(self) -> None:
        self._pending.fail_all(ConnectionError("connection closed"))
        self._snapshot_commands.clear()

    def expire_snapshot_requests(self, now: float) -> None:
        """Forget get_snapshot ids that got no error within the command timeout (they succeeded)."""
        for command_id, sent in list(self._snapshot_commands.items()):
            if now - sent > self._config.command_timeout_s:
                del self._snapshot_commands[command_id]

    # ------------------------------------------------------------------ resync
    async def send_snapshot_requests(self, conn: ClientConnection) -> None:
        """One coalesced ``get_snapshot`` for every book that asked since the last one."""
        books = self._books
        while True:
            await books.wanted_event.wait()
            books.wanted_event.clear()
            sid = self._registry.sid_of(ORDERBOOK)
            wanted = sorted(t for t in books.wanted if self._gate.phase(t) is not None)
            books.wanted.clear()
            if sid is None or not wanted:
                continue  # a resubscription is pending; its snapshots cover these books
            command_id = self._pending.next_id()
            self._snapshot_commands[command_id] = self._now()
            self._metrics.resyncs += 1
            params = update_params(sid, "get_snapshot", wanted)
            with contextlib.suppress(ConnectionClosed):
                await conn.send(encode_command(command_id, "update_subscription", params))

    def resubscribe_books(self, conn: ClientConnection, reason: str) -> None:
        """Unsubscribe + subscribe the orderbook channel: every book gets a new snapshot."""
        want = self._registry.wants.get(ORDERBOOK)
        if want is None or not want.tickers:
            return
        old_sid = want.sid
        if old_sid is not None:
            self._unbind(old_sid)
        self._restart_books(conn, reason, old_sid)
        self._metrics.resyncs += 1

    def _restart_books(self, conn: ClientConnection, reason: str, old_sid: int | None) -> None:
        """Distrust every book and resubscribe; the new subscription's snapshots refresh them all."""
        self._books.resync(self._gate.tracked(), reason)
        self._books.wanted.clear()  # no get_snapshot: the resubscription brings the snapshots
        asyncio.get_running_loop().create_task(self._resubscribe(conn, old_sid))

    async def _resubscribe(self, conn: ClientConnection, old_sid: int | None) -> None:
        want = self._registry.wants.get(ORDERBOOK)
        try:
            if old_sid is not None:
                await self._unsubscribe_sid(old_sid)
            if want is not None and self._connection() is conn:
                await self._subscribe_want(want)
        except COMMAND_ERRORS as err:
            if self._connection() is conn:
                self._end_connection(conn, StreamError(ErrorKind.SUBSCRIBE, f"resubscribe failed: {err}"))

    def _unbind(self, sid: int) -> str | None:
        """The sid is dead: its channel has none now and its seq numbering is forgotten."""
        self._seq.forget(sid)
        return self._registry.unbind(sid)

    # ------------------------------------------------------------------ replies
    def on_reply(self, reply: ReplyMessage) -> None:
        if isinstance(reply, Subscribed):
            if not self._registry.bind(reply.channel, reply.sid):
                log.info("ws.subscribed_unwanted channel=%s sid=%s", reply.channel, reply.sid)
        elif isinstance(reply, ErrorReply):
            self._on_error(reply)
        if not self._pending.on_reply(reply) and isinstance(reply, ErrorReply):
            log.warning("ws.error code=%s msg=%s sid=%s", reply.code, reply.message, reply.sid)

    def _on_error(self, reply: ErrorReply) -> None:
        conn = self._connection()
        if reply.command_id is not None and self._snapshot_commands.pop(reply.command_id, None) is not None:
            if conn is not None:
                self.resubscribe_books(conn, f"get_snapshot failed: {reply.message}")
            return
        if not reply.is_terminal or reply.sid is None:
            return
        self._metrics.terminal_errors += 1
        channel = self._unbind(reply.sid)
        if channel is None or conn is None:
            return
        log.warning("ws.subscription_ended channel=%s code=%s", channel, reply.code)
        if channel == ORDERBOOK:
            self._restart_books(conn, f"subscription ended (error {reply.code})", None)
            return
        self._channel_queue.put(
            ChannelNotice(NoticeKind.TERMINAL_ERROR, channel, 0, f"error {reply.code}: {reply.message}")
        )
        want = self._registry.wants[channel]
        asyncio.get_running_loop().create_task(self._subscribe_want(want))
