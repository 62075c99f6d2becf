"""Portfolio records and order-mutation responses rendered as Kalshi's REST API shapes them.

Pure functions (reference §5.2-§5.6, §7). Money is exact: ``*_dollars`` fields widen to 6 decimals
rather than round, and the few integer-cent fields the spec still carries (balance,
``portfolio_value``, settlement ``revenue``/``value``) are floored to whole cents. Orders also carry
the deprecated ``side``/``action`` pair, reported in YES terms like Kalshi does for V2 orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kalshiflow.domain.orders import legacy_side_action
from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim import wire
from kalshiflow.sim.state import Account, Fill, OrderGroup, Position, Settlement, SimOrder
from kalshiflow.sim.wire import JsonObject


def order(o: SimOrder, user_id: str) -> JsonObject:
    legacy_side, legacy_action = legacy_side_action(o.side)
    return {
        "order_id": o.order_id,
        "user_id": user_id,
        "client_order_id": o.client_order_id,
        "ticker": o.ticker,
        "side": legacy_side.value,
        "action": legacy_action.value,
        "outcome_side": o.side.outcome_side.value,
        "book_side": o.side.value,
        "type": "limit",
        "status": o.status.value,
        "yes_price_dollars": wire.price(o.yes_price),
        "no_price_dollars": wire.price(PRICE_SCALE - o.yes_price),
        "fill_count_fp": wire.count(o.fill_count),
        "remaining_count_fp": wire.count(o.remaining_count),
        "initial_count_fp": wire.count(o.initial_count),
        "taker_fill_cost_dollars": wire.money(o.taker_fill_cost),
        "maker_fill_cost_dollars": wire.money(o.maker_fill_cost),
        "taker_fees_dollars": wire.money(o.taker_fees),
        "maker_fees_dollars": wire.money(o.maker_fees),
        "expiration_time": wire.ts_or_none(o.expiration_ms),
        "created_time": wire.ts(o.created_ms),
        "last_update_time": wire.ts(o.updated_ms or o.created_ms),
        "self_trade_prevention_type": o.self_trade_prevention.value,
        "order_group_id": o.order_group_id,
        "cancel_order_on_pause": o.cancel_order_on_pause,
        "subaccount_number": o.subaccount,
        "exchange_index": 0,
    }


def fill(f: Fill) -> JsonObject:
    legacy_side, legacy_action = legacy_side_action(f.side)
    return {
        "fill_id": f.trade_id,
        "trade_id": f.trade_id,
        "order_id": f.order_id,
        "ticker": f.ticker,
        "market_ticker": f.ticker,
        "side": legacy_side.value,
        "action": legacy_action.value,
        "outcome_side": f.side.outcome_side.value,
        "book_side": f.side.value,
        "count_fp": wire.count(f.count),
        "yes_price_dollars": wire.price(f.yes_price),
        "no_price_dollars": wire.price(PRICE_SCALE - f.yes_price),
        "is_taker": f.is_taker,
        "created_time": wire.ts(f.ts_ms),
        "fee_cost": wire.money(f.fee),
        "subaccount_number": f.subaccount,
        "ts": f.ts_ms // 1000,
        "exchange_index": 0,
    }


def market_position(ticker: str, pos: Position) -> JsonObject:
    return {
        "ticker": ticker,
        "exchange_index": 0,
        "total_traded_dollars": wire.money(pos.total_traded),
        "position_fp": wire.count(pos.position),
        "market_exposure_dollars": wire.money(pos.cost),
        "realized_pnl_dollars": wire.money(pos.realized_pnl),
        "fees_paid_dollars": wire.money(pos.fees_paid),
        "last_updated_ts": wire.ts(pos.last_updated_ms),
    }


def event_position(event_ticker: str, positions: Iterable[Position]) -> JsonObject:
    rows = list(positions)
    return {
        "event_ticker": event_ticker,
        "total_cost_dollars": wire.money(sum(p.total_traded for p in rows)),
        "total_cost_shares_fp": wire.count(sum(p.volume for p in rows)),
        "event_exposure_dollars": wire.money(sum(p.cost for p in rows)),
        "realized_pnl_dollars": wire.money(sum(p.realized_pnl for p in rows)),
        "fees_paid_dollars": wire.money(sum(p.fees_paid for p in rows)),
    }


def settlement(s: Settlement) -> JsonObject:
    return {
        "ticker": s.ticker,
        "exchange_index": 0,
        "event_ticker": s.event_ticker,
        "market_result": s.result.value,
        "yes_count_fp": wire.count(s.yes_count),
        "yes_total_cost_dollars": wire.money(s.yes_total_cost),
        "no_count_fp": wire.count(s.no_count),
        "no_total_cost_dollars": wire.money(s.no_total_cost),
        "revenue": wire.cents(s.revenue),
        "settled_time": wire.ts(s.settled_ms),
        "fee_cost": wire.money(s.fee_cost),
        "value": None if s.value is None else s.value // 100,
    }


def balance(account: Account, portfolio_value: int, now_ms: int) -> JsonObject:
    """``portfolio_value`` is Money: the positions marked at the best bid of the held side."""
    return {
        "balance": wire.cents(account.balance),
        "balance_dollars": wire.money(account.balance),
        "portfolio_value": wire.cents(portfolio_value),
        "updated_ts": (account.updated_ms or now_ms) // 1000,
        "balance_breakdown": [{"exchange_index": 0, "balance": wire.money(account.balance)}],
    }


def _averages(fills: Sequence[Fill]) -> JsonObject:
    """Volume-weighted average YES price and fee per contract, to the micro-dollar (half up)."""
    total = sum(f.count for f in fills)
    if total == 0:
        return {}
    # Price x Count is Money; per whole contract that is x 100 / (count in 0.01 contracts).
    notional = sum(f.yes_price * f.count for f in fills) * 100
    fees = sum(f.fee for f in fills) * 100
    return {
        "average_fill_price": wire.money((2 * notional + total) // (2 * total)),
        "average_fee_paid": wire.money((2 * fees + total) // (2 * total)),
    }


def create_response(o: SimOrder, fills: Sequence[Fill], ts_ms: int) -> JsonObject:
    body: JsonObject = {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "fill_count": wire.count(sum(f.count for f in fills)),
        "remaining_count": wire.count(o.remaining_count),
    }
    body.update(_averages(fills))
    body["ts_ms"] = ts_ms
    return body


def amend_response(o: SimOrder, fills: Sequence[Fill], ts_ms: int) -> JsonObject:
    """``fill_count`` counts what this amend matched (the order's total is on the Order)."""
    return create_response(o, fills, ts_ms)


def decrease_response(o: SimOrder, ts_ms: int) -> JsonObject:
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "remaining_count": wire.count(o.remaining_count),
        "ts_ms": ts_ms,
    }


def cancel_response(o: SimOrder, reduced_by: int, ts_ms: int) -> JsonObject:
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "reduced_by": wire.count(reduced_by),
        "ts_ms": ts_ms,
    }


def order_group(g: OrderGroup) -> JsonObject:
    return {
        "id": g.group_id,
        "contracts_limit_fp": wire.count(g.contracts_limit),
        "is_auto_cancel_enabled": True,
        "exchange_index": 0,
    }


def order_group_detail(g: OrderGroup, order_ids: list[str]) -> JsonObject:
    return {
        "is_auto_cancel_enabled": True,
        "contracts_limit_fp": wire.count(g.contracts_limit),
        "orders": order_ids,
        "exchange_index": 0,
    }
