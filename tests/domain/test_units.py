"""Exact fixed-point units: parsing at the boundary, formatting back, and exact arithmetic."""

from __future__ import annotations

import contextlib
import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.domain.units import (
    COUNT_SCALE,
    MONEY_PER_PRICE_COUNT,
    MONEY_SCALE,
    ONE_CONTRACT,
    ONE_DOLLAR,
    PRICE_SCALE,
    ZERO_COUNT,
    ZERO_MONEY,
    ZERO_PRICE,
    Count,
    FixedPointError,
    Money,
    Price,
    display_dollars,
    div_round_up,
    notional,
    round_down_to,
    round_up_to,
)

BIG = 10**15
any_units = st.integers(min_value=-BIG, max_value=BIG)
price_units = st.integers(min_value=0, max_value=PRICE_SCALE)
positive = st.integers(min_value=1, max_value=10**9)


def untyped(value: object) -> Any:
    """Hand a deliberately wrong type to a typed API without a type-checker complaint."""
    return value


# --- scales ------------------------------------------------------------------------------------


def test_price_times_count_is_exactly_one_money_unit() -> None:
    assert PRICE_SCALE == 10_000
    assert COUNT_SCALE == 100
    assert MONEY_SCALE == 1_000_000
    assert MONEY_PER_PRICE_COUNT == 1


def test_named_constants_hold_their_values() -> None:
    assert Price.parse("1.00") == ONE_DOLLAR
    assert Price.parse("0") == ZERO_PRICE
    assert Count.parse("0.00") == ZERO_COUNT
    assert Money.parse("0") == ZERO_MONEY
    assert Count.parse("1") == ONE_CONTRACT
    assert type(ONE_DOLLAR) is Price
    assert type(ONE_CONTRACT) is Count
    assert type(ZERO_MONEY) is Money


# --- round trips --------------------------------------------------------------------------------


@given(any_units)
def test_price_dollars_str_round_trips_with_four_decimals(units: int) -> None:
    text = Price(units).dollars_str()
    assert re.fullmatch(r"-?\d+\.\d{4}", text), text
    assert Price.parse(text) == units
    assert type(Price.parse(text)) is Price


@given(any_units)
def test_count_fp_str_round_trips_with_two_decimals(units: int) -> None:
    text = Count(units).fp_str()
    assert re.fullmatch(r"-?\d+\.\d{2}", text), text
    assert Count.parse(text) == units
    assert type(Count.parse(text)) is Count


@given(any_units, st.integers(min_value=0, max_value=6))
def test_money_dollars_str_round_trips_at_any_width(units: int, decimals: int) -> None:
    text = Money(units).dollars_str(decimals)
    assert Money.parse(text) == units
    assert type(Money.parse(text)) is Money


@given(any_units)
def test_money_dollars_str_uses_four_decimals_unless_six_are_needed(units: int) -> None:
    text = Money(units).dollars_str()
    expected_decimals = 4 if units % 100 == 0 else 6
    assert re.fullmatch(rf"-?\d+\.\d{{{expected_decimals}}}", text), text


@given(any_units)
def test_money_dollars_str_with_zero_decimals_is_whole_dollars_when_exact(units: int) -> None:
    whole = units - units % MONEY_SCALE
    assert Money(whole).dollars_str(0) == str(whole // MONEY_SCALE)


@pytest.mark.parametrize(
    ("money", "decimals", "text"),
    [
        (Money(532_070_000), 4, "532.0700"),
        (Money(532_070_000), 2, "532.07"),
        (Money(1), 4, "0.000001"),
        (Money(-1), 4, "-0.000001"),
        (Money(-100), 2, "-0.000100"),
        (Money(-1_500_000), 2, "-1.50"),
        (Money(0), 4, "0.0000"),
        (Money(10_000), 2, "0.01"),
    ],
)
def test_money_dollars_str_examples(money: Money, decimals: int, text: str) -> None:
    assert money.dollars_str(decimals) == text


def test_reprs_show_the_wire_form() -> None:
    assert repr(Price(5600)) == "Price(0.5600)"
    assert repr(Count(1000)) == "Count(10.00)"
    assert repr(Money(532_070_000)) == "Money(532.0700)"
    assert repr(Money(-1)) == "Money(-0.000001)"


# --- accepted forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("0.56", 5600),
        ("0.5600", 5600),
        ("0.560000", 5600),  # trailing zeros carry no precision
        ("0.5", 5000),
        ("0.0001", 1),
        ("0.9999", 9999),
        ("1", 10_000),
        ("1.0000", 10_000),
        ("0", 0),
        ("0.00", 0),
        ("+0.56", 5600),
        (" 0.56 ", 5600),
        ("10", 100_000),
    ],
)
def test_price_parse_accepts_wire_forms(text: str, units: int) -> None:
    assert Price.parse(text) == units


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("10", 1000),
        ("10.0", 1000),
        ("10.00", 1000),
        ("10.000", 1000),
        ("0.01", 1),
        ("0.5", 50),
        ("1", 100),
        ("-3.50", -350),
        ("0", 0),
        ("123456789.99", 12_345_678_999),
    ],
)
def test_count_parse_accepts_wire_forms(text: str, units: int) -> None:
    assert Count.parse(text) == units


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("532.0700", 532_070_000),
        ("532.07", 532_070_000),
        ("0.000001", 1),
        ("0.010000", 10_000),
        ("-1.5", -1_500_000),
        ("10000", 10_000 * MONEY_SCALE),
        ("0", 0),
    ],
)
def test_money_parse_accepts_wire_forms(text: str, units: int) -> None:
    assert Money.parse(text) == units


