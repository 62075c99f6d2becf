"""What the client wants to be subscribed to, and the commands in flight on the current connection.

Why: a reconnect gives a fresh connection with no subscriptions and new ``sid`` values. The
registry remembers each channel's wanted market set (``None`` = all markets / no filter)
independently of any connection, so that everything can be restored after a reconnect, and maps
the current connection's sids back to channels. Kalshi merges repeated subscriptions of a channel
into one sid, so the registry is keyed by channel.

``PendingCommands`` correlates replies with commands by ``id``: a command expecting N replies
(one ``subscribed`` per channel, one ``unsubscribed`` per sid, one ``ok``) completes when they have
all arrived; an ``error`` with its id fails it with ``CommandFailed``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from kalshiflow.exchange.ws_models import ErrorReply, OkReply, ReplyMessage, Subscribed, Unsubscribed

ORDERBOOK: Final = "orderbook_delta"
TICKER_FILTERED_CHANNELS: Final = frozenset(
    {ORDERBOOK, "ticker", "trade", "fill", "market_positions", "user_orders"}
)


class CommandFailed(Exception):
    """The server answered a command with an ``error`` reply."""

    def __init__(self, reply: ErrorReply) -> None:
        super().__init__(f"WS command failed: code {reply.code}: {reply.message}")
        self.reply = reply


@dataclass(slots=True)
class ChannelWant:
    channel: str
    tickers: set[str] | None  # None: every market (or no market filter)
    sid: int | None = None  # on the current connection, once subscribed


@dataclass
class SubscriptionRegistry:
    wants: dict[str, ChannelWant] = field(default_factory=dict)
    _by_sid: dict[int, str] = field(default_factory=dict)

    def want(self, channel: str, tickers: Iterable[str] | None) -> ChannelWant:
        """Add a channel (or markets to it); a channel wanted for all markets stays so."""
        wanted = None if tickers is None or channel not in TICKER_FILTERED_CHANNELS else set(tickers)
        current = self.wants.get(channel)
        if current is None:
            current = self.wants[channel] = ChannelWant(channel, wanted)
        elif current.tickers is not None:
            if wanted is None:
                current.tickers = None
            else:
                current.tickers |= wanted
        return current

    def drop(self, channel: str) -> ChannelWant | None:
        want = self.wants.pop(channel, None)
        if want is not None and want.sid is not None:
            self._by_sid.pop(want.sid, None)
        return want

    def remove_markets(self, channel: str, tickers: Iterable[str]) -> None:
        want = self.wants.get(channel)
        if want is not None and want.tickers is not None:
            want.tickers.difference_update(tickers)

    def bind(self, channel: str, sid: int) -> bool:
        """Record the sid the server gave a channel; False if the channel is no longer wanted."""
        want = self.wants.get(channel)
        if want is None:
            return False
        if want.sid is not None:
            self._by_sid.pop(want.sid, None)
        want.sid = sid
        self._by_sid[sid] = channel
        return True

    def unbind(self, sid: int) -> str | None:
        channel = self._by_sid.pop(sid, None)
        if channel is not None and self.wants[channel].sid == sid:
            self.wants[channel].sid = None
        return channel

    def unbind_all(self) -> None:
        self._by_sid.clear()
        for want in self.wants.values():
            want.sid = None

    def channel_of(self, sid: int) -> str | None:
        return self._by_sid.get(sid)

    def sid_of(self, channel: str) -> int | None:
        want = self.wants.get(channel)
        return None if want is None else want.sid

    def book_tickers(self) -> list[str]:
        want = self.wants.get(ORDERBOOK)
        return sorted(want.tickers) if want is not None and want.tickers else []


def subscribe_params(want: ChannelWant) -> dict[str, Any]:
    params: dict[str, Any] = {"channels": [want.channel]}
    if want.tickers is not None:
        params["market_tickers"] = sorted(want.tickers)
    return params


@dataclass(slots=True)
class _Pending:
    expected: int
    replies: list[ReplyMessage]
    future: asyncio.Future[list[ReplyMessage]]


class PendingCommands:
    """Command ids (unique per connection, from 1) and the replies they wait for."""

    def __init__(self) -> None:
        self._next_id = 0
        self._pending: dict[int, _Pending] = {}

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def expect(self, command_id: int, replies: int) -> asyncio.Future[list[ReplyMessage]]:
        future: asyncio.Future[list[ReplyMessage]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = _Pending(replies, [], future)
        return future

    def discard(self, command_id: int) -> None:
        self._pending.pop(command_id, None)

    def on_reply(self, reply: ReplyMessage) -> bool:
        """Feed a reply; True if it belonged to a command waiting here."""
        if reply.command_id is None:
            return False
        pending = self._pending.get(reply.command_id)
        if pending is None:
            return False
        if isinstance(reply, ErrorReply):
            del self._pending[reply.command_id]
            if not pending.future.done():
                pending.future.set_exception(CommandFailed(reply))
            return True
        assert isinstance(reply, Subscribed | Unsubscribed | OkReply)
        pending.replies.append(reply)
        if len(pending.replies) >= pending.expected:
            del self._pending[reply.command_id]
            if not pending.future.done():
                pending.future.set_result(pending.replies)
        return True

    def fail_all(self, exc: BaseException) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(exc)
        self._pending.clear()
