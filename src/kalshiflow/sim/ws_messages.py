"""Rendering of engine events and records into Kalshi WebSocket ``msg`` payloads.

Pure functions from the simulator's exact integers to the current (fixed-point) AsyncAPI shapes of
reference section 11: prices via ``Price.dollars_str()``, counts via ``Count.fp_str()``, money via
``Money.dollars_str()``. Legacy integer fields (removed by Kalshi in 2026) are never emitted.

The hub adds the envelope (``type``/``sid``/``seq``); only the ``msg`` bodies and the envelope
helper live here, so that one body can be serialised once and shared by many subscribers.

Choices where Kalshi's docs leave room (kept here so they are written down once):

* Snapshot levels are ascending by price on both sides, as in REST and the reference's example.
  With ``use_yes_price`` the NO levels are converted to YES-leg prices and re-sorted ascending.
* An empty YES-ask (no NO bids) renders as ``"1.0000"``, an empty YES-bid as ``"0.0000"``.
* ``dollar_volume`` is the cumulative traded notional (the hub tracks it) and
  ``dollar_open_interest`` is open interest marked at the last price, both floored to whole dollars.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kalshiflow.domain.orders import OutcomeSide, UpdateReason, legacy_side_action
from kalshiflow.domain.units import MONEY_SCALE, PRICE_SCALE, Count, Money, Price
from kalshiflow.sim.book import Book
from kalshiflow.sim.events import BookDelta, OrderGroupEvent, TradeEvent
from kalshiflow.sim.state import Fill, Position, SimEvent, SimMarket, SimOrder

Payload = dict[str, Any]
EXCHANGE_INDEX = 0  # the simulator runs one shard


_SECONDS_CACHE_MAX = 4096
_seconds: dict[int, str] = {}  # second -> its text, bounded


def rfc3339(ts_ms: int) -> str:
    """Second-precision UTC time, the form of Kalshi's deprecated ``ts``/``time`` strings.

    Remembered per second (bounded): an order update carries its creation second and the current
    one, each repeated across the burst of messages of that second, and ``strftime`` was a visible
    part of rendering one (issue 12)."""
    second = ts_ms // 1000
    text = _seconds.get(second)
    if text is None:
        if len(_seconds) >= _SECONDS_CACHE_MAX:
            _seconds.clear()
        text = _seconds[second] = datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


def dumps(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"))


def envelope(msg_type: str, sid: int, seq: int | None, msg_json: str, command_id: int | None = None) -> str:
    """Wrap an already serialised ``msg`` so that one body serves every subscriber."""
    head = f'{{"type":"{msg_type}","sid":{sid}'
    if seq is not None:
        head += f',"seq":{seq}'
    if command_id:
        head += f',"id":{command_id}'
    return f'{head},"msg":{msg_json}}}'


# ----------------------------------------------------------------------------- orderbook


def _levels(levels: list[tuple[int, int]]) -> list[list[str]]:
    return [[Price(p).dollars_str(), Count(n).fp_str()] for p, n in levels]


def orderbook_snapshot(market: SimMarket, book: Book, use_yes_price: bool) -> Payload:
    """Aggregated levels of both ladders; a side with no levels is omitted, as on Kalshi."""
    msg: Payload = {"market_ticker": market.ticker, "market_id": market.market_id}
    yes = book.yes.ascending()
    no = book.no.ascending()
    if use_yes_price:
        no = sorted((PRICE_SCALE - p, n) for p, n in no)
    if yes:
        msg["yes_dollars_fp"] = _levels(yes)
    if no:
        msg["no_dollars_fp"] = _levels(no)
    return msg


def orderbook_delta(delta: BookDelta, market_id: str, use_yes_price: bool) -> Payload:
    """The public part of a delta; ``own_delta_fields`` adds what only the order's owner sees."""
    price = delta.price
    if use_yes_price and delta.side is OutcomeSide.NO:
        price = PRICE_SCALE - price
    return {
        "market_ticker": delta.ticker,
        "market_id": market_id,
        "price_dollars": Price(price).dollars_str(),
        "delta_fp": Count(delta.delta).fp_str(),
        "side": delta.side.value,
        "ts": rfc3339(delta.ts_ms),
        "ts_ms": delta.ts_ms,
    }


def own_delta_fields(msg: Payload, client_order_id: str | None, subaccount: int | None) -> Payload:
    """Copy of a delta body tagged for the subscriber whose order caused it."""
    tagged = dict(msg)
    if client_order_id:
        tagged["client_order_id"] = client_order_id
    if subaccount:
        tagged["subaccount"] = subaccount
    return tagged


# ----------------------------------------------------------------------------- ticker and trades


