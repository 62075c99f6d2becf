"""Turn ledger events, calibration reports and status entries into plain row dicts, at once.

Ledger events point at live records (``trader.events``): by the time the writer thread runs, the
order or position may have moved on. So everything here runs on the caller's thread, at the moment
of the event, and copies integers and strings out -- nothing returned shares state with the ledger.

The calibration report and status entry contracts are duck-typed so the store does not depend on
how ``trader/calibration/reconcile.py`` or the lifecycle shape their values. Each field is read as an attribute
or, for a ``Mapping``, as a key:

* report: ``started_ms: int``, ``duration_ms: int``, ``ok: bool``, ``rest_calls: int``, optional
  ``failure_reason: str | None``, ``cash_drift_e6: int`` (or ``cash_drift``; default 0),
  ``steps`` (a sequence of dataclasses/mappings, stored as JSON text) and ``drift`` (or ``drifts``;
  a sequence of drift values).
* drift value: ``kind`` (str or StrEnum), optional ``ticker``, ``detail``, and the sizes
  ``count_e2`` (contracts) and ``money_e6`` (money) -- read at top level or inside a ``sizes``
  mapping. All of its fields, sizes included, are also kept in ``extra_json``.
* status entry: ``ts_ms``, ``status``, ``result_text``, optional ``duration_ms`` and
  ``previous_status_ms``.

Sizes must be ints (``Money``/``Count`` are); a float or bool is refused rather than rounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

from kalshiflow.events.ledger import (
    CashChanged,
    FillBooked,
    OrderChanged,
    PositionChanged,
    SettlementBooked,
)
from kalshiflow.events.schema import jsonable, to_json

Row = dict[str, Any]

_MISSING: Final = object()
_DRIFT_COLUMNS: Final = ("kind", "ticker", "detail", "count_e2", "money_e6")


class ContractError(ValueError):
    """A report, drift value or status entry lacks a field or carries a non-integer size."""


def order_row(event: OrderChanged) -> Row:
    order = event.order
    return {
        "client_order_id": order.client_order_id,
        "order_id": order.order_id,
        "ticker": order.ticker,
        "side": order.side.value,
        "yes_price_e4": int(order.yes_price),
        "count_e2": int(order.count),
        "filled_e2": int(order.filled),
        "remaining_e2": int(order.remaining),
        "state": order.state.value,
        "purpose": order.purpose.value,
        "close_reason": order.close_reason,
        "reduce_only": bool(order.reduce_only),
        "order_group_id": order.order_group_id,
        "created_ms": int(order.created_ms),
        "updated_ms": int(max(order.updated_ms, order.created_ms)),  # pending orders have no update yet
        "detail": order.detail,
        "fees_e6": int(order.fees),
        "reserved_e6": int(order.reserved),
    }


_EVENT_FIELDS: Final = ("state", "yes_price_e4", "count_e2", "filled_e2", "remaining_e2", "detail")


def order_event_key(row: Row) -> tuple[Any, ...]:
    """What makes a new history step: the ledger re-announces orders whose state did not change."""
    return tuple(row[name] for name in _EVENT_FIELDS)


def order_event_row(row: Row, ts_ms: int) -> Row:
    event = {name: row[name] for name in _EVENT_FIELDS}
    event["client_order_id"] = row["client_order_id"]
    event["ts_ms"] = int(ts_ms)
    return event


def fill_row(event: FillBooked) -> Row:
    fill, order = event.fill, event.order
    client_order_id = fill.client_order_id or (order.client_order_id if order is not None else None)
    return {
        "trade_id": fill.trade_id,
        "order_id": fill.order_id,
        "client_order_id": client_order_id,
        "ticker": fill.ticker,
        "side": fill.side.value,
        "yes_price_e4": int(fill.yes_price),
        "count_e2": int(fill.count),
        "is_taker": bool(fill.is_taker),
        "fee_e6": int(fill.fee),
        "ts_ms": int(fill.ts_ms),
        "source": fill.source,
        "close_reason": order.close_reason if order is not None else None,
    }


def position_row(event: PositionChanged) -> Row:
    position = event.position
    return {
        "ticker": position.ticker,
        "ts_ms": int(event.ts_ms),
        "position_e2": int(position.position),
        "cost_basis_e6": int(position.cost_basis),
        "realized_pnl_e6": int(position.realized_pnl),
        "fees_paid_e6": int(position.fees_paid),
        "opened_at_ms": _opt_int(position.opened_at_ms),
        "last_fill_ms": _opt_int(position.last_fill_ms),
    }


def cash_row(event: CashChanged) -> Row:
    return {"ts_ms": int(event.ts_ms), "cash_e6": int(event.cash), "cause": event.cause}


def settlement_row(event: SettlementBooked) -> Row:
    settlement = event.settlement
    return {
        "ticker": settlement.ticker,
        "result": settlement.result,
        "revenue_e6": int(settlement.revenue),
        "settled_ms": int(settlement.settled_ms),
    }


def calibration_rows(report: object) -> tuple[Row, list[Row]]:
    """The ``calibration_reports`` row and its ``drift_events`` rows (without ``report_id``)."""
    drift = _field(report, "drift", None)
    if drift is None:
        drift = _field(report, "drifts", ())
    drift_rows = [drift_row(value) for value in drift]
    cash_drift = _field(report, "cash_drift_e6", None)
    if cash_drift is None:
        cash_drift = _field(report, "cash_drift", 0)
    failure_reason = _field(report, "failure_reason", None)
    report_row = {
        "started_ms": _int(_field(report, "started_ms"), "started_ms"),
        "duration_ms": _int(_field(report, "duration_ms"), "duration_ms"),
        "ok": _bool(_field(report, "ok"), "ok"),
        "failure_reason": None if failure_reason is None else str(failure_reason),
        "rest_calls": _int(_field(report, "rest_calls"), "rest_calls"),
        "cash_drift_e6": _int(cash_drift, "cash_drift_e6"),
        "drift_count": len(drift_rows),
        "steps_json": to_json(_field(report, "steps", ())),
    }
    return report_row, drift_rows


def drift_row(value: object) -> Row:
    sizes = _field(value, "sizes", None)
    ticker = _field(value, "ticker", None)

    def size(name: str) -> int | None:
        found = _field(value, name, None)
        if found is None and sizes is not None:
            found = _field(sizes, name, None)
        return None if found is None else _int(found, name)

    extra = jsonable(value)
    if isinstance(extra, dict):
        extra = {key: item for key, item in extra.items() if key not in _DRIFT_COLUMNS}
    return {
        "kind": _text(_field(value, "kind")),
        "ticker": None if ticker is None else str(ticker),
        "detail": _text(_field(value, "detail", "")),
        "count_e2": size("count_e2"),
        "money_e6": size("money_e6"),
        "extra_json": to_json(extra),
    }


def status_row(entry: object) -> Row:
    duration = _field(entry, "duration_ms", None)
    previous = _field(entry, "previous_status_ms", None)
    return {
        "ts_ms": _int(_field(entry, "ts_ms"), "ts_ms"),
        "status": _text(_field(entry, "status")),
        "result_text": _text(_field(entry, "result_text", "")),
        "duration_ms": None if duration is None else _int(duration, "duration_ms"),
        "previous_status_ms": None if previous is None else _int(previous, "previous_status_ms"),
    }


def _field(obj: object, name: str, default: Any = _MISSING) -> Any:
    found = obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)
    if found is _MISSING:
        raise ContractError(f"{type(obj).__name__} has no field {name!r}")
    return found


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ContractError(f"{name} must be an integer, got {type(value).__name__}")
    return int(value)


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ContractError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def _opt_int(value: int | None) -> int | None:
    return None if value is None else int(value)


def _text(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)
