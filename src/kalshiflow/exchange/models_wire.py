"""Reading Kalshi's JSON fields into exact domain units, with errors that name the field.

Every response model parses through ``Fields``, so the rules live once:

* Prices, money and counts arrive as fixed-point strings and become ``Price``/``Money``/``Count``
  exactly; a float, a bool or an over-precise string is an error, never a rounding.
* Times arrive as RFC 3339 strings (or Unix seconds in a few fields) and become integer Unix ms.
* A missing required field, a ``null`` where a value is required, or a wrong JSON type raises
  ``WireFormatError`` naming ``object.field``. Unknown extra fields are ignored, so a new field
  added by Kalshi never breaks the client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final, TypeVar

from kalshiflow.domain.units import Count, FixedPointError, Money, Price

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)

E = TypeVar("E", bound=StrEnum)


class WireFormatError(ValueError):
    """A response did not have the shape the client relies on; the message names the field."""


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def parse_rfc3339_ms(text: str) -> int:
    """``"2026-08-20T14:03:11.250Z"`` -> Unix ms, exactly (no float); a naive time is taken as UTC."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _ONE_MS


def as_object(raw: object, what: str) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise WireFormatError(f"{what}: expected an object, got {_type_name(raw)}")
    return raw


# Parsed texts, remembered by text (a parse depends on the text only; a text that fails to parse is
# never stored). Why: calibration re-reads every watched market, position and recent fill every
# pass, nearly all with the texts of the pass before, and the fixed-point and time parsing was the
# largest part of reading them. Each cache is emptied when full, so it stays bounded.
_TEXT_CACHE_MAX: Final = 65_536
_FIXED_TEXTS: Final[dict[type, dict[str, int]]] = {Price: {}, Count: {}, Money: {}}
_TIME_TEXTS: Final[dict[str, int]] = {}
_PRICE_TEXTS: Final = _FIXED_TEXTS[Price]
_COUNT_TEXTS: Final = _FIXED_TEXTS[Count]


def _remember(cache: dict[str, int], text: str, parsed: int) -> int:
    if len(cache) >= _TEXT_CACHE_MAX:
        cache.clear()
    cache[text] = parsed
    return parsed


class Fields:
    """Typed access to one JSON object; ``what`` prefixes every error (``"Order.yes_price_dollars"``)."""

    __slots__ = ("raw", "what")

    def __init__(self, raw: object, what: str) -> None:
        self.raw = as_object(raw, what)
        self.what = what

    def _where(self, name: str) -> str:
        return f"{self.what}.{name}"

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def _required(self, name: str) -> object:
        if name not in self.raw:
            raise WireFormatError(f"{self._where(name)}: missing required field")
        value = self.raw[name]
        if value is None:
            raise WireFormatError(f"{self._where(name)}: required field is null")
        return value

    def _typed(self, name: str, value: object, kind: type, label: str) -> object:
        if isinstance(value, bool) and kind is not bool:
            raise WireFormatError(f"{self._where(name)}: expected {label}, got a boolean")
        if not isinstance(value, kind):
            raise WireFormatError(f"{self._where(name)}: expected {label}, got {_type_name(value)}")
        return value

    # -- plain JSON types ------------------------------------------------------------------------
    # Each accessor first takes the common case in one lookup and one exact type test (a value of
    # exactly the wanted type is what the full checks accept), and leaves everything else to the
    # full checks, which raise with their reasons. Why: calibration parses every watched market,
    # order and fill each pass, ~45 fields a market, and the layered checks were most of a parse.
    def text(self, name: str) -> str:
        value = self.raw.get(name)
        if type(value) is str:
            return value
        value = self._typed(name, self._required(name), str, "a string")
        assert isinstance(value, str)
        return value

    def opt_text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return default
        if type(value) is str:
            return value
        return self.text(name)

    def integer(self, name: str) -> int:
        value = self.raw.get(name)
        if type(value) is int:
            return value
        value = self._typed(name, self._required(name), int, "an integer")
        assert isinstance(value, int)
        return value

    def opt_integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None:
            return default
        if type(value) is int:
            return value
        return self.integer(name)

    def flag(self, name: str) -> bool:
        value = self._typed(name, self._required(name), bool, "a boolean")
        assert isinstance(value, bool)
        return value

    def opt_flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if type(value) is bool:
            return value
        return self.flag(name)

    def array(self, name: str) -> Sequence[object]:
        value = self._typed(name, self._required(name), list, "an array")
        assert isinstance(value, list)
        return value

    def opt_array(self, name: str) -> Sequence[object]:
        return self.array(name) if self.has(name) else ()

    def obj(self, name: str) -> Fields:
        return Fields(self._required(name), self._where(name))

    # -- fixed point ------------------------------------------------------------------------------
    def _fixed(self, name: str, value: object, parse: type[Price] | type[Count] | type[Money]) -> int:
        parsed = _FIXED_TEXTS[parse].get(value) if type(value) is str else None
        if parsed is not None:
            return parsed
        text = self._typed(name, value, str, "a decimal string")
        assert isinstance(text, str)
        try:
            parsed = int(parse.parse(text))
        except FixedPointError as exc:
            raise WireFormatError(f"{self._where(name)}: {exc}") from None
        return _remember(_FIXED_TEXTS[parse], text, parsed)

    def price(self, name: str) -> Price:
        value = self.raw.get(name)
        if type(value) is str:
            parsed = _PRICE_TEXTS.get(value)
            if parsed is not None:
                return Price(parsed)
        return Price(self._fixed(name, self._required(name), Price))

    def opt_price(self, name: str) -> Price | None:
        return None if self.raw.get(name) is None else self.price(name)

    def count(self, name: str) -> Count:
        value = self.raw.get(name)
        if type(value) is str:
            parsed = _COUNT_TEXTS.get(value)
            if parsed is not None:
                return Count(parsed)
        return Count(self._fixed(name, self._required(name), Count))

    def opt_count(self, name: str) -> Count | None:
        return None if self.raw.get(name) is None else self.count(name)

    def money(self, name: str) -> Money:
        return Money(self._fixed(name, self._required(name), Money))

    def opt_money(self, name: str) -> Money | None:
        return self.money(name) if self.has(name) else None

    def cents(self, name: str) -> Money:
        """A legacy integer-cent field as exact ``Money``."""
        return Money.from_cents(self.integer(name))

    # -- times and enums -------------------------------------------------------------------------
    def time_ms(self, name: str) -> int:
        """An RFC 3339 field as Unix ms."""
        text = self.text(name)
        parsed = _TIME_TEXTS.get(text)
        if parsed is not None:
            return parsed
        try:
            parsed = parse_rfc3339_ms(text)
        except ValueError:
            raise WireFormatError(f"{self._where(name)}: {text!r} is not an RFC 3339 time") from None
        return _remember(_TIME_TEXTS, text, parsed)

    def opt_time_ms(self, name: str) -> int | None:
        return None if self.raw.get(name) is None else self.time_ms(name)

    def enum(self, name: str, kind: type[E]) -> E:
        text = self.text(name)
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise WireFormatError(f"{self._where(name)}: {text!r} is not one of {allowed}") from None

    def opt_enum(self, name: str, kind: type[E]) -> E | None:
        return self.enum(name, kind) if self.has(name) else None
