"""Data frames (orderbook and every other channel) -> typed messages, field by field.

Part of the frame parser: ``ws_parse.parse_frame`` looks the frame's ``type`` up in ``DATA`` and
calls the builder with the envelope (``sid``/``seq``) and the ``msg`` body. Every value is parsed
exactly (``Price``/``Count``/``Money``); bad input raises ``BadFrame``. Orderbook deltas normally
take ``ws_parse``'s fast path and come here only when that path cannot decide.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Final

from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import (
    EventFeeUpdate,
    EventLifecycle,
    FillMessage,
    Level,
    MarketLifecycle,
    MarketPositionUpdate,
    OrderbookDelta,
    OrderbookSnapshot,
    OrderGroupUpdate,
    PublicTrade,
    TickerUpdate,
    UserOrderUpdate,
    WsMessage,
)
from kalshiflow.exchange.ws_parse_fields import ORDER_STATUS, BadFrame, Fields, choose, parse_fixed

# ----------------------------------------------------------------------------- orderbook


def _levels(raw: object, where: str) -> tuple[Level, ...]:
    if raw is None:
        return ()  # Kalshi omits an empty side
    if not isinstance(raw, list):
        raise BadFrame(f"{where} is not a list")
    out: list[Level] = []
    for level in raw:
        if not (isinstance(level, list) and len(level) == 2):
            raise BadFrame(f"{where} has a level that is not [price, count]")
        price, size = level
        if not (isinstance(price, str) and isinstance(size, str)):
            raise BadFrame(f"{where} has a level that is not two strings")
        out.append((parse_fixed(Price.parse, price, where), parse_fixed(Count.parse, size, where)))
    out.sort()
    return tuple(out)


def _snapshot(env: Fields, body: Fields, now_ns: int) -> OrderbookSnapshot:
    return OrderbookSnapshot(
        sid=env.integer("sid"),
        seq=env.integer("seq"),
        ticker=body.string("market_ticker"),
        yes=_levels(body.obj.get("yes_dollars_fp"), "msg.yes_dollars_fp"),
        no=_levels(body.obj.get("no_dollars_fp"), "msg.no_dollars_fp"),
        received_ns=now_ns,
    )


def _delta(env: Fields, body: Fields, now_ns: int) -> OrderbookDelta:
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


def _ticker(env: Fields, body: Fields, now_ns: int) -> TickerUpdate:
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


def _trade(env: Fields, body: Fields, now_ns: int) -> PublicTrade:
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


def _lifecycle(env: Fields, body: Fields, now_ns: int) -> MarketLifecycle:
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


def _event_lifecycle(env: Fields, body: Fields, now_ns: int) -> EventLifecycle:
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


def _event_fee_update(env: Fields, body: Fields, now_ns: int) -> EventFeeUpdate:
    return EventFeeUpdate(
        sid=env.integer("sid"),
        seq=env.integer("seq"),
        event_ticker=body.string("event_ticker"),
        fee_type_override=body.opt_string("fee_type_override"),
        fee_multiplier_override=_opt_multiplier(body, "fee_multiplier_override"),
        received_ns=now_ns,
    )


def _opt_multiplier(body: Fields, name: str) -> Fraction | None:
    """A JSON number as an exact fraction (its decimal text, not the binary float): 1.5 -> 3/2."""
    value = body.obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadFrame(f"{body.where}.{name} is not a number")
    result = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    if result < 0:
        raise BadFrame(f"{body.where}.{name} is negative")
    return result


def _fill(env: Fields, body: Fields, now_ns: int) -> FillMessage:
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


def _user_order(env: Fields, body: Fields, now_ns: int) -> UserOrderUpdate:
    return UserOrderUpdate(
        sid=env.integer("sid"),
        order_id=body.string("order_id"),
        client_order_id=body.opt_string("client_order_id") or "",
        ticker=body.string("ticker"),
        status=choose(ORDER_STATUS, body.string("status"), "msg.status"),
        book_side=body.book_side("book_side"),
        outcome_side=body.outcome("outcome_side"),
        yes_price=body.price("yes_price_dollars"),
        fill_count=body.count("fill_count_fp"),
        remaining_count=body.count("remaining_count_fp"),
        initial_count=body.count("initial_count_fp"),
        # Fee and cost fields were omitted when zero in one 2026 version of the API.
        taker_fill_cost=body.money_or_zero("taker_fill_cost_dollars"),
        maker_fill_cost=body.money_or_zero("maker_fill_cost_dollars"),
        taker_fees=body.money_or_zero("taker_fees_dollars"),
        maker_fees=body.money_or_zero("maker_fees_dollars"),
        order_group_id=body.opt_string("order_group_id"),
        created_ts_ms=body.opt_integer("created_ts_ms"),
        last_updated_ts_ms=body.opt_integer("last_updated_ts_ms"),
        last_update_reason=body.opt_string("last_update_reason"),
        expiration_ts_ms=body.opt_integer("expiration_ts_ms"),
        subaccount=body.opt_integer("subaccount_number"),
        received_ns=now_ns,
    )


def _position(env: Fields, body: Fields, now_ns: int) -> MarketPositionUpdate:
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


def _order_group(env: Fields, body: Fields, now_ns: int) -> OrderGroupUpdate:
    return OrderGroupUpdate(
        sid=env.integer("sid"),
        seq=env.integer("seq"),
        event_type=body.string("event_type"),
        order_group_id=body.string("order_group_id"),
        contracts_limit=body.opt_count("contracts_limit_fp"),
        ts_ms=body.opt_integer("ts_ms") or 0,
        received_ns=now_ns,
    )


DATA: Final[dict[str, Callable[[Fields, Fields, int], WsMessage]]] = {
    "orderbook_snapshot": _snapshot,
    "orderbook_delta": _delta,
    "ticker": _ticker,
    "trade": _trade,
    "market_lifecycle_v2": _lifecycle,
    "event_lifecycle": _event_lifecycle,
    "event_fee_update": _event_fee_update,
    "fill": _fill,
    "user_order": _user_order,
    "market_position": _position,
    "order_group_updates": _order_group,
}
