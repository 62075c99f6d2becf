"""Typed WebSocket messages, parsed once at the boundary into exact domain units.

The stream client turns every frame from ``/trade-api/ws/v2`` into one of these frozen values (or a
``MalformedFrame`` describing what was wrong); nothing outside ``exchange/`` sees Kalshi's JSON.
Orderbook levels keep Kalshi's convention: each side is a ladder of *bids* in that side's own price
(a NO level at $0.30 is a NO bid at 30c, i.e. a YES offer at 70c), ascending by price.
"""

from __future__ import annotations

from dataclasses import dataclass

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price

Level = tuple[Price, Count]


@dataclass(frozen=True, slots=True)
class OrderbookSnapshot:
    sid: int
    seq: int
    ticker: str
    yes: tuple[Level, ...]  # YES bids, ascending by price
    no: tuple[Level, ...]  # NO bids in NO-leg prices, ascending by price
    received_ns: int = 0  # local monotonic receive time (time.monotonic_ns)


@dataclass(frozen=True, slots=True)
class OrderbookDelta:
    sid: int
    seq: int
    ticker: str
    side: OutcomeSide
    price: Price  # in the side's own leg price
    delta: Count  # signed change of the aggregate size at that level
    ts_ms: int | None = None
    client_order_id: str | None = None
    received_ns: int = 0
