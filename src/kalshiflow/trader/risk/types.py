"""Vocabulary of the risk gate: order intents, reason codes, decisions, the context checks read.

An intent is what the trader wants to send, in outcome terms (buy/sell YES/NO at a price of that
outcome). Net positions are signed (+YES / -NO), so buying NO and selling YES both move the position
down. ``opening_count`` is the part of an order that adds exposure (beyond closing what is held) and
``opening_cost`` what that part could cost in cash: its notional at the price of the side acquired
plus the worst-case (taker) fee. A reduce-only intent must actually reduce the position; the order
shape check enforces that so the flag cannot be used to bypass exposure limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from kalshiflow.domain.orders import Action, OutcomeSide
from kalshiflow.domain.units import (
    MONEY_PER_PRICE_COUNT,
    PRICE_SCALE,
    ZERO_COUNT,
    ZERO_MONEY,
    Count,
    Money,
    Price,
)
from kalshiflow.domain.values import hot_value
from kalshiflow.features.valuation import BookView, CashView, MarketView, PositionView, taker_fee
from kalshiflow.policy.base import Action as PolicyAction
from kalshiflow.trader.config import RiskLimits

_TERMS: dict[str, tuple[OutcomeSide, Action, int]] = {
    "buy_yes": (OutcomeSide.YES, Action.BUY, 1),
    "sell_yes": (OutcomeSide.YES, Action.SELL, -1),
    "buy_no": (OutcomeSide.NO, Action.BUY, -1),
    "sell_no": (OutcomeSide.NO, Action.SELL, 1),
}


class TradeAction(StrEnum):
    BUY_YES = "buy_yes"
    SELL_YES = "sell_yes"
    BUY_NO = "buy_no"
    SELL_NO = "sell_no"

    # Plain attributes of each member, set once when the class is built: every risk check reads
    # them, and a property (even one reading a table) is a Python call per read.
    side: OutcomeSide
    action: Action
    direction: int  # +1 when the order moves the net position toward YES, -1 toward NO

    def __init__(self, value: str) -> None:
        self.side, self.action, self.direction = _TERMS[value]

    @classmethod
    def for_policy_action(cls, action: PolicyAction) -> TradeAction | None:
        """The order a policy's action asks for, None for HOLD (the four trades share their values)."""
        # A table, not ``cls(action.value)``: an enum lookup by value runs Python-level machinery
        # (~1 µs), and the actor asks once per decision.
        return _FOR_POLICY_ACTION[action]


_FOR_POLICY_ACTION: dict[PolicyAction, TradeAction | None] = {
    action: None if action is PolicyAction.HOLD else TradeAction(action.value) for action in PolicyAction
}


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class OrderIntent:
    """``action`` of ``count`` contracts at ``price`` (a price of ``action.side``)."""

    ticker: str
    action: TradeAction
    price: Price
    count: Count
    reduce_only: bool = False

    @property
    def yes_price(self) -> Price:
        return self.price if self.action.side is OutcomeSide.YES else self.price.complement()

    @property
    def position_delta(self) -> int:
        return self.action.direction * int(self.count)


def opening_count(intent: OrderIntent, position: int) -> Count:
    """Contracts of ``intent`` that add exposure given the current signed ``position``."""
    return Count(_opening(intent.position_delta, position))


def _opening(delta: int, position: int) -> int:
    if position == 0 or (position > 0) == (delta > 0):
        return abs(delta)
    return max(0, abs(delta) - abs(position))


def reduces(intent: OrderIntent, position: int) -> bool:
    """True when the whole order only shrinks the position (never flips or grows it)."""
    delta = intent.position_delta
    return position != 0 and (position > 0) != (delta > 0) and abs(delta) <= abs(position)


def opening_cost(intent: OrderIntent, position: int, market: MarketView) -> Money:
    """Cash the opening part could take: notional at the acquired side's price plus the taker fee."""
    delta = intent.position_delta
    return _opening_cost(intent, delta, _opening(delta, position), market)


def _opening_cost(intent: OrderIntent, delta: int, opened: int, market: MarketView) -> Money:
    """``opening_cost`` from the intent's position delta and opening count, already worked out."""
    if opened == 0:
        return Money(0)
    # The price of the side acquired, as a plain int: the intent's price was validated when the
    # intent was built, so the intermediates skip ``Price``/``Count`` (two checks each).
    price = (
        int(intent.price)
        if (intent.action.side is OutcomeSide.YES) == (delta > 0)
        else PRICE_SCALE - intent.price
    )
    fee = taker_fee(market.fee_type, market.fee_multiplier, price, opened)
    return Money(price * opened * MONEY_PER_PRICE_COUNT + fee)


