"""Exact fixed-point quantities: prices, contract counts and money.

Kalshi sends prices and money as fixed-point dollar strings (``"0.5600"``) and contract counts as
fixed-point strings with two decimals (``"10.00"``). They are parsed once, at the boundary, into
integers of a fixed unit and stay integers everywhere:

* ``Price``  -- dollars per contract in units of $0.0001 (``"0.5600"`` -> ``Price(5600)``)
* ``Count``  -- contracts in units of 0.01 contract (``"10.00"`` -> ``Count(1000)``)
* ``Money``  -- dollars in units of $0.000001 (``"532.0700"`` -> ``Money(532_070_000)``)

``Price x Count`` is exactly ``Money`` (1e-4 * 1e-2 = 1e-6), so notional values never round.
The types subclass ``int`` so the matching engine can use them at int speed; constructors reject
floats and bools, and parsing rejects any string that carries more precision than the unit holds
instead of silently rounding it.
"""

from __future__ import annotations

import re
from typing import Final

PRICE_SCALE: Final = 10_000  # units of $0.0001 per dollar
COUNT_SCALE: Final = 100  # units of 0.01 contract per contract
MONEY_SCALE: Final = 1_000_000  # units of $0.000001 per dollar
MONEY_PER_PRICE_COUNT: Final = MONEY_SCALE // (PRICE_SCALE * COUNT_SCALE)  # == 1

_DECIMAL_RE: Final = re.compile(r"^([+-]?)([0-9]+)(?:\.([0-9]*))?$")  # ASCII digits only


class FixedPointError(ValueError):
    """A fixed-point string or value could not be represented exactly in its unit."""


def _parse_scaled(text: str, decimals: int, what: str) -> int:
    if not isinstance(text, str):
        raise FixedPointError(f"{what} must be a decimal string, got {type(text).__name__}")
    match = _DECIMAL_RE.match(text.strip())
    if match is None:
        raise FixedPointError(f"{what} {text!r} is not a decimal number")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    significant = frac.rstrip("0")
    if len(significant) > decimals:
        raise FixedPointError(f"{what} {text!r} has more than {decimals} decimal places")
    scale: int = 10**decimals
    value = int(whole) * scale + (int(significant.ljust(decimals, "0")) if decimals else 0)
    return -value if sign == "-" else value


def _format_scaled(value: int, decimals: int) -> str:
    sign = "-" if value < 0 else ""
    magnitude = -value if value < 0 else value
    whole, frac = divmod(magnitude, 10**decimals)
    if decimals == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{decimals}d}"


def _check_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} takes an integer number of units, not {type(value).__name__}")
    return int(value)


# The three constructors run dozens of times per trading decision: a plain ``int`` (the common case)
# goes straight to ``int.__new__`` (no ``super()`` object, no helper call: ~40% of the cost); bools,
# floats and everything else still go through ``_check_int``'s refusal.
_int_new = int.__new__


class Price(int):
    """A price in $0.0001 per contract. Valid trading prices lie strictly between 0 and 1 dollar."""

    __slots__ = ()

    def __new__(cls, units: int) -> Price:
        if type(units) is int:
            return _int_new(cls, units)
        return _int_new(cls, _check_int(units, "Price"))

    @classmethod
    def parse(cls, text: str) -> Price:
        """Parse ``"0.56"``/``"0.5600"``; more than 4 decimals is an error, never a rounding."""
        return cls(_parse_scaled(text, 4, "price"))

    @classmethod
    def from_cents(cls, cents: int) -> Price:
        return cls(_check_int(cents, "cents") * 100)

    def dollars_str(self) -> str:
        """The API's ``FixedPointDollars`` form for prices: 4 decimals."""
        return _format_scaled(int(self), 4)

    def complement(self) -> Price:
        """The other leg's price: a YES bid at p is a NO ask at 1 - p (never 0.99 - p)."""
        return Price(PRICE_SCALE - int(self))

    def __repr__(self) -> str:
        return f"Price({self.dollars_str()})"


