"""Command replies (``subscribed``, ``unsubscribed``, ``ok``, ``error``) -> typed reply messages.

Part of the frame parser (``ws_parse.parse_frame`` dispatches here by ``type``); these read the
envelope itself because replies carry ``id``/``sid``/``seq`` there. Bad input raises ``BadFrame``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from kalshiflow.exchange.ws_models import (
    ErrorReply,
    OkReply,
    ReplyMessage,
    Subscribed,
    SubscriptionListing,
    Unsubscribed,
)
from kalshiflow.exchange.ws_parse_fields import Fields


def _subscribed(env: Fields) -> Subscribed:
    body = Fields(env.obj.get("msg"), "msg")
    return Subscribed(env.opt_integer("id"), body.string("channel"), body.integer("sid"))


def _unsubscribed(env: Fields) -> Unsubscribed:
    return Unsubscribed(env.opt_integer("id"), env.integer("sid"), env.opt_integer("seq"))


def _ok(env: Fields) -> OkReply:
    """An update_subscription ack (``msg.market_tickers``) or a list_subscriptions answer (a list)."""
    raw = env.obj.get("msg")
    listing: tuple[SubscriptionListing, ...] | None = None
    tickers: tuple[str, ...] | None = None
    if isinstance(raw, list):
        entries = [Fields(item, "msg[]") for item in raw]
        listing = tuple(SubscriptionListing(e.string("channel"), e.integer("sid")) for e in entries)
    elif raw is not None:
        tickers = Fields(raw, "msg").strings("market_tickers")
    return OkReply(env.opt_integer("id"), env.opt_integer("sid"), env.opt_integer("seq"), tickers, listing)


def _error(env: Fields) -> ErrorReply:
    body = Fields(env.obj.get("msg"), "msg")
    tickers = body.strings("market_tickers") or ()
    single = body.opt_string("market_ticker")
    if single is not None:
        tickers = (*tickers, single)
    return ErrorReply(
        env.opt_integer("id"),
        body.integer("code"),
        body.opt_string("msg") or "",
        env.opt_integer("sid"),
        env.opt_integer("seq"),
        tickers,
    )


REPLIES: Final[dict[str, Callable[[Fields], ReplyMessage]]] = {
    "subscribed": _subscribed,
    "unsubscribed": _unsubscribed,
    "ok": _ok,
    "error": _error,
}
