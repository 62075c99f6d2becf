"""Frame text -> one typed WebSocket message; the only entry point that reads Kalshi's WS JSON.

Why a separate module: the reader must never die on input. Every way a frame can be wrong (not
JSON, not an object, a missing or mistyped field, a price with too many decimals, a side that is
neither ``yes`` nor ``no``) becomes a ``MalformedFrame`` with a reason; a well-formed frame of a
type we do not model becomes an ``UnknownMessage``. Nothing here raises for bad input.

Prices, counts and money are parsed exactly (``Price``/``Count``/``Money``): a value that does not
fit its unit is malformed, never rounded. Orderbook deltas take a fast path here because they are
almost all of the traffic: ``msgspec`` decodes the frame straight into a typed struct of just the
fields a delta needs (types checked in C, other fields skipped unread), about a quarter of the cost
of building a dict with ``json.loads``. Anything that path cannot take -- another message type, a
missing or mistyped field, a bad price -- goes through the field-checked builders of
``ws_parse_data`` (channel data) and ``ws_parse_replies`` (command replies), which share the
``ws_parse_fields`` reader and name what is wrong, exactly as before.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Final

import msgspec

from kalshiflow.domain.units import Count, FixedPointError, Price
from kalshiflow.exchange.ws_models import MalformedFrame, OrderbookDelta, UnknownMessage, WsMessage
from kalshiflow.exchange.ws_parse_data import DATA
from kalshiflow.exchange.ws_parse_fields import COUNTS, OUTCOME, PRICES, BadFrame, Fields, remember
from kalshiflow.exchange.ws_parse_replies import REPLIES

__all__ = ["EXCERPT_CHARS", "parse_frame"]

EXCERPT_CHARS: Final = 120


class _DeltaBody(msgspec.Struct):
    """The ``msg`` fields of an ``orderbook_delta`` the book needs; the rest is skipped unread."""

    market_ticker: str
    side: str
    price_dollars: str
    delta_fp: str
    ts_ms: int | None = None
    client_order_id: str | None = None


class _DeltaFrame(msgspec.Struct, tag_field="type", tag="orderbook_delta"):
    sid: int
    seq: int
    msg: _DeltaBody


_decode_delta: Final = msgspec.json.Decoder(_DeltaFrame).decode


def _fast_delta(frame: str | bytes, now_ns: int) -> OrderbookDelta | None:
    """The hot path: a well-formed delta decoded in one typed pass; None -> the general path."""
    try:
        raw = _decode_delta(frame)
        msg = raw.msg
        price = PRICES.get(msg.price_dollars)  # the shared caches, looked up inline first
        if price is None:
            price = remember(PRICES, Price.parse, msg.price_dollars)
        size = COUNTS.get(msg.delta_fp)
        if size is None:
            size = remember(COUNTS, Count.parse, msg.delta_fp)
        return OrderbookDelta(
            raw.sid,
            raw.seq,
            msg.market_ticker,
            OUTCOME[msg.side],
            price,
            size,
            msg.ts_ms,
            msg.client_order_id,
            now_ns,
        )
    except (msgspec.DecodeError, KeyError, FixedPointError):  # ValidationError is a DecodeError
        return None


def parse_frame(frame: str | bytes, received_ns: int | None = None) -> WsMessage:
    """Turn one frame into a message; bad input becomes ``MalformedFrame``, never an exception."""
    now_ns = time.monotonic_ns() if received_ns is None else received_ns
    fast = _fast_delta(frame, now_ns)
    if fast is not None:
        return fast
    try:
        raw = json.loads(frame)
    except (ValueError, RecursionError):
        return MalformedFrame("not JSON", _excerpt(frame), now_ns)
    return parse_value(raw, now_ns, lambda: frame)


def parse_value(raw: object, received_ns: int, frame: Callable[[], str | bytes]) -> WsMessage:
    """``parse_frame`` of a frame already decoded (``raw`` is what ``json.loads`` gives, read and
    never kept or changed): the in-process venue hands the simulator's payloads over without a JSON
    round trip. ``frame`` gives the text for a ``MalformedFrame``'s excerpt, only then."""
    now_ns = received_ns
    try:
        env = Fields(raw, "frame")
        msg_type = env.string("type")
        data = DATA.get(msg_type)
        if data is not None:
            return data(env, Fields(env.obj.get("msg"), "msg"), now_ns)
        reply = REPLIES.get(msg_type)
        if reply is not None:
            return reply(env)
        return UnknownMessage(msg_type, env.opt_integer("sid"), env.opt_integer("seq"), now_ns)
    except BadFrame as bad:
        return MalformedFrame(str(bad), _excerpt(frame()), now_ns)


def _excerpt(frame: str | bytes) -> str:
    text = frame if isinstance(frame, str) else frame[: EXCERPT_CHARS * 4].decode("utf-8", "replace")
    return text[:EXCERPT_CHARS]
