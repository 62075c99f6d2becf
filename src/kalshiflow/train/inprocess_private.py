"""The trader's own fills, order updates and positions handed over typed, in process.

Why: with random actions an episode spent ~11 % of its time turning these events into the hub's
JSON-shaped payloads (``sim.ws_messages``: every price, count and amount formatted as a decimal
string) and parsing them back (``exchange.ws_parse_data``: every string parsed into the same
integer). Here the client's message is built from the engine's record directly. It is the value
the round trip gives, field for field: the simulator's amounts are integers of the client's units
(``Price``/``Count``/``Money`` format and parse them exactly), its sides and statuses are the
domain's enums, and each optional field is absent exactly when the renderer leaves it out.
``tests/train/test_inprocess_private.py`` compares both for every private event of episodes.
A value the client could not parse (a status it does not model) gives ``None``: that event goes
through the hub and the parser as before, which say what is wrong with it.
"""

from __future__ import annotations

from typing import Final

from kalshiflow.domain.orders import UpdateReason
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.ws_models import (
    FillMessage,
    MarketPositionUpdate,
    UserOrderUpdate,
    WsOrderStatus,
)
from kalshiflow.sim import subaccounts
from kalshiflow.sim.events import FillEvent, OrderEvent, PositionEvent

_STATUS: Final = {s.value: s for s in WsOrderStatus}  # the parser's table (``ws_parse_fields``)


def fill_message(event: FillEvent, sid: int, received_ns: int) -> FillMessage:
    """``parse(render.fill(record))``: the ``fill`` frame's message."""
    record = event.fill
    side = record.side
    return FillMessage(
        sid=sid,
        trade_id=record.trade_id,
        order_id=record.order_id,
        client_order_id=record.client_order_id or None,
        ticker=record.ticker,
        is_taker=record.is_taker,
        book_side=side,
        outcome_side=side.outcome_side,
        yes_price=Price(record.yes_price),
        count=Count(record.count),
        fee=Money(record.fee),
        post_position=Count(record.post_position),
        ts_ms=record.ts_ms,
        subaccount=record.subaccount or None,  # rendered only for a numbered sub-account
        received_ns=received_ns,
    )


def order_message(event: OrderEvent, sid: int, received_ns: int) -> UserOrderUpdate | None:
    """``parse(render.user_order(order, ..., reason))`` as the order stands now (at its event)."""
    order = event.order
    status = _STATUS.get(order.status.value)
    if status is None:
        return None
    side = order.side
    reason = event.reason
    return UserOrderUpdate(
        sid=sid,
        order_id=order.order_id,
        client_order_id=order.client_order_id or "",
        ticker=order.ticker,
        status=status,
        book_side=side,
        outcome_side=side.outcome_side,
        yes_price=Price(order.yes_price),
        fill_count=Count(order.fill_count),
        remaining_count=Count(order.remaining_count),
        initial_count=Count(order.initial_count),
        taker_fill_cost=Money(order.taker_fill_cost),
        maker_fill_cost=Money(order.maker_fill_cost),
        taker_fees=Money(order.taker_fees),
        maker_fees=Money(order.maker_fees),
        order_group_id=order.order_group_id,
        created_ts_ms=order.created_ms,
        last_updated_ts_ms=order.updated_ms,
        last_update_reason=None if reason is UpdateReason.CREATED else reason.value,
        expiration_ts_ms=order.expiration_ms,
        subaccount=order.subaccount,
        received_ns=received_ns,
    )


def position_message(event: PositionEvent, sid: int, received_ns: int) -> MarketPositionUpdate:
    """``parse(render.market_position(...))``: the ``market_position`` frame's message."""
    position = event.position
    held = position.position
    return MarketPositionUpdate(
        sid=sid,
        ticker=event.ticker,
        position=Count(held),
        position_cost=Money(position.cost),
        realized_pnl=Money(position.realized_pnl),
        fees_paid=Money(position.fees_paid),
        position_fee_cost=Money(position.fees_paid if held else 0),
        volume=Count(position.volume),
        subaccount=subaccounts.number_of(event.account_id) or None,
        received_ns=received_ns,
    )