@hot_value  # built per order: see domain.values
@dataclass(frozen=True, slots=True)
class OrderExposure:
    """What an intent does to the exposure of its market, worked out once per order by ``check_order``.

    Why one value: five checks read the position held in the intent's market, two the opening
    count and two the opening cost (a fee lookup each); derived once, the checks only compare.
    """

    position: int  # signed position held in the intent's market now (0.01 contract)
    opening: int  # contracts of the intent that add exposure (0.01 contract), ``opening_count``
    cost: int  # what the opening part could cost, ``opening_cost`` ($0.000001); 0 without a market

    @classmethod
    def of(cls, intent: OrderIntent, ctx: RiskContext) -> OrderExposure:
        # The delta and the opening count are derived once here and handed to the cost, which
        # would otherwise derive both again (a property and a helper call per order).
        position = ctx.position_of(intent.ticker)
        delta = intent.position_delta
        opening = _opening(delta, position)
        market = ctx.market
        return cls(
            position, opening, 0 if market is None else int(_opening_cost(intent, delta, opening, market))
        )


class RiskReason(StrEnum):
    """Why the gate answered as it did; ``OK`` for an allowed order."""

    OK = "ok"
    INVALID_ORDER = "invalid_order"
    NOT_REDUCING = "not_reducing"
    CIRCUIT_BREAKER_OPEN = "circuit_breaker_open"
    MARKET_UNKNOWN = "market_unknown"
    MARKET_NOT_ACTIVE = "market_not_active"
    TRADER_REDUCE_ONLY = "trader_reduce_only"
    MARKET_BEING_CLOSED = "market_being_closed"
    KILL_SWITCH_DAILY_LOSS = "kill_switch_daily_loss"
    KILL_SWITCH_DRAWDOWN = "kill_switch_drawdown"
    KILL_SWITCH_MANUAL = "kill_switch_manual"
    MARKET_CLOSING_SOON = "market_closing_soon"
    BOOK_INVALID = "book_invalid"
    BOOK_ONE_SIDED = "book_one_sided"
    SPREAD_TOO_WIDE = "spread_too_wide"
    THROTTLED = "throttled"
    STOP_LOSS_COOLDOWN = "stop_loss_cooldown"
    ORDER_TOO_LARGE = "order_too_large"
    MARKET_POSITION_LIMIT = "market_position_limit"
    TOTAL_POSITION_LIMIT = "total_position_limit"
    EXPOSURE_LIMIT = "exposure_limit"
    CASH_RESERVE = "cash_reserve"


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class RiskDecision:
    allowed: bool
    reason: RiskReason
    detail: str = ""
    check: str = ""  # name of the check that decided (empty when allowed)


ALLOWED = RiskDecision(True, RiskReason.OK)


def deny(check: str, reason: RiskReason, detail: str) -> RiskDecision:
    return RiskDecision(False, reason, detail, check)


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class PnlView:
    """Today's P&L and equity for the kill switch (all after fees)."""

    daily_realized: Money = ZERO_MONEY
    unrealized: Money = ZERO_MONEY
    equity: Money = ZERO_MONEY
    peak_equity: Money = ZERO_MONEY


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class MarketRiskState:
    """Runtime state of the intent's market: throttle, breaker, resting orders, closing flag."""

    last_order_at_ms: int | None = None
    error_times_ms: tuple[int, ...] = ()
    resting_open_contracts: Count = ZERO_COUNT
    being_closed: bool = False
    last_stop_loss_ms: int | None = None  # when a stop loss last closed a position here


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the checks read; ``positions`` covers every market, the rest is the intent's market."""

    market: MarketView | None
    book: BookView | None
    positions: Mapping[str, PositionView]
    cash: CashView
    pnl: PnlView = PnlView()
    market_state: MarketRiskState = MarketRiskState()
    total_resting_open_contracts: Count = ZERO_COUNT
    reduce_only_mode: bool = False  # trader calibrating or paused (ARCHITECTURE §3)
    manual_kill_switch: str | None = None  # who engaged the operator's kill switch, when it is on
    # Sums over ``positions`` the trader keeps as running totals; None: summed from ``positions``.
    held_cost: Money | None = None  # cost basis of every open position
    held_contracts: Count | None = None  # |position| summed over every market

    def position_of(self, ticker: str) -> int:
        held = self.positions.get(ticker)
        return 0 if held is None else int(held.position)

    def cost_held(self) -> int:
        """Cost basis of every open position ($0.000001), fees to open included."""
        if self.held_cost is not None:
            return int(self.held_cost)
        return sum(int(p.cost_basis) for p in self.positions.values() if p.position != 0)

    def contracts_held(self) -> int:
        """``|position|`` summed over every market (0.01 contract)."""
        if self.held_contracts is not None:
            return int(self.held_contracts)
        return sum(abs(int(p.position)) for p in self.positions.values())


class RiskCheck(Protocol):
    """One named check; returns a denial or None (pass). ``exposure`` is ``OrderExposure.of(intent, ctx)``."""

    @property
    def name(self) -> str: ...

    @property
    def short_desc(self) -> str: ...

    @property
    def applies_to_closing(self) -> bool: ...

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None: ...
