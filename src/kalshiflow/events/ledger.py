"""What the ledger publishes after each change: orders, fills, positions, cash, settlements.

Every event is a frozen value copied at the moment of the change, never a live record, so a
subscriber that reads it later (the store's writer, the dashboard) sees what was true then. Units
are in the types: ``Price`` $0.0001, ``Count`` 0.01 contract, ``Money`` $0.000001; positions are net
and signed (+YES, -NO). The order vocabulary (states, purposes) is defined here because the store
and the dashboard read it without knowing the trader.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.domain.values import hot_value


class OrderState(StrEnum):
    PENDING = "pending"
    RESTING = "resting"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


TERMINAL: frozenset[OrderState] = frozenset({OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED})
LIVE: frozenset[OrderState] = frozenset(
    {OrderState.PENDING, OrderState.RESTING, OrderState.PARTIALLY_FILLED, OrderState.UNKNOWN}
)


class OrderPurpose(StrEnum):
    OPEN = "open"  # adds exposure (policy decisions)
    CLOSE = "close"  # reduce-only exit with a reason
    EXTERNAL = "external"  # found on the account, not placed by this trader


class CashCause(StrEnum):
    """Why the ledger's cash moved."""

    FILL = "fill"
    SETTLEMENT = "settlement"
    RECONCILIATION = "reconciliation"
    RESERVATION = "reservation"  # cash held back for a resting order (or released)


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """One order of ours as it stood when it changed."""

    client_order_id: str
    ticker: str
    side: BookSide
    yes_price: Price
    count: Count
    purpose: OrderPurpose
    created_ms: int
    state: OrderState
    order_id: str | None
    filled: Count
    remaining: Count
    close_reason: str | None
    reduce_only: bool
    order_group_id: str | None
    updated_ms: int
    detail: str
    fees: Money
    reserved: Money

    @property
    def is_live(self) -> bool:
        return self.state in LIVE

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL


@dataclass(frozen=True, slots=True)
class FillData:
    """One execution of one of our orders, from the ``fill`` channel or from REST."""

    trade_id: str
    order_id: str
    ticker: str
    side: BookSide
    yes_price: Price
    count: Count
    is_taker: bool
    fee: Money
    ts_ms: int
    client_order_id: str | None = None
    post_position: Count | None = None
    source: str = "ws"


@dataclass(frozen=True, slots=True)
class SettlementData:
    ticker: str
    result: str
    revenue: Money
    settled_ms: int


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A market's position as it stood after a change; ``closing_reason`` while a close is working."""

    ticker: str
    position: Count  # signed: + YES, - NO
    cost_basis: Money  # of the open position, fees to open it included
    exposure: Money  # the same without fees (Kalshi's market_exposure)
    realized_pnl: Money  # after fees
    fees_paid: Money
    opened_at_ms: int | None
    last_fill_ms: int | None
    closing_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.position != 0


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class OrderChanged:
    order: OrderSnapshot
    ts_ms: int


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class FillBooked:
    fill: FillData
    order: OrderSnapshot | None  # None: a fill of an order this trader does not know (yet)
    # True: a fill from before this run's first sync, recorded on its order and in the store but
    # not booked (the exchange's balance and positions the first sync takes already include it).
    historical: bool = False


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class PositionChanged:
    position: PositionSnapshot
    ts_ms: int


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class CashChanged:
    cash: Money
    ts_ms: int
    cause: CashCause


@dataclass(frozen=True, slots=True)
class SettlementBooked:
    settlement: SettlementData


LedgerEvent = OrderChanged | FillBooked | PositionChanged | CashChanged | SettlementBooked
LEDGER_EVENT_TYPES: tuple[type, ...] = (
    OrderChanged,
    FillBooked,
    PositionChanged,
    CashChanged,
    SettlementBooked,
)
