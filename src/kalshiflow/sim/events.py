"""What the engine tells the outside world after each state change.

The engine is synchronous and knows nothing of WebSockets. After every mutation it hands these
small frozen values to its listeners (the WebSocket hub, tests, recorders). They carry exact
integers; rendering to Kalshi JSON happens in the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from kalshiflow.domain.orders import BookSide, OutcomeSide, UpdateReason

if TYPE_CHECKING:
    from kalshiflow.sim.state import Fill, OrderGroup, Position, SimEvent, SimMarket, SimOrder


class BookDelta(msgspec.Struct, frozen=True, gc=False):
    """Aggregate size at one level of one bid ladder changed by ``delta`` (signed, 0.01 contracts).

    ``side`` names the ladder (YES bids or NO bids); ``price`` is in that leg's own terms.
    ``account_id``/``client_order_id`` name the order whose action caused the change.

    A frozen ``msgspec.Struct`` where the other events are frozen dataclasses: book changes are
    most of the engine's events (a replay's tape makes one per recorded change), and a frozen
    dataclass's ``__init__`` cost ~0.7 us against ~0.08 us; same fields, order, repr, equality,
    hash and immutability; it holds no reference that could form a cycle (``gc=False``).
    """

    ticker: str
    side: OutcomeSide
    price: int
    delta: int
    ts_ms: int
    account_id: str | None = None
    client_order_id: str | None = None
    subaccount: int = 0


@dataclass(frozen=True, slots=True)
class TradeEvent:
    trade_id: str
    ticker: str
    yes_price: int
    count: int
    taker_book_side: BookSide
    ts_ms: int


@dataclass(frozen=True, slots=True)
class FillEvent:
    fill: Fill


@dataclass(frozen=True, slots=True)
class OrderEvent:
    order: SimOrder
    reason: UpdateReason
    ts_ms: int


@dataclass(frozen=True, slots=True)
class PositionEvent:
    account_id: str
    ticker: str
    position: Position


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """A ``market_lifecycle_v2`` event: created, activated, deactivated, close_date_updated,
    determined, settled."""

    market: SimMarket
    event_type: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class OrderGroupEvent:
    account_id: str
    group: OrderGroup
    event_type: str  # created, triggered, reset, deleted, limit_updated
    ts_ms: int


@dataclass(frozen=True, slots=True)
class EventFeeUpdate:
    """An event's fee overrides changed (``event_fee_update`` on ``market_lifecycle_v2``)."""

    event: SimEvent
    ts_ms: int


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    account_id: str
    ts_ms: int


EngineEvent = (
    BookDelta
    | TradeEvent
    | FillEvent
    | OrderEvent
    | PositionEvent
    | LifecycleEvent
    | OrderGroupEvent
    | EventFeeUpdate
    | BalanceEvent
)
