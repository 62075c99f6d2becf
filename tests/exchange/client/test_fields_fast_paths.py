"""``Fields``' one-lookup fast paths accept exactly what the full checks accept, and refuse the rest
with the full checks' messages (a ``bool`` is an ``int`` to Python, never to the wire)."""

from __future__ import annotations

import enum

import pytest

from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.models_wire import Fields, WireFormatError


class _Number(enum.IntEnum):
    SEVEN = 7


class _Text(enum.StrEnum):
    WORD = "word"


@pytest.mark.parametrize(
    ("accessor", "value", "message"),
    [
        ("integer", True, "X.v: expected an integer, got a boolean"),
        ("opt_integer", False, "X.v: expected an integer, got a boolean"),
        ("integer", "7", "X.v: expected an integer, got a string"),
        ("opt_integer", 7.0, "X.v: expected an integer, got a number"),
        ("flag", 1, "X.v: expected a boolean, got a number"),
        ("opt_flag", 0, "X.v: expected a boolean, got a number"),
        ("text", 7, "X.v: expected a string, got a number"),
        ("opt_text", True, "X.v: expected a string, got a boolean"),
        ("price", 0.5, "X.v: expected a decimal string, got a number"),
        ("opt_price", 5000, "X.v: expected a decimal string, got a number"),
        ("count", True, "X.v: expected a decimal string, got a boolean"),
        ("opt_count", 100, "X.v: expected a decimal string, got a number"),
        ("time_ms", 1_700_000_000_000, "X.v: expected a string, got a number"),
        ("opt_time_ms", "yesterday", "X.v: 'yesterday' is not an RFC 3339 time"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_the_full_checks_message(
    accessor: str, value: object, message: str
) -> None:
    with pytest.raises(WireFormatError) as excinfo:
        getattr(Fields({"v": value}, "X"), accessor)("v")
    assert str(excinfo.value) == message


@pytest.mark.parametrize("accessor", ["integer", "flag", "text", "price", "count", "time_ms"])
def test_a_missing_or_null_required_field_is_refused(accessor: str) -> None:
    with pytest.raises(WireFormatError, match=r"^X\.v: missing required field$"):
        getattr(Fields({}, "X"), accessor)("v")
    with pytest.raises(WireFormatError, match=r"^X\.v: required field is null$"):
        getattr(Fields({"v": None}, "X"), accessor)("v")


def test_absent_and_null_optional_fields_give_their_defaults() -> None:
    for raw in ({}, {"v": None}):
        f = Fields(raw, "X")
        assert f.opt_text("v", "d") == "d"
        assert f.opt_integer("v", 3) == 3
        assert f.opt_flag("v", True) is True
        assert f.opt_price("v") is None
        assert f.opt_count("v") is None
        assert f.opt_time_ms("v") is None


def test_values_of_the_wanted_type_and_its_subclasses_are_read_as_before() -> None:
    f = Fields(
        {"n": 7, "e": _Number.SEVEN, "s": "x", "w": _Text.WORD, "b": False, "p": "0.5600", "c": "2.00"}, "X"
    )
    assert f.integer("n") == 7
    assert f.opt_integer("n") == 7
    assert f.integer("e") is _Number.SEVEN  # a subclass takes the full checks, which accept it
    assert f.text("s") == "x"
    assert f.opt_text("s") == "x"
    assert f.text("w") is _Text.WORD
    assert f.flag("b") is False
    assert f.opt_flag("b", True) is False
    for _ in range(2):  # parsed, then from the text cache
        price, count = f.price("p"), f.count("c")
        assert (price, type(price), count, type(count)) == (Price(5600), Price, Count(200), Count)
        assert f.opt_price("p") == Price(5600)
        assert f.opt_count("c") == Count(200)