def ticker(market: SimMarket, book: Book, dollar_volume_money: int, ts_ms: int) -> Payload:
    best_bid = book.best_yes_bid()
    best_no = book.best_no_bid()
    bid_size = book.yes.size_at(best_bid) if best_bid is not None else 0
    ask_size = book.no.size_at(best_no) if best_no is not None else 0
    last_size = 0
    if market.volume_window:
        last_size = market.volume_window[-1][1]
    oi_notional = market.open_interest * market.last_price  # Price x Count == Money units
    return {
        "market_id": market.market_id,
        "market_ticker": market.ticker,
        "price_dollars": Price(market.last_price).dollars_str(),
        "yes_bid_dollars": Price(best_bid or 0).dollars_str(),
        "yes_ask_dollars": Price(PRICE_SCALE - best_no if best_no is not None else PRICE_SCALE).dollars_str(),
        "volume_fp": Count(market.volume).fp_str(),
        "open_interest_fp": Count(market.open_interest).fp_str(),
        "dollar_volume": dollar_volume_money // MONEY_SCALE,
        "dollar_open_interest": oi_notional // MONEY_SCALE,
        "yes_bid_size_fp": Count(bid_size).fp_str(),
        "yes_ask_size_fp": Count(ask_size).fp_str(),
        "last_trade_size_fp": Count(last_size).fp_str(),
        "ts": ts_ms // 1000,
        "ts_ms": ts_ms,
        "time": rfc3339(ts_ms),
    }


def ticker_key(msg: Payload) -> tuple[object, ...]:
    """The fields whose change makes Kalshi send a new ``ticker`` message (time excluded)."""
    return tuple(v for k, v in msg.items() if k not in ("ts", "ts_ms", "time"))


def trade(event: TradeEvent) -> Payload:
    taker_outcome = event.taker_book_side.outcome_side.value
    return {
        "trade_id": event.trade_id,
        "market_ticker": event.ticker,
        "yes_price_dollars": Price(event.yes_price).dollars_str(),
        "no_price_dollars": Price(PRICE_SCALE - event.yes_price).dollars_str(),
        "count_fp": Count(event.count).fp_str(),
        "taker_side": taker_outcome,
        "taker_outcome_side": taker_outcome,
        "taker_book_side": event.taker_book_side.value,
        "is_block_trade": False,
        "ts": event.ts_ms // 1000,
        "ts_ms": event.ts_ms,
    }


# ----------------------------------------------------------------------------- private channels


def fill(record: Fill) -> Payload:
    legacy_side, legacy_action = legacy_side_action(record.side)
    msg: Payload = {
        "trade_id": record.trade_id,
        "order_id": record.order_id,
        "client_order_id": record.client_order_id,
        "market_ticker": record.ticker,
        "exchange_index": EXCHANGE_INDEX,
        "is_taker": record.is_taker,
        "side": legacy_side.value,
        "yes_price_dollars": Price(record.yes_price).dollars_str(),
        "count_fp": Count(record.count).fp_str(),
        "fee_cost": Money(record.fee).dollars_str(6),
        "action": legacy_action.value,
        "ts": record.ts_ms // 1000,
        "ts_ms": record.ts_ms,
        "post_position_fp": Count(record.post_position).fp_str(),
        "purchased_side": record.side.outcome_side.value,
        "outcome_side": record.side.outcome_side.value,
        "book_side": record.side.value,
    }
    if record.subaccount:
        msg["subaccount"] = record.subaccount
    return msg


def market_position(user_id: str, ticker_name: str, position: Position, subaccount: int = 0) -> Payload:
    """``position_fee_cost_dollars`` is the fees paid while building the position (no finer split kept);
    ``subaccount`` is named only for a numbered sub-account."""
    msg: Payload = {
        "user_id": user_id,
        "market_ticker": ticker_name,
        "position_fp": Count(position.position).fp_str(),
        "position_cost_dollars": Money(position.cost).dollars_str(),
        "realized_pnl_dollars": Money(position.realized_pnl).dollars_str(),
        "fees_paid_dollars": Money(position.fees_paid).dollars_str(),
        "position_fee_cost_dollars": Money(position.fees_paid if position.position else 0).dollars_str(),
        "volume_fp": Count(position.volume).fp_str(),
    }
    if subaccount:
        msg["subaccount"] = subaccount
    return msg


