"""Every bus event has a JSON Schema generated from its one definition, and its JSON matches it."""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from typing import Any

import jsonschema
import pytest

from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.schema import EVENT_NAMES, all_schemas, json_schema, to_message

EVENT_TYPES = sorted(EVENT_NAMES, key=lambda cls: EVENT_NAMES[cls])


def example(tp: Any, variant: int) -> Any:
    """A value of type ``tp``; variant 0 fills optionals, variant 1 leaves them None."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if variant == 1 and len(args) < len(typing.get_args(tp)) else example(args[0], variant)
    if origin is tuple:
        return (example(typing.get_args(tp)[0], variant),)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return list(tp)[-1]
    if tp in (Money, Price, Count):
        return tp(1234)
    if tp is bool:
        return True
    if tp is int:
        return 42
    if tp is float:
        return 0.5
    if tp is str:
        return "text"
    if dataclasses.is_dataclass(tp):
        return build(tp, variant)
    raise AssertionError(f"no example for {tp!r}")


def build(cls: Any, variant: int) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: example(hints[f.name], variant) for f in dataclasses.fields(cls)})


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: EVENT_NAMES[cls])
@pytest.mark.parametrize("variant", [0, 1], ids=["filled", "optionals_none"])
def test_every_event_serialises_to_json_its_schema_accepts(cls: type, variant: int) -> None:
    schema = json_schema(cls)
    jsonschema.Draft202012Validator.check_schema(schema)
    message = to_message(build(cls, variant))
    assert message["type"] == EVENT_NAMES[cls]
    jsonschema.validate(message["data"], schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: EVENT_NAMES[cls])
def test_the_schema_refuses_a_missing_field_and_an_unknown_one(cls: type) -> None:
    schema = json_schema(cls)
    data = to_message(build(cls, 0))["data"]
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in data.items() if k != first}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "surprise": 1}, schema)


def test_money_stays_an_exact_integer_in_its_unit() -> None:
    from kalshiflow.events.ledger import CashCause, CashChanged

    message = to_message(CashChanged(Money(1_234_567_891), 5, CashCause.FILL))
    assert message == {"type": "cash", "data": {"cash": 1_234_567_891, "ts_ms": 5, "cause": "fill"}}
    assert "0.000001" in json_schema(CashChanged)["properties"]["cash"]["description"]


def test_the_seed_message_names_are_kept_and_every_name_is_unique() -> None:
    schemas = all_schemas()
    assert {"trader_action", "position_update"} <= set(schemas)
    assert len(schemas) == len(EVENT_NAMES)
    assert "closing_reason" in schemas["position_update"]["properties"]["position"]["properties"]