# --- rejected forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0.56001", "0.00001", "0.99999", "1.00001", "0.123456"])
def test_price_parse_rejects_more_than_four_decimals(text: str) -> None:
    with pytest.raises(FixedPointError, match="decimal places"):
        Price.parse(text)


@pytest.mark.parametrize("text", ["1.001", "0.005", "10.001", "-0.001"])
def test_count_parse_rejects_more_than_two_decimals(text: str) -> None:
    with pytest.raises(FixedPointError, match="decimal places"):
        Count.parse(text)


@pytest.mark.parametrize("text", ["0.0000001", "1.0000005"])
def test_money_parse_rejects_more_than_six_decimals(text: str) -> None:
    with pytest.raises(FixedPointError, match="decimal places"):
        Money.parse(text)


GARBAGE = [
    "",
    " ",
    ".",
    ".5",
    "abc",
    "0.5.6",
    "1e-2",
    "1E2",
    "0x10",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "--1",
    "+-1",
    "1,5",
    "1 000",
    "0. 5",
    "$0.56",
    "0.56$",
    "1_000",
    "½",
]


@pytest.mark.parametrize("text", GARBAGE)
@pytest.mark.parametrize("parse", [Price.parse, Count.parse, Money.parse], ids=["price", "count", "money"])
def test_parse_rejects_garbage(parse: Any, text: str) -> None:
    with pytest.raises(FixedPointError):
        parse(text)


# Unicode digits are not part of a fixed-point wire string, but Python's \d and int() accept them.
NON_ASCII_DIGITS = ["١", "０.５６", "٠.٥٦", "१०"]


@pytest.mark.parametrize("parse", [Price.parse, Count.parse, Money.parse], ids=["price", "count", "money"])
def test_parse_rejects_non_ascii_digits(parse: Any) -> None:
    accepted = []
    for text in NON_ASCII_DIGITS:
        with contextlib.suppress(FixedPointError):
            accepted.append((text, parse(text)))
    assert accepted == []


@pytest.mark.parametrize("value", [0.56, 56, None, b"0.56", Decimal("0.56")])
@pytest.mark.parametrize("parse", [Price.parse, Count.parse, Money.parse], ids=["price", "count", "money"])
def test_parse_rejects_non_strings(parse: Any, value: object) -> None:
    with pytest.raises(FixedPointError, match="decimal string"):
        parse(value)


def test_fixed_point_error_is_a_value_error() -> None:
    assert issubclass(FixedPointError, ValueError)


# --- constructors take integers only ------------------------------------------------------------

NOT_INTEGERS = [0.5, 1.0, True, False, "5600", None, Decimal("1"), Fraction(1), 1 + 0j]


@pytest.mark.parametrize("value", NOT_INTEGERS)
@pytest.mark.parametrize("cls", [Price, Count, Money])
def test_constructors_reject_non_integers(cls: type[int], value: object) -> None:
    with pytest.raises(TypeError):
        cls(untyped(value))


@pytest.mark.parametrize("value", [0.5, 1.0, True, False, "1", None])
@pytest.mark.parametrize(
    "factory",
    [Price.from_cents, Count.contracts, Money.dollars, Money.from_cents],
    ids=["price.from_cents", "count.contracts", "money.dollars", "money.from_cents"],
)
def test_factories_reject_non_integers(factory: Any, value: object) -> None:
    with pytest.raises(TypeError):
        factory(value)


@pytest.mark.parametrize("cls", [Price, Count, Money])
def test_constructors_accept_integers_and_keep_the_type(cls: type[int]) -> None:
    value = cls(42)
    assert value == 42
    assert type(value) is cls
    assert type(cls(Price(7))) is cls


def test_factories_scale_to_units() -> None:
    assert Price.from_cents(56) == Price(5600) == Price.parse("0.56")
    assert Count.contracts(3) == Count(300) == Count.parse("3")
    assert Money.dollars(2) == Money(2_000_000)
    assert Money.from_cents(-5) == Money(-50_000)
    assert type(Price.from_cents(1)) is Price
    assert type(Count.contracts(1)) is Count
    assert type(Money.dollars(1)) is Money
    assert type(Money.from_cents(1)) is Money


