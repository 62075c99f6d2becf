"""JSON for the bus's events: their wire names, a JSON Schema generated from each class, and the
conversion of a value to JSON-ready builtins.

One definition, no drift: the dataclasses in ``events.ledger`` and ``events.trader`` are the only
place an event's fields are written down; the schema the dashboard validates against and the JSON a
subscriber sends are both derived from them here. Exact units stay exact: ``Money``, ``Price`` and
``Count`` become JSON integers in their own units (named in the schema's descriptions), never floats.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.ledger import CashChanged, FillBooked, OrderChanged, PositionChanged, SettlementBooked
from kalshiflow.events.trader import (
    BookChanged,
    CalibrationCompleted,
    InitializationStep,
    QueuePositionChanged,
    RiskDenied,
    StatusEntry,
    StreamHealth,
    TraderAction,
)

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

# Wire names, as the dashboard and external consumers know them (``trader_action`` and
# ``position_update`` keep the names the first dashboard used).
EVENT_NAMES: Final[Mapping[type, str]] = {
    TraderAction: "trader_action",
    PositionChanged: "position_update",
    OrderChanged: "order_update",
    FillBooked: "fill",
    CashChanged: "cash",
    SettlementBooked: "settlement",
    StatusEntry: "trader_status",
    CalibrationCompleted: "calibration",
    InitializationStep: "initialization",
    StreamHealth: "stream",
    RiskDenied: "risk_denial",
    BookChanged: "book_changed",
    QueuePositionChanged: "queue_position",
}

_UNITS: Final[Mapping[type, str]] = {
    Money: "money in units of $0.000001",
    Price: "price in units of $0.0001 (a YES price unless the field says otherwise)",
    Count: "contracts in units of 0.01 contract",
}


def event_name(event: object) -> str:
    return EVENT_NAMES[type(event)]


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema (2020-12) of the event class ``cls``, as ``to_message`` writes it."""
    schema = _object_schema(cls)
    return {"$schema": JSON_SCHEMA_DIALECT, "title": EVENT_NAMES.get(cls, cls.__name__), **schema}


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every event's schema by wire name (what the dashboard serves and validates against)."""
    return {name: json_schema(cls) for cls, name in EVENT_NAMES.items()}


def to_message(event: object) -> dict[str, Any]:
    """``{"type": <wire name>, "data": {...}}`` for one event."""
    return {"type": event_name(event), "data": jsonable(event)}


def jsonable(value: object) -> Any:
    """``value`` as JSON-ready builtins: dataclasses and mappings become dicts, enums their value,
    ``int`` subclasses (``Money``, ``Count``, ``Price``) plain ints -- exact, never floats."""
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, int):
        return int(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(jsonable(key)): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return str(value)


def to_json(value: object) -> str:
    return json.dumps(jsonable(value), separators=(",", ":"), allow_nan=False)


def _object_schema(cls: type) -> dict[str, Any]:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    required = [
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    return {
        "type": "object",
        "properties": {f.name: _schema_of(hints[f.name]) for f in fields},
        "required": required,
        "additionalProperties": False,
    }


def _schema_of(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_of(arg) for arg in typing.get_args(tp)]}
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _schema_of(args[0])}
        return {"type": "array", "prefixItems": [_schema_of(a) for a in args], "items": False}
    if tp is type(None):
        return {"type": "null"}
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            return {"type": "string", "enum": [member.value for member in tp]}
        if tp in _UNITS:
            return {"type": "integer", "description": _UNITS[tp]}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        if dataclasses.is_dataclass(tp):
            return {"title": tp.__name__, **_object_schema(tp)}
    raise TypeError(f"no JSON Schema for {tp!r}")