class Count(int):
    """A number of contracts in units of 0.01 contract (signed where it is a position)."""

    __slots__ = ()

    def __new__(cls, units: int) -> Count:
        if type(units) is int:
            return _int_new(cls, units)
        return _int_new(cls, _check_int(units, "Count"))

    @classmethod
    def parse(cls, text: str) -> Count:
        """Parse ``"10"``/``"10.0"``/``"10.00"``; more than 2 decimals is an error."""
        return cls(_parse_scaled(text, 2, "count"))

    @classmethod
    def contracts(cls, whole: int) -> Count:
        return cls(_check_int(whole, "contracts") * COUNT_SCALE)

    def fp_str(self) -> str:
        """The API's ``FixedPointCount`` form: always 2 decimals."""
        return _format_scaled(int(self), 2)

    def __repr__(self) -> str:
        return f"Count({self.fp_str()})"


class Money(int):
    """An amount of dollars in units of $0.000001 (signed)."""

    __slots__ = ()

    def __new__(cls, units: int) -> Money:
        if type(units) is int:
            return _int_new(cls, units)
        return _int_new(cls, _check_int(units, "Money"))

    @classmethod
    def parse(cls, text: str) -> Money:
        """Parse a ``*_dollars`` string with up to 6 decimals."""
        return cls(_parse_scaled(text, 6, "dollars"))

    @classmethod
    def dollars(cls, whole: int) -> Money:
        return cls(_check_int(whole, "dollars") * MONEY_SCALE)

    @classmethod
    def from_cents(cls, cents: int) -> Money:
        return cls(_check_int(cents, "cents") * (MONEY_SCALE // 100))

    def dollars_str(self, decimals: int = 4) -> str:
        """Format with ``decimals`` places, widening to 6 when that is needed to stay exact."""
        if not 0 <= decimals <= 6:
            raise ValueError("decimals must be between 0 and 6")
        if int(self) % 10 ** (6 - decimals):
            decimals = 6
        return _format_scaled(int(self) // 10 ** (6 - decimals), decimals)

    def cents_floor(self) -> int:
        """Whole cents, rounded toward minus infinity (used by the API's integer-cent fields)."""
        return int(self) // (MONEY_SCALE // 100)

    def __repr__(self) -> str:
        return f"Money({self.dollars_str()})"


def display_dollars(amount: int) -> str:
    """``$1,245.00`` for people (rounded half away from zero to the cent); never parsed back."""
    cents = (abs(int(amount)) + MONEY_SCALE // 200) // (MONEY_SCALE // 100)
    sign = "-" if amount < 0 and cents else ""
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def held_contracts(position: int) -> str:
    """What a signed position means, for people: ``-3.00`` -> ``3.00 contracts NO`` (+ YES, - NO).

    Kalshi writes a NO holding as a negative count; shown alone, ``-3.00`` reads as a short."""
    return f"{Count(abs(int(position))).fp_str()} contracts {'NO' if position < 0 else 'YES'}"


def notional(price: int, count: int) -> Money:
    """Exact cost of ``count`` contracts at ``price``: $0.0001 x 0.01 contract = $0.000001."""
    return Money(int(price) * int(count) * MONEY_PER_PRICE_COUNT)


def div_round_up(numerator: int, denominator: int) -> int:
    """Ceiling division on integers (denominator > 0), for fees and reservations."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return -((-numerator) // denominator)


def round_up_to(value: int, step: int) -> int:
    """Smallest multiple of ``step`` that is >= ``value``."""
    return div_round_up(value, step) * step


def round_down_to(value: int, step: int) -> int:
    """Largest multiple of ``step`` that is <= ``value``."""
    if step <= 0:
        raise ValueError("step must be positive")
    return (value // step) * step


ONE_DOLLAR: Final = Price(PRICE_SCALE)
ZERO_PRICE: Final = Price(0)
ZERO_COUNT: Final = Count(0)
ZERO_MONEY: Final = Money(0)
ONE_CONTRACT: Final = Count(COUNT_SCALE)