@given(any_units)
def test_cents_floor_rounds_toward_minus_infinity(units: int) -> None:
    cents = Money(units).cents_floor()
    assert cents * 10_000 <= units < (cents + 1) * 10_000


@pytest.mark.parametrize(
    ("units", "cents"), [(0, 0), (9_999, 0), (10_000, 1), (19_999, 1), (-1, -1), (-10_000, -1), (-10_001, -2)]
)
def test_cents_floor_examples(units: int, cents: int) -> None:
    assert Money(units).cents_floor() == cents


# --- YES / NO complement ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "no"),
    [
        ("0.42", "0.58"),
        ("0.01", "0.99"),
        ("0.99", "0.01"),
        ("0.50", "0.50"),
        ("0.0001", "0.9999"),
        ("0.999", "0.001"),
        ("0.1234", "0.8766"),
        ("0", "1"),
        ("1", "0"),
    ],
)
def test_no_price_is_one_minus_yes_price(yes: str, no: str) -> None:
    assert Price.parse(yes).complement() == Price.parse(no)
    assert Price.parse(no).complement() == Price.parse(yes)
    assert type(Price.parse(yes).complement()) is Price


def test_complement_is_not_ninety_nine_cents_minus_price() -> None:
    yes = Price.parse("0.42")
    assert yes.complement() != Price.parse("0.99") - yes
    assert yes.complement() == ONE_DOLLAR - yes


@given(price_units)
def test_complement_is_an_involution_that_sums_to_one_dollar(units: int) -> None:
    price = Price(units)
    assert price + price.complement() == PRICE_SCALE
    assert price.complement().complement() == price


# --- exact notional -----------------------------------------------------------------------------


@given(any_units, any_units)
def test_notional_equals_price_times_count_exactly(price_u: int, count_u: int) -> None:
    money = notional(Price(price_u), Count(count_u))
    assert type(money) is Money
    assert Fraction(money, MONEY_SCALE) == Fraction(price_u, PRICE_SCALE) * Fraction(count_u, COUNT_SCALE)


@pytest.mark.parametrize(
    ("price", "count", "money"),
    [
        ("0.56", "10", "5.60"),
        ("0.5600", "10.00", "5.6"),
        ("0.0001", "0.01", "0.000001"),
        ("0.1234", "0.37", "0.045658"),
        ("0.99", "1000000", "990000"),
        ("1", "-3.5", "-3.5"),
    ],
)
def test_notional_examples(price: str, count: str, money: str) -> None:
    assert notional(Price.parse(price), Count.parse(count)) == Money.parse(money)


# --- integer rounding helpers ------------------------------------------------------------------


@given(any_units, positive)
def test_div_round_up_is_the_ceiling(numerator: int, denominator: int) -> None:
    quotient = div_round_up(numerator, denominator)
    assert quotient == math.ceil(Fraction(numerator, denominator))
    assert quotient * denominator >= numerator
    assert (quotient - 1) * denominator < numerator


@pytest.mark.parametrize(
    ("numerator", "denominator", "quotient"), [(7, 2, 4), (-7, 2, -3), (6, 3, 2), (0, 5, 0)]
)
def test_div_round_up_examples(numerator: int, denominator: int, quotient: int) -> None:
    assert div_round_up(numerator, denominator) == quotient


@pytest.mark.parametrize("denominator", [0, -1, -100])
def test_div_round_up_rejects_non_positive_denominators(denominator: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        div_round_up(10, denominator)


@given(any_units, positive)
def test_round_down_to_is_the_largest_multiple_not_above(value: int, step: int) -> None:
    rounded = round_down_to(value, step)
    assert rounded % step == 0
    assert rounded <= value < rounded + step


@given(any_units, positive)
def test_round_up_to_is_the_smallest_multiple_not_below(value: int, step: int) -> None:
    rounded = round_up_to(value, step)
    assert rounded % step == 0
    assert rounded - step < value <= rounded


@given(any_units, positive)
def test_rounding_is_identity_exactly_on_multiples(value: int, step: int) -> None:
    on_step = value * step
    assert round_down_to(on_step, step) == on_step
    assert round_up_to(on_step, step) == on_step


@pytest.mark.parametrize("step", [0, -1])
def test_rounding_rejects_non_positive_steps(step: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        round_down_to(10, step)
    with pytest.raises(ValueError, match="positive"):
        round_up_to(10, step)


@pytest.mark.parametrize(
    ("money", "shown"),
    [
        (9_997_730_200, "$9,997.73"),
        (-5, "$0.00"),
        (-1_235_000, "-$1.24"),
        (0, "$0.00"),
        (1_234_567_890_000, "$1,234,567.89"),
    ],
)
def test_display_dollars_rounds_to_the_cent_with_separators(money: int, shown: str) -> None:
    assert display_dollars(money) == shown
