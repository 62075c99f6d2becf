"""Typed, field-named reads from one decoded WS JSON object: the shared toolkit of the frame parser.

Why: every way a field can be wrong (missing, mistyped, a price with too many decimals, a side that
is neither ``yes`` nor ``no``) must become the same kind of failure, ``BadFrame`` with a reason that
names the field, which ``ws_parse.parse_frame`` turns into a ``MalformedFrame``. Nothing here is
public outside the ``ws_parse*`` modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, FixedPointError, Money, Price
from kalshiflow.exchange.ws_models import WsOrderStatus

_T = TypeVar("_T")
OUTCOME: Final = {"yes": OutcomeSide.YES, "no": OutcomeSide.NO}
BOOK: Final = {"bid": BookSide.BID, "ask": BookSide.ASK}
ORDER_STATUS: Final = {s.value: s for s in WsOrderStatus}


class BadFrame(Exception):
    """Why a frame is malformed (turned into ``MalformedFrame`` by ``parse_frame``)."""


def parse_fixed(parse: Callable[[str], _T], text: str, where: str) -> _T:
    try:
        return parse(text)
    except FixedPointError as err:
        raise BadFrame(f"{where}: {err}") from None


_CACHE_LIMIT: Final = 4096
# The stream's parsed fixed-point strings, one cache per unit, shared by every message type (the
# delta fast path in ``ws_parse`` reads the same two).
PRICES: Final[dict[str, Price]] = {}
COUNTS: Final[dict[str, Count]] = {}
_MONEY: Final[dict[str, Money]] = {}


def remember(cache: dict[str, _T], parse: Callable[[str], _T], text: str) -> _T:
    """``parse(text)``, each distinct string parsed once (bounded: emptied when full). Deltas, order,
    fill and position messages repeat the same few prices, sizes and amounts ("0.00", the grid),
    and the regex parse of each was most of the cost of reading one (issue 12). Values are
    immutable ints; a bad string raises and is never cached, so it fails every time."""
    value = cache.get(text)
    if value is None:
        value = parse(text)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[text] = value
    return value


def _cached_fixed(cache: dict[str, _T], parse: Callable[[str], _T], text: str, where: str) -> _T:
    """``remember`` with ``parse_fixed``'s error: the field's place in the frame and what was wrong."""
    value = cache.get(text)
    return value if value is not None else remember(cache, lambda t: parse_fixed(parse, t, where), text)


def choose(table: Mapping[str, _T], text: str, where: str) -> _T:
    try:
        return table[text]
    except KeyError:
        raise BadFrame(f"{where} {text!r} is not one of {sorted(table)}") from None


class Fields:
    """Typed reads from one JSON object; each failure names the field.

    ``opt_*`` reads give None for a missing or null field; a present value of the wrong type is
    still malformed.
    """

    __slots__ = ("obj", "where")

    def __init__(self, obj: object, where: str) -> None:
        if not isinstance(obj, dict):
            raise BadFrame(f"{where} is not an object")
        self.obj: dict[str, Any] = obj
        self.where = where

    def _get(self, name: str) -> Any:
        try:
            return self.obj[name]
        except KeyError:
            raise BadFrame(f"{self.where}.{name} is missing") from None

    def _optional(self, name: str, read: Callable[[str], _T]) -> _T | None:
        return None if self.obj.get(name) is None else read(name)

    def string(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise BadFrame(f"{self.where}.{name} is not a string")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadFrame(f"{self.where}.{name} is not an integer")
        return value

    def boolean(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise BadFrame(f"{self.where}.{name} is not a boolean")
        return value

    def opt_string(self, name: str) -> str | None:
        return self._optional(name, self.string)

    def opt_integer(self, name: str) -> int | None:
        return self._optional(name, self.integer)

    def opt_boolean(self, name: str) -> bool | None:
        return self._optional(name, self.boolean)

    def price(self, name: str) -> Price:
        return _cached_fixed(PRICES, Price.parse, self.string(name), f"{self.where}.{name}")

    def opt_price(self, name: str) -> Price | None:
        return self._optional(name, self.price)

    def count(self, name: str) -> Count:
        return _cached_fixed(COUNTS, Count.parse, self.string(name), f"{self.where}.{name}")

    def opt_count(self, name: str) -> Count | None:
        return self._optional(name, self.count)

    def money(self, name: str) -> Money:
        return _cached_fixed(_MONEY, Money.parse, self.string(name), f"{self.where}.{name}")

    def money_or_zero(self, name: str) -> Money:
        """A money field the API omits when zero (a present null is still malformed)."""
        return self.money(name) if name in self.obj else Money(0)

    def outcome(self, name: str) -> OutcomeSide:
        return choose(OUTCOME, self.string(name), f"{self.where}.{name}")

    def book_side(self, name: str) -> BookSide:
        return choose(BOOK, self.string(name), f"{self.where}.{name}")

    def strings(self, name: str) -> tuple[str, ...] | None:
        value = self.obj.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadFrame(f"{self.where}.{name} is not a list of strings")
        return tuple(value)
