"""Frame text -> one typed WebSocket message; the only place that reads Kalshi's WS JSON.

Why a separate module: the reader must never die on input. Every way a frame can be wrong (not
JSON, not an object, a missing or mistyped field, a price with too many decimals, a side that is
neither ``yes`` nor ``no``) becomes a ``MalformedFrame`` with a reason; a well-formed frame of a
type we do not model becomes an ``UnknownMessage``. Nothing here raises for bad input.

Prices, counts and money are parsed exactly (``Price``/``Count``/``Money``): a value that does not
fit its unit is malformed, never rounded. Orderbook messages take a hand-written fast path because
they are almost all of the traffic.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, FixedPointError, Money, Price
from kalshiflow.exchange.ws_models import (
    ErrorReply,
    EventLifecycle,
    FillMessage,
    Level,
    MalformedFrame,
    MarketLifecycle,
    MarketPositionUpdate,
    OkReply,
    OrderbookDelta,
    OrderbookSnapshot,
    OrderGroupUpdate,
    PublicTrade,
    Subscribed,
    SubscriptionListing,
    TickerUpdate,
    UnknownMessage,
    Unsubscribed,
    UserOrderUpdate,
    WsMessage,
    WsOrderStatus,
)

EXCERPT_CHARS: Final = 120
_T = TypeVar("_T")
_OUTCOME: Final = {"yes": OutcomeSide.YES, "no": OutcomeSide.NO}
_BOOK: Final = {"bid": BookSide.BID, "ask": BookSide.ASK}
_STATUS: Final = {s.value: s for s in WsOrderStatus}


class _Bad(Exception):
    """Internal: why a frame is malformed (turned into ``MalformedFrame`` at the top)."""


class _Fields:
    """Typed reads from one JSON object; each failure names the field."""

    __slots__ = ("obj", "where")

    def __init__(self, obj: object, where: str) -> None:
        if not isinstance(obj, dict):
            raise _Bad(f"{where} is not an object")
        self.obj: dict[str, Any] = obj
        self.where = where

    def _get(self, name: str) -> Any:
        try:
            return self.obj[name]
        except KeyError:
            raise _Bad(f"{self.where}.{name} is missing") from None

    def string(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise _Bad(f"{self.where}.{name} is not a string")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad(f"{self.where}.{name} is not an integer")
        return value

    def boolean(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise _Bad(f"{self.where}.{name} is not a boolean")
        return value

    def opt_string(self, name: str) -> str | None:
        return None if self.obj.get(name) is None else self.string(name)

    def opt_integer(self, name: str) -> int | None:
        return None if self.obj.get(name) is None else self.integer(name)

    def opt_boolean(self, name: str) -> bool | None:
        return None if self.obj.get(name) is None else self.boolean(name)

    def price(self, name: str) -> Price:
        return _fixed(Price.parse, self.string(name), f"{self.where}.{name}")

    def opt_price(self, name: str) -> Price | None:
        return None if self.obj.get(name) is None else self.price(name)

    def count(self, name: str) -> Count:
        return _fixed(Count.parse, self.string(name), f"{self.where}.{name}")

    def opt_count(self, name: str) -> Count | None:
        return None if self.obj.get(name) is None else self.count(name)

    def money(self, name: str) -> Money:
        return _fixed(Money.parse, self.string(name), f"{self.where}.{name}")

    def outcome(self, name: str) -> OutcomeSide:
        return _choice(_OUTCOME, self.string(name), f"{self.where}.{name}")

    def book_side(self, name: str) -> BookSide:
        return _choice(_BOOK, self.string(name), f"{self.where}.{name}")

    def strings(self, name: str) -> tuple[str, ...] | None:
        value = self.obj.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Bad(f"{self.where}.{name} is not a list of strings")
        return tuple(value)


def _fixed(parse: Callable[[str], _T], text: str, where: str) -> _T:
    try:
        return parse(text)
    except FixedPointError as err:
        raise _Bad(f"{where}: {err}") from None


def _choice(table: Mapping[str, _T], text: str, where: str) -> _T:
    try:
        return table[text]
    except KeyError:
        raise _Bad(f"{where} {text!r} is not one of {sorted(table)}") from None


# ----------------------------------------------------------------------------- orderbook


def _levels(raw: object, where: str) -> tuple[Level, ...]:
    if raw is None:
        return ()  # Kalshi omits an empty side
    if not isinstance(raw, list):
        raise _Bad(f"{where} is not a list")
    out: list[Level] = []
    for level in raw:
        if not (isinstance(level, list) and len(level) == 2):
            raise _Bad(f"{where} has a level that is not [price, count]")
        price, size = level
        if not (isinstance(price, str) and isinstance(size, str)):
            raise _Bad(f"{where} has a level that is not two strings")
        out.append((_fixed(Price.parse, price, where), _fixed(Count.parse, size, where)))
    out.sort()
    return tuple(out)


def _snapshot(env: _Fields, body: _Fields, now_ns: int) -> OrderbookSnapshot:
    return OrderbookSnapshot(
        sid=env.integer("sid"),
        seq=env.integer("seq"),
        ticker=body.string("market_ticker"),
        yes=_levels(body.obj.get("yes_dollars_fp"), "msg.yes_dollars_fp"),
        no=_levels(body.obj.get("no_dollars_fp"), "msg.no_dollars_fp"),
        received_ns=now_ns,
    )


def _delta(env: _Fields, body: _Fields, now_ns: int) -> OrderbookDelta:
    return OrderbookDelta(
        sid=env.integer("sid"),
        seq=env.integer("seq"),
        ticker=body.string("market_ticker"),
        side=body.outcome("side"),
        price=body.price("price_dollars"),
        delta=body.count("delta_fp"),
        ts_ms=body.opt_integer("ts_ms"),
        client_order_id=body.opt_string("client_order_id"),
        received_ns=now_ns,
    )


# ----------------------------------------------------------------------------- channels


def _ticker(env: _Fields, body: _Fields, now_ns: int) -> TickerUpdate:
    return TickerUpdate(
        sid=env.integer("sid"),
        ticker=body.string("market_ticker"),
        market_id=body.string("market_id"),
        last_price=body.price("price_dollars"),
        yes_bid=body.price("yes_bid_dollars"),
        yes_ask=body.price("yes_ask_dollars"),
        yes_bid_size=body.count("yes_bid_size_fp"),
        yes_ask_size=body.count("yes_ask_size_fp"),
        last_trade_size=body.count("last_trade_size_fp"),
        volume=body.count("volume_fp"),
        open_interest=body.count("open_interest_fp"),
        dollar_volume=body.integer("dollar_volume"),
        dollar_open_interest=body.integer("dollar_open_interest"),
        ts_ms=body.integer("ts_ms"),
        received_ns=now_ns,
    )


def _trade(env: _Fields, body: _Fields, now_ns: int) -> PublicTrade:
    return PublicTrade(
        sid=env.integer("sid"),
        seq=env.integer("seq"),
        trade_id=body.string("trade_id"),
        ticker=body.string("market_ticker"),
        yes_price=body.price("yes_price_dollars"),
        no_price=body.price("no_price_dollars"),
        count=body.count("count_fp"),
        taker_outcome_side=body.outcome("taker_outcome_side"),
        taker_book_side=body.book_side("taker_book_side"),
        is_block_trade=bool(body.opt_boolean("is_block_trade")),
        ts_ms=body.integer("ts_ms"),
        received_ns=now_ns,
    )


def _lifecycle(env: _Fields, body: _Fields, now_ns: int) -> MarketLifecycle:
    return MarketLifecycle(
        sid=env.integer("sid"),
        seq=env.integer("seq"),
        ticker=body.string("market_ticker"),
        event_type=body.string("event_type"),
        open_ts=body.opt_integer("open_ts"),
        close_ts=body.opt_integer("close_ts"),
        determination_ts=body.opt_integer("determination_ts"),
        settled_ts=body.opt_integer("settled_ts"),
        result=body.opt_string("result"),
        settlement_value=body.opt_price("settlement_value"),
        is_deactivated=body.opt_boolean("is_deactivated"),
        received_ns=now_ns,
    )


def _event_lifecycle(env: _Fields, body: _Fields, now_ns: int) -> EventLifecycle:
    subtitle = body.opt_string("subtitle")
    return EventLifecycle(
        sid=env.integer("sid"),
        seq=env.integer("seq"),
        event_ticker=body.string("event_ticker"),
        title=body.opt_string("title") or "",
        subtitle=subtitle if subtitle is not None else (body.opt_string("sub_title") or ""),
        collateral_return_type=body.opt_string("collateral_return_type") or "",
        series_ticker=body.opt_string("series_ticker") or "",
        received_ns=now_ns,
    )


def _fill(env: _Fields, body: _Fields, now_ns: int) -> FillMessage:
    return FillMessage(
        sid=env.integer("sid"),
        trade_id=body.string("trade_id"),
        order_id=body.string("order_id"),
        client_order_id=body.opt_string("client_order_id") or None,
        ticker=body.string("market_ticker"),
        is_taker=body.boolean("is_taker"),
        book_side=body.book_side("book_side"),
        outcome_side=body.outcome("outcome_side"),
        yes_price=body.price("yes_price_dollars"),
        count=body.count("count_fp"),
        fee=body.money("fee_cost"),
        post_position=body.count("post_position_fp"),
        ts_ms=body.integer("ts_ms"),
        subaccount=body.opt_integer("subaccount"),
        received_ns=now_ns,
    )


def _user_order(env: _Fields, body: _Fields, now_ns: int) -> UserOrderUpdate:
    return UserOrderUpdate(
        sid=env.integer("sid"),
        order_id=body.string("order_id"),
        client_order_id=body.opt_string("client_order_id") or "",
        ticker=body.string("ticker"),
        status=_choice(_STATUS, body.string("status"), "msg.status"),
        book_side=body.book_side("book_side"),
        outcome_side=body.outcome("outcome_side"),
        yes_price=body.price("yes_price_dollars"),
        fill_count=body.count("fill_count_fp"),
        remaining_count=body.count("remaining_count_fp"),
        initial_count=body.count("initial_count_fp"),
        # Fee and cost fields were omitted when zero in one 2026 version of the API.
        taker_fill_cost=body.money("taker_fill_cost_dollars")
        if "taker_fill_cost_dollars" in body.obj
        else Money(0),
        maker_fill_cost=body.money("maker_fill_cost_dollars")
        if "maker_fill_cost_dollars" in body.obj
        else Money(0),
        taker_fees=body.money("taker_fees_dollars") if "taker_fees_dollars" in body.obj else Money(0),
        maker_fees=body.money("maker_fees_dollars") if "maker_fees_dollars" in body.obj else Money(0),
        order_group_id=body.opt_string("order_group_id"),
        created_ts_ms=body.opt_integer("created_ts_ms"),
        last_updated_ts_ms=body.opt_integer("last_updated_ts_ms"),
        last_update_reason=body.opt_string("last_update_reason"),
        expiration_ts_ms=body.opt_integer("expiration_ts_ms"),
        subaccount=body.opt_integer("subaccount_number"),
        received_ns=now_ns,
    )


def _position(env: _Fields, body: _Fields, now_ns: int) -> MarketPositionUpdate:
    return MarketPositionUpdate(
        sid=env.integer("sid"),
        ticker=body.string("market_ticker"),
        position=body.count("position_fp"),
        position_cost=body.money("position_cost_dollars"),
        realized_pnl=body.money("realized_pnl_dollars"),
        fees_paid=body.money("fees_paid_dollars"),
        position_fee_cost=body.money("position_fee_cost_dollars"),
        volume=body.count("volume_fp"),
        subaccount=body.opt_integer("subaccount"),
        received_ns=now_ns,
    )


def _order_group(env: _Fields, body: _Fields, now_ns: int) -> OrderGroupUpdate:
    return OrderGroupUpdate(
        sid=env.integer("sid"),
        seq=env.integer("seq"),
        event_type=body.string("event_type"),
        order_group_id=body.string("order_group_id"),
        contracts_limit=body.opt_count("contracts_limit_fp"),
        ts_ms=body.opt_integer("ts_ms") or 0,
        received_ns=now_ns,
    )


_DATA: Final[dict[str, Callable[[_Fields, _Fields, int], WsMessage]]] = {
    "orderbook_snapshot": _snapshot,
    "orderbook_delta": _delta,
    "ticker": _ticker,
    "trade": _trade,
    "market_lifecycle_v2": _lifecycle,
    "event_lifecycle": _event_lifecycle,
    "fill": _fill,
    "user_order": _user_order,
    "market_position": _position,
    "order_group_updates": _order_group,
}


# ----------------------------------------------------------------------------- replies


def _subscribed(env: _Fields) -> Subscribed:
    body = _Fields(env.obj.get("msg"), "msg")
    return Subscribed(env.opt_integer("id"), body.string("channel"), body.integer("sid"))


def _unsubscribed(env: _Fields) -> Unsubscribed:
    return Unsubscribed(env.opt_integer("id"), env.integer("sid"), env.opt_integer("seq"))


def _ok(env: _Fields) -> OkReply:
    raw = env.obj.get("msg")
    listing: tuple[SubscriptionListing, ...] | None = None
    tickers: tuple[str, ...] | None = None
    if isinstance(raw, list):
        entries = [_Fields(item, "msg[]") for item in raw]
        listing = tuple(SubscriptionListing(e.string("channel"), e.integer("sid")) for e in entries)
    elif raw is not None:
        tickers = _Fields(raw, "msg").strings("market_tickers")
    return OkReply(env.opt_integer("id"), env.opt_integer("sid"), env.opt_integer("seq"), tickers, listing)


def _error(env: _Fields) -> ErrorReply:
    body = _Fields(env.obj.get("msg"), "msg")
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


_REPLIES: Final[dict[str, Callable[[_Fields], WsMessage]]] = {
    "subscribed": _subscribed,
    "unsubscribed": _unsubscribed,
    "ok": _ok,
    "error": _error,
}


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
            _OUTCOME[msg["side"]],
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
        env = _Fields(raw, "frame")
        msg_type = env.string("type")
        data = _DATA.get(msg_type)
        if data is not None:
            return data(env, _Fields(env.obj.get("msg"), "msg"), now_ns)
        reply = _REPLIES.get(msg_type)
        if reply is not None:
            return reply(env)
        return UnknownMessage(msg_type, env.opt_integer("sid"), env.opt_integer("seq"), now_ns)
    except _Bad as bad:
        return MalformedFrame(str(bad), _excerpt(frame), now_ns)


def _excerpt(frame: str | bytes) -> str:
    text = frame if isinstance(frame, str) else frame[: EXCERPT_CHARS * 4].decode("utf-8", "replace")
    return text[:EXCERPT_CHARS]
