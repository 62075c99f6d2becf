"""Query-string helpers shared by the simulator's REST list endpoints.

It exists so pagination and the common filters (comma lists, timestamp ranges, enumerated
choices) are parsed identically by every endpoint, whichever resource module serves it.

Cursors are opaque base64 offsets into a stable ordering (newest first for orders, fills, trades
and settlements); an unparseable cursor is a 400, a deliberate choice where Kalshi is silent.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Sequence
from typing import TypeVar

from kalshiflow.sim import wire

T = TypeVar("T")


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (binascii.Error, ValueError):
        raise wire.bad("invalid cursor") from None
    kind, _, number = text.partition(":")
    if kind != "offset" or not number.isascii() or not number.isdigit() or len(number) > 12:
        raise wire.bad("invalid cursor")
    return int(number)


def paginate(
    items: Sequence[T], query: dict[str, str], default: int = 100, maximum: int = 1000
) -> tuple[Sequence[T], str]:
    """The page of ``items`` the ``limit`` and ``cursor`` parameters select, and the next cursor."""
    limit = wire.query_int(query, "limit", default, 1, maximum)
    start = _decode_cursor(query.get("cursor"))
    end = start + limit
    return items[start:end], _encode_cursor(end) if end < len(items) else ""


def csv_set(query: dict[str, str], name: str) -> set[str] | None:
    """A comma-separated parameter as a set; ``None`` when absent or empty."""
    raw = query.get(name)
    if not raw:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def in_ts_range(ts_ms: int, query: dict[str, str], low: str = "min_ts", high: str = "max_ts") -> bool:
    """Whether ``ts_ms`` lies within the (second-resolution, inclusive) bounds the query names."""
    return TsRange(query, low, high)(ts_ms)


class TsRange:
    """``in_ts_range`` for one query and many items: the bounds are parsed once, at the first item
    asked about -- where ``in_ts_range`` parsed them first, so a bad bound fails exactly the same
    requests (a list nothing reaches the test for never reads it). Why: list endpoints test every
    order or fill of the account, and a calibration lists fills and orders every pass; parsing the
    two query integers per item was most of that test."""

    __slots__ = ("_bounds", "_high", "_low", "_query")

    def __init__(self, query: dict[str, str], low: str = "min_ts", high: str = "max_ts") -> None:
        self._query, self._low, self._high = query, low, high
        self._bounds: tuple[int | None, int | None] | None = None

    def __call__(self, ts_ms: int) -> bool:
        bounds = self._bounds
        if bounds is None:
            query = self._query
            bounds = self._bounds = (
                wire.query_opt_int(query, self._low),
                wire.query_opt_int(query, self._high),
            )
        min_s, max_s = bounds
        return (min_s is None or ts_ms >= min_s * 1000) and (max_s is None or ts_ms // 1000 <= max_s)


def choice(query: dict[str, str], name: str, choices: Collection[str]) -> str | None:
    """An optional parameter that must be one of ``choices``; ``None`` when absent or empty."""
    value = query.get(name)
    if value and value not in choices:
        raise wire.bad(f"{name} must be one of: {', '.join(choices)}")
    return value or None