def user_order(order: SimOrder, user_id: str, reason: UpdateReason) -> Payload:
    """The order as it stands after one update; ``reason`` is that update's own reason (omitted for a
    creation or a plain cancel), never a reason left over from an earlier update of the order."""
    legacy_side, _ = legacy_side_action(order.side)
    msg: Payload = {
        "order_id": order.order_id,
        "user_id": user_id,
        "ticker": order.ticker,
        "exchange_index": EXCHANGE_INDEX,
        "status": order.status.value,
        "side": legacy_side.value,
        "is_yes": legacy_side is OutcomeSide.YES,
        "outcome_side": order.side.outcome_side.value,
        "book_side": order.side.value,
        "yes_price_dollars": Price(order.yes_price).dollars_str(),
        "fill_count_fp": Count(order.fill_count).fp_str(),
        "remaining_count_fp": Count(order.remaining_count).fp_str(),
        "initial_count_fp": Count(order.initial_count).fp_str(),
        "taker_fill_cost_dollars": Money(order.taker_fill_cost).dollars_str(6),
        "maker_fill_cost_dollars": Money(order.maker_fill_cost).dollars_str(6),
        "taker_fees_dollars": Money(order.taker_fees).dollars_str(6),
        "maker_fees_dollars": Money(order.maker_fees).dollars_str(6),
        "client_order_id": order.client_order_id,
        "self_trade_prevention_type": order.self_trade_prevention.value,
        "created_time": rfc3339(order.created_ms),
        "created_ts_ms": order.created_ms,
        "last_update_time": rfc3339(order.updated_ms),
        "last_updated_ts_ms": order.updated_ms,
        "subaccount_number": order.subaccount,
    }
    if order.order_group_id is not None:
        msg["order_group_id"] = order.order_group_id
    if order.expiration_ms is not None:
        msg["expiration_time"] = rfc3339(order.expiration_ms)
        msg["expiration_ts_ms"] = order.expiration_ms
    if reason is not UpdateReason.CREATED:
        msg["last_update_reason"] = reason.value
    return msg


def order_group_update(event: OrderGroupEvent) -> Payload:
    msg: Payload = {
        "event_type": event.event_type,
        "order_group_id": event.group.group_id,
        "ts_ms": event.ts_ms,
    }
    if event.event_type in ("created", "limit_updated"):
        msg["contracts_limit_fp"] = Count(event.group.contracts_limit).fp_str()
    return msg


# ----------------------------------------------------------------------------- lifecycle


def market_lifecycle(market: SimMarket, event_type: str, ts_ms: int) -> Payload:
    """Only the fields the spec attaches to ``event_type`` (all ``*_ts`` in Unix seconds)."""
    msg: Payload = {"market_ticker": market.ticker, "event_type": event_type}
    if event_type == "created":
        msg["exchange_index"] = EXCHANGE_INDEX
        msg["open_ts"] = market.open_ms // 1000
        msg["close_ts"] = market.close_ms // 1000
        msg["price_level_structure"] = market.grid.structure
        msg["price_ranges"] = [band.to_wire() for band in market.grid.bands]
        metadata: Payload = {
            "name": market.title,
            "title": market.title,
            "yes_sub_title": market.yes_sub_title,
            "no_sub_title": market.no_sub_title,
            "rules_primary": market.rules_primary,
            "rules_secondary": "",
            "can_close_early": market.can_close_early,
            "event_ticker": market.event_ticker,
            "expected_expiration_ts": market.close_ms // 1000,
            "strike_type": market.strike_type,
        }
        if market.floor_strike is not None:
            metadata["floor_strike"] = market.floor_strike
        msg["additional_metadata"] = metadata
    elif event_type == "close_date_updated":
        msg["close_ts"] = market.close_ms // 1000
    elif event_type == "determined":
        if market.result is not None:
            msg["result"] = market.result.value
        msg["determination_ts"] = (market.determined_ms or ts_ms) // 1000
        if market.settlement_value is not None:
            msg["settlement_value"] = Price(market.settlement_value).dollars_str()
    elif event_type == "settled":
        msg["settled_ts"] = (market.settled_ms or ts_ms) // 1000
    elif event_type in ("activated", "deactivated"):
        msg["is_deactivated"] = event_type == "deactivated"
    return msg


def event_lifecycle(event: SimEvent) -> Payload:
    return {
        "event_ticker": event.event_ticker,
        "exchange_index": EXCHANGE_INDEX,
        "title": event.title,
        "subtitle": event.sub_title,
        "collateral_return_type": "MECNET" if event.mutually_exclusive else "",
        "series_ticker": event.series_ticker,
    }


def event_fee_update(event: SimEvent) -> Payload:
    """An event's fee overrides after a scheduled change; ``null`` means cleared (series applies)."""
    mult = event.fee_multiplier_override
    return {
        "event_ticker": event.event_ticker,
        "fee_type_override": None if event.fee_type_override is None else event.fee_type_override.value,
        "fee_multiplier_override": None if mult is None else float(mult),
    }


# ----------------------------------------------------------------------------- command replies


def error_reply(
    code: int,
    text: str,
    command_id: int | None = None,
    *,
    sid: int | None = None,
    seq: int | None = None,
    market_tickers: list[str] | None = None,
) -> str:
    msg: Payload = {"code": code, "msg": text}
    if market_tickers:
        msg["market_tickers"] = market_tickers
    reply: Payload = {"type": "error"}
    if command_id:
        reply["id"] = command_id
    if sid is not None:
        reply["sid"] = sid
    if seq:
        reply["seq"] = seq
    reply["msg"] = msg
    return dumps(reply)


def reply(reply_type: str, command_id: int | None, **fields: object) -> str:
    """A command reply; ``id`` is omitted when the client sent none (or 0), as Kalshi does."""
    out: Payload = {}
    if command_id:
        out["id"] = command_id
    out["type"] = reply_type
    out.update({k: v for k, v in fields.items() if v is not None})
    return dumps(out)
