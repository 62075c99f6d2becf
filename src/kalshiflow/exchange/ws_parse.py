"""Frame text -> one typed WebSocket message; the only entry point that reads Kalshi's WS JSON.

Why a separate module: the reader must never die on input. Every way a frame can be wrong (not
JSON, not an object, a missing or mistyped field, a price with too many decimals, a side that is
neither ``yes`` nor ``no``) becomes a ``MalformedFrame`` with a reason; a well-formed frame of a
type we do not model becomes an ``UnknownMessage``. Nothing here raises for bad input.

Prices, counts and money are parsed exactly (``Price``/``Count``/``Money``): a value that does not
fit its unit is malformed, never rounded. Orderbook deltas take a hand-written fast path here
because they are almost all of the traffic; every other frame goes through the field-checked
builders of ``ws_parse_data`` (channel data) and ``ws_parse_replies`` (command replies), which
share the ``ws_parse_fields`` reader.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Final

from kalshiflow.domain.units import Count, FixedPointError, Price
from kalshiflow.exchange.ws_models import MalformedFrame, OrderbookDelta, UnknownMessage, WsMessage
from kalshiflow.exchange.ws_parse_data import DATA
from kalshiflow.exchange.ws_parse_fields import OUTCOME, BadFrame, Fields
from kalshiflow.exchange.ws_parse_replies import REPLIES

__all__ = ["EXCERPT_CHARS", "parse_frame"]

EXCERPT_CHARS: Final = 120
_CACHE_LIMIT: Final = 4096
_price_cache: dict[str, Price] = {}
_count_cache: dict[str, Count] = {}


def _cached(cache: dict[str, Any], parse: Callable[[str], Any], text: str) -> Any:
    """Prices and sizes repeat endlessly on a grid; parse each distinct string once (bounded)."""
    value = cache.get(text)
    if value is None:
        value = parse(text)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[text] = value
    return value


def _fast_delta(raw: dict[str, Any], now_ns: int) -> OrderbookDelta | None:
    """The hot path: a well-formed delta without per-field error bookkeeping; None -> slow path."""
    try:
        msg = raw["msg"]
        sid, seq, ticker = raw["sid"], raw["seq"], msg["market_ticker"]
        ts_ms, client_order_id = msg.get("ts_ms"), msg.get("client_order_id")
        if (
            type(sid) is not int
            or type(seq) is not int
            or type(ticker) is not str
            or not (ts_ms is None or type(ts_ms) is int)
            or not (client_order_id is None or type(client_order_id) is str)
        ):
            return None
        return OrderbookDelta(
            sid,
            seq,
            ticker,
            OUTCOME[msg["side"]],
            _cached(_price_cache, Price.parse, msg["price_dollars"]),
            _cached(_count_cache, Count.parse, msg["delta_fp"]),
            ts_ms,
            client_order_id,
            now_ns,
        )
    except (KeyError, TypeError, FixedPointError):
        return None


def parse_frame(frame: str | bytes, received_ns: int | None = None) -> WsMessage:
    """Turn one frame into a message; bad input becomes ``MalformedFrame``, never an exception."""
    now_ns = time.monotonic_ns() if received_ns is None else received_ns
    try:
        raw = json.loads(frame)
    except (ValueError, RecursionError):
        return MalformedFrame("not JSON", _excerpt(frame), now_ns)
    if type(raw) is dict and raw.get("type") == "orderbook_delta":
        fast = _fast_delta(raw, now_ns)
        if fast is not None:
            return fast
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
        return MalformedFrame(str(bad), _excerpt(frame), now_ns)


def _excerpt(frame: str | bytes) -> str:
    text = frame if isinstance(frame, str) else frame[: EXCERPT_CHARS * 4].decode("utf-8", "replace")
    return text[:EXCERPT_CHARS]
