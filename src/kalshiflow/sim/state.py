"""The simulated exchange's records: series, events, markets, orders, fills, accounts, groups.

Plain mutable records owned by the engine; all quantities are exact integers in the units of
``kalshiflow.domain.units`` (prices in $0.0001, counts in 0.01 contract, money in $0.000001).
Nothing here renders JSON.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import (
    BookSide,
    OrderStatus,
    SelfTradePrevention,
    TimeInForce,
    UpdateReason,
)
from kalshiflow.domain.settlement import MarketResult


class MarketStatus(StrEnum):
    INITIALIZED = "initialized"
    INACTIVE = "inactive"
    ACTIVE = "active"
    CLOSED = "closed"
    DETERMINED = "determined"
    DISPUTED = "disputed"
    AMENDED = "amended"
    FINALIZED = "finalized"


# ``GET /markets?status=`` filter values -> the statuses they select (reference section 5.1).
STATUS_FILTERS: dict[str, frozenset[MarketStatus]] = {
    "unopened": frozenset({MarketStatus.INITIALIZED}),
    "open": frozenset({MarketStatus.ACTIVE}),
    "paused": frozenset({MarketStatus.INACTIVE}),
    "closed": frozenset(
        {MarketStatus.CLOSED, MarketStatus.DETERMINED, MarketStatus.DISPUTED, MarketStatus.AMENDED}
    ),
    "settled": frozenset({MarketStatus.FINALIZED}),
}


@dataclass(slots=True)
class SimSeries:
    ticker: str
    title: str
    category: str = "Economics"
    frequency: str = "daily"
    fee_type: FeeType = FeeType.QUADRATIC
    fee_multiplier: Fraction = Fraction(1)


@dataclass(slots=True)
class SimEvent:
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str = ""
    mutually_exclusive: bool = False
    created_ms: int = 0
    updated_ms: int = 0
    fee_type_override: FeeType | None = None  # None: the series' fee type applies
    fee_multiplier_override: Fraction | None = None  # None: the series' multiplier applies


@dataclass(frozen=True, slots=True)
class FeeChange:
    """A scheduled change of fees: a series' type and multiplier, or an event's overrides.

    ``event_ticker`` None means a series change (``fee_type``/``fee_multiplier`` both set); for an
    event, a None ``fee_type``/``fee_multiplier`` clears that override (the series' value applies).
    """

    change_id: str
    series_ticker: str
    event_ticker: str | None
    fee_type: FeeType | None
    fee_multiplier: Fraction | None
    scheduled_ms: int


@dataclass(slots=True)
class SimMarket:
    ticker: str
    event_ticker: str
    market_id: str
    title: str
    yes_sub_title: str
    no_sub_title: str
    grid: PriceGrid
    open_ms: int
    close_ms: int
    created_ms: int
    status: MarketStatus = MarketStatus.INITIALIZED
    settlement_timer_s: int = 60
    can_close_early: bool = False
    rules_primary: str = ""
    strike_type: str = "greater"
    floor_strike: float | None = None
    cap_strike: float | None = None
    result: MarketResult | None = None
    settlement_value: int | None = None  # YES payout in $0.0001, set at determination
    determined_ms: int | None = None
    settled_ms: int | None = None
    updated_ms: int = 0
    last_price: int = 0
    previous_price: int = 0
    previous_yes_bid: int = 0
    previous_yes_ask: int = 0
    volume: int = 0  # 0.01 contracts traded, all time
    open_interest: int = 0  # 0.01 contracts (sum of YES holdings)
    volume_window: deque[tuple[int, int]] = field(default_factory=deque)  # (ts_ms, count) last 24h

    @property
    def is_trading(self) -> bool:
        return self.status is MarketStatus.ACTIVE


@dataclass(slots=True)
class SimOrder:
    order_id: str
    client_order_id: str
    account_id: str
    ticker: str
    side: BookSide
    yes_price: int
    initial_count: int
    time_in_force: TimeInForce
    self_trade_prevention: SelfTradePrevention
    created_ms: int
    priority: int  # time priority sequence; lower trades first at a price
    post_only: bool = False
    reduce_only: bool = False
    cancel_order_on_pause: bool = False
    expiration_ms: int | None = None
    order_group_id: str | None = None
    subaccount: int = 0
    fill_count: int = 0
    remaining_count: int = 0
    status: OrderStatus = OrderStatus.RESTING
    updated_ms: int = 0
    last_update_reason: UpdateReason = UpdateReason.CREATED
    taker_fill_cost: int = 0
    maker_fill_cost: int = 0
    taker_fees: int = 0
    maker_fees: int = 0
    reserved: int = 0  # Money held back from the balance for this order's opening part
    rounding_accumulator: int = 0

    @property
    def book_price(self) -> int:
        """Price on the ladder the order rests on: YES price for bids, NO price for asks."""
        return self.yes_price if self.side is BookSide.BID else 10_000 - self.yes_price

    @property
    def is_resting(self) -> bool:
        return self.status is OrderStatus.RESTING


@dataclass(frozen=True, slots=True)
class Fill:
    """One side of one execution, as the owner of ``order_id`` sees it."""

    trade_id: str
    order_id: str
    client_order_id: str
    account_id: str
    ticker: str
    side: BookSide
    yes_price: int
    count: int
    is_taker: bool
    fee: int
    ts_ms: int
    post_position: int
    subaccount: int = 0


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: str
    ticker: str
    yes_price: int
    count: int
    taker_side: BookSide
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Settlement:
    ticker: str
    event_ticker: str
    result: MarketResult
    yes_count: int
    no_count: int
    yes_total_cost: int
    no_total_cost: int
    revenue: int  # Money
    value: int | None  # YES payout in $0.0001
    fee_cost: int
    settled_ms: int


@dataclass(slots=True)
class Position:
    """A net signed position (+YES, -NO) and its accounting, in exact units."""

    position: int = 0
    cost: int = 0  # Money: cost basis of the current position (market_exposure)
    realized_pnl: int = 0
    fees_paid: int = 0
    total_traded: int = 0
    volume: int = 0  # 0.01 contracts traded
    last_updated_ms: int = 0
    yes_total_cost: int = 0  # lifetime cost of YES bought, for settlement rows
    no_total_cost: int = 0

    def copy(self) -> Position:
        return Position(
            self.position,
            self.cost,
            self.realized_pnl,
            self.fees_paid,
            self.total_traded,
            self.volume,
            self.last_updated_ms,
            self.yes_total_cost,
            self.no_total_cost,
        )


@dataclass(frozen=True, slots=True)
class SubaccountTransfer:
    """Cash moved between two sub-accounts of one user (numbers: 0 primary, 1-63 numbered)."""

    transfer_id: str
    client_transfer_id: str
    from_subaccount: int
    to_subaccount: int
    amount: int  # Money
    created_ms: int


@dataclass(slots=True)
class Account:
    account_id: str
    user_id: str
    balance: int  # Money available (excludes what resting orders reserve)
    balance_precision: int = 100  # Money units: $0.0001 (a direct member); $0.01 for most users
    positions: dict[str, Position] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    settlements: list[Settlement] = field(default_factory=list)
    client_order_ids: set[str] = field(default_factory=set)
    order_ids: list[str] = field(default_factory=list)  # creation order
    updated_ms: int = 0
    transfers: list[SubaccountTransfer] = field(default_factory=list)  # kept on the primary account

    def reserved(self, orders: dict[str, SimOrder]) -> int:
        return sum(orders[oid].reserved for oid in self.order_ids if orders[oid].is_resting)


@dataclass(slots=True)
class OrderGroup:
    group_id: str
    account_id: str
    contracts_limit: int  # 0.01 contracts matched per rolling window
    created_ms: int
    subaccount: int = 0
    triggered: bool = False
    order_ids: set[str] = field(default_factory=set)
    window: deque[tuple[int, int]] = field(default_factory=deque)  # (ts_ms, matched count)
    window_total: int = 0
