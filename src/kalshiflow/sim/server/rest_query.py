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
    min_s, max_s = wire.query_opt_int(query, low), wire.query_opt_int(query, high)
    return (min_s is None or ts_ms >= min_s * 1000) and (max_s is None or ts_ms // 1000 <= max_s)


def choice(query: dict[str, str], name: str, choices: Collection[str]) -> str | None:
    """An optional parameter that must be one of ``choices``; ``None`` when absent or empty."""
    value = query.get(name)
    if value and value not in choices:
        raise wire.bad(f"{name} must be one of: {', '.join(choices)}")
    return value or None
