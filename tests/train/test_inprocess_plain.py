"""The in-process client's copy of a reply or body is exactly what a JSON round trip gives."""

from __future__ import annotations

import enum
import json
import math

import pytest

from kalshiflow.train.inprocess import _plain


def _round_trip(value: object) -> object:
    return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")))


class _Side(enum.StrEnum):
    YES = "yes"


class _Size(enum.IntEnum):
    TEN = 10


def _same(a: object, b: object) -> bool:
    """Equal with the same types all the way down (``1 == True == 1.0`` in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, float):
        return math.copysign(1.0, a) == math.copysign(1.0, b) and a == b  # type: ignore[arg-type]
    return a == b


VALUES: list[object] = [
    {
        "markets": [{"ticker": "T-1", "yes_bid_dollars": "0.5600", "volume": 3, "ok": True, "x": None}],
        "cursor": "",
    },
    {"price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}], "n": [1, [2, [3, "é\u2028"]]]},
    {"side": _Side.YES, "count": _Size.TEN},  # enums: the round trip makes plain str and int
    {"tuple": (1, 2), "nested": [(3, {"k": (4,)})]},  # tuples become lists
    {1: "int key", None: "null key", 2.5: "float key"},  # keys become text
    {"f": 0.1, "neg_zero": -0.0, "big": 1e300, "small": 5e-324},
    [True, False, None, 0, -1, 10**30, "", "\x00"],
    "text",
    7,
    None,
]


@pytest.mark.parametrize("value", VALUES)
def test_the_copy_is_what_the_round_trip_gives_types_included(value: object) -> None:
    assert _same(_plain(value), _round_trip(value))


def test_containers_are_copied_never_shared() -> None:
    value = {"a": {"b": [1, {"c": []}]}}
    copied = _plain(value)
    assert copied == value
    assert copied is not value
    assert copied["a"] is not value["a"]  # type: ignore[index]
    assert copied["a"]["b"] is not value["a"]["b"]  # type: ignore[index]
    assert copied["a"]["b"][1]["c"] is not value["a"]["b"][1]["c"]  # type: ignore[index]


@pytest.mark.parametrize("value", [{"x": math.nan}, [math.inf], {"y": [-math.inf]}])
def test_what_the_round_trip_refuses_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        _plain(value)


def test_a_cycle_is_refused_as_the_round_trip_refuses_it() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference detected"):
        _plain(cycle)
