"""Vocabulary shared by the exit rules: reasons, decisions, the context they read, the rule protocol.

A decision is data: a frozen ``ExitDecision`` that names the ticker, the reason code, a detail text,
the side held, the quantity to sell (always the whole position) and a limit price on the market's
grid, with the valuation it was based on. The executor turns it into a reduce-only sell; the reason
code travels with the order to fills, history, store and dashboard.

Invariants: ``close_count`` is the absolute value of the position at decision time; ``limit_price``
is a tradable price of the market's grid (strictly between $0 and $1) of the side held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Final, Protocol

from kalshiflow.domain.orders import Action, OutcomeSide, V2Order, intent_to_v2
from kalshiflow.domain.units import MONEY_PER_PRICE_COUNT, PRICE_SCALE, Count, Price, div_round_up
from kalshiflow.features.valuation import (
    BookView,
    CashView,
    MarketView,
    PositionView,
    Valuation,
    format_pct,
    value_position,
)
from kalshiflow.trader.config import ExitRulesConfig

HALF_RANGE: Final = PRICE_SCALE // 2  # 50¢: the room at which a range-scaled threshold is unscaled


class ExitReason(StrEnum):
    """Reason codes of closes; the value is what logs, store and dashboard show."""

    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    MAX_HOLD_TIME = "max_hold_time"
    MARKET_CLOSING = "market_closing"
    CASH_RECOVERY = "cash_recovery"
    STUCK = "stuck"


@dataclass(frozen=True, slots=True)
class ClosingOrderView:
    """A resting reduce-only order that is closing a position.

    ``yes_price`` is the V2 (YES-book) price of the order; ``placed_at_ms`` is when the close was
    first placed, ``priced_at_ms`` when its price last changed (None = never re-priced).
    """

    ticker: str
    client_order_id: str
    placed_at_ms: int
    yes_price: Price
    remaining: Count
    priced_at_ms: int | None = None

    @property
    def last_priced_ms(self) -> int:
        return self.placed_at_ms if self.priced_at_ms is None else self.priced_at_ms


@dataclass(frozen=True, slots=True)
class ExitDecision:
    """Close ``close_count`` of ``side`` in ``ticker`` at ``limit_price`` (a price of ``side``)."""

    ticker: str
    reason: ExitReason
    detail: str
    side: OutcomeSide
    close_count: Count
    limit_price: Price
    valuation: Valuation
    replaces_client_order_id: str | None = None  # set when re-pricing a stuck closing order

    @property
    def v2_order(self) -> V2Order:
        """The YES-book order: selling YES at p is an ask at p, selling NO at q a bid at 1 - q."""
        return intent_to_v2(self.side, Action.SELL, self.limit_price)

    @property
    def yes_price(self) -> Price:
        return self.v2_order.yes_price


_UNVALUED: Final = object()


class Holding:
    """One position with what is known about its market; ``valuation`` None = no bid to exit into.

    The valuation (``value_position``) is computed on first read unless given: the time rules run
    every second over every position and read it only for the positions they close (it was two
    thirds of a time-rule tick). The rules run synchronously on unchanged inputs, so reading it
    later gives the value reading it at construction would have given.
    """

    __slots__ = ("_valuation", "book", "market", "position")

    def __init__(
        self, position: PositionView, market: MarketView, book: BookView | None, valuation: object = _UNVALUED
    ) -> None:
        self.position = position
        self.market = market
        self.book = book
        self._valuation = valuation if book is not None else None

    @property
    def valuation(self) -> Valuation | None:
        valuation = self._valuation
        if valuation is _UNVALUED:
            assert self.book is not None
            valuation = self._valuation = value_position(self.position, self.book, self.market)
        return valuation  # type: ignore[return-value]  # a Valuation or None once valued

    @property
    def ticker(self) -> str:
        return self.position.ticker


@dataclass(frozen=True, slots=True)
class ExitContext:
    """Everything a rule may read. ``open_holdings`` excludes positions already being closed."""

    holdings: tuple[Holding, ...]
    closing_orders: Mapping[str, ClosingOrderView]
    cash: CashView
    now_ms: int
    config: ExitRulesConfig
    by_ticker: Mapping[str, Holding] = field(default_factory=dict)

    @property
    def open_holdings(self) -> tuple[Holding, ...]:
        return tuple(h for h in self.holdings if h.ticker not in self.closing_orders)


class ExitRule(Protocol):
    """One named exit rule. ``decided`` holds the decisions of higher-priority rules this round."""

    @property
    def name(self) -> ExitReason: ...

    @property
    def short_desc(self) -> str: ...

    def enabled(self, config: ExitRulesConfig) -> bool: ...

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]: ...


def close_at_bid(holding: Holding, reason: ExitReason, detail: str) -> ExitDecision | None:
    """A decision to sell the whole position at its exit bid (snapped down onto the grid)."""
    valuation = holding.valuation
    if valuation is None:
        return None
    limit = holding.market.grid.nearest(valuation.exit_price, "down")
    return ExitDecision(
        ticker=holding.ticker,
        reason=reason,
        detail=detail,
        side=valuation.side,
        close_count=valuation.count,
        limit_price=limit,
        valuation=valuation,
    )


def close_each(
    holdings: Iterable[Holding], reason: ExitReason, fires: Callable[[Holding], str | None]
) -> list[ExitDecision]:
    """``close_at_bid`` for every holding ``fires`` gives a detail for (None: the rule holds).

    The loop of every rule that closes positions one by one on a condition of their own (take
    profit, stop loss, max hold): the rule says only when it fires and why.
    """
    decisions: list[ExitDecision] = []
    for holding in holdings:
        detail = fires(holding)
        if detail is None:
            continue
        decision = close_at_bid(holding, reason, detail)
        if decision is not None:
            decisions.append(decision)
    return decisions


def pnl_text(valuation: Valuation) -> str:
    """``pnl +20.00% ($+1.0000) at bid 0.6000`` -- shared wording of rule details."""
    return (
        f"pnl {format_pct(valuation.pnl_pct)} (${valuation.unrealized.dollars_str()}) "
        f"at {valuation.side} bid {valuation.exit_price.dollars_str()}"
    )


@dataclass(frozen=True, slots=True)
class PriceMove:
    """How far the exit price moved since entry, and the thresholds it is compared with (Price units).

    ``reference`` is the exit price at entry, or -- unknown for adopted positions -- the average
    entry price (cost basis per contract, opening fees included), which is stricter.
    """

    reference: Price
    move: int  # exit price now - reference, in $0.0001 (negative = adverse)
    take_profit: int
    stop_loss: int


def _threshold(cents: Decimal, room: int, holding: Holding, scale: bool) -> int:
    units = int(cents * 100)  # 1 cent = 100 units of $0.0001
    if not scale:
        return units
    scaled = units * min(room, HALF_RANGE) // HALF_RANGE
    tick = int(holding.market.grid.min_step_at(max(1, min(PRICE_SCALE - 1, room))))
    return max(tick, scaled)


def price_move(holding: Holding, config: ExitRulesConfig) -> PriceMove | None:
    """The held side's exit-price move since entry with the configured thresholds; None unvalued."""
    valuation = holding.valuation
    if valuation is None or valuation.count <= 0:
        return None
    reference = holding.position.entry_exit_price
    if reference is None:
        per_contract = int(valuation.count) * MONEY_PER_PRICE_COUNT
        reference = Price(min(PRICE_SCALE, div_round_up(int(valuation.cost_basis), per_contract)))
    ref = int(reference)
    return PriceMove(
        reference=Price(ref),
        move=int(valuation.exit_price) - ref,
        take_profit=_threshold(config.take_profit_cents, PRICE_SCALE - ref, holding, config.scale_to_range),
        stop_loss=_threshold(config.stop_loss_cents, ref, holding, config.scale_to_range),
    )


def move_text(move: PriceMove, valuation: Valuation) -> str:
    """``exit 0.4800 moved -0.0600 from 0.5400`` -- shared wording of the price-space rules."""
    sign = "+" if move.move >= 0 else "-"
    return (
        f"{valuation.side} bid {valuation.exit_price.dollars_str()} moved {sign}"
        f"{Price(abs(move.move)).dollars_str()} from {move.reference.dollars_str()} at entry"
    )
