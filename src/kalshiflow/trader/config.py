"""The trader's knobs: one frozen, validated settings model per concern.

Each model's docstring lists every field with its default and unit, so a reader learns every knob of
a concern from one class. Unknown keys are errors (a typo in a TOML file must not silently fall back
to a default), values are range-checked, and units are in the field names.

Money and contract counts never pass through floats:

* ``*_dollars`` fields take a dollar string (``"500.00"``, up to 6 decimals), a whole number of
  dollars (``500``) or a ``Money`` value, and hold ``Money`` (units of $0.000001) exactly.
* ``*_contracts`` fields take a count string (``"10.50"``, up to 2 decimals), a whole number of
  contracts (``10``) or a ``Count`` value, and hold ``Count`` (units of 0.01 contract).
* ``*_pct`` fields hold a ``Decimal`` percentage; rules compare them as exact fractions.

Floats and booleans are rejected for money and counts. Durations are whole seconds (``*_s``).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, model_validator

from kalshiflow.domain.units import Count, Money


def _to_money(value: object) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, bool | float):
        raise ValueError("write dollars as a string such as '500.00' (floats are not exact)")
    if isinstance(value, int):
        return Money.dollars(value)
    if isinstance(value, str):
        return Money.parse(value)
    raise ValueError(f"expected a dollar string, got {type(value).__name__}")


def _to_count(value: object) -> Count:
    if isinstance(value, Count):
        return value
    if isinstance(value, bool | float):
        raise ValueError("write contracts as an integer or a string such as '10.00'")
    if isinstance(value, int):
        return Count.contracts(value)
    if isinstance(value, str):
        return Count.parse(value)
    raise ValueError(f"expected a contract count, got {type(value).__name__}")


def _non_negative_money(value: object) -> Money:
    money = _to_money(value)
    if money < 0:
        raise ValueError("must not be negative")
    return money


def _positive_money(value: object) -> Money:
    money = _to_money(value)
    if money <= 0:
        raise ValueError("must be greater than zero")
    return money


def _positive_count(value: object) -> Count:
    count = _to_count(value)
    if count <= 0:
        raise ValueError("must be greater than zero")
    return count


def _non_negative_count(value: object) -> Count:
    count = _to_count(value)
    if count < 0:
        raise ValueError("must not be negative")
    return count


_money_out = PlainSerializer(lambda m: Money(m).dollars_str(6), return_type=str)
_count_out = PlainSerializer(lambda c: Count(c).fp_str(), return_type=str)

Dollars = Annotated[Money, PlainValidator(_non_negative_money), _money_out]
"""Money >= 0 parsed exactly from a dollar string (or whole dollars)."""
PositiveDollars = Annotated[Money, PlainValidator(_positive_money), _money_out]
"""Money > 0 parsed exactly from a dollar string (or whole dollars)."""
Contracts = Annotated[Count, PlainValidator(_non_negative_count), _count_out]
"""Count >= 0 from whole contracts or a two-decimal string."""
PositiveContracts = Annotated[Count, PlainValidator(_positive_count), _count_out]
"""Count > 0 from whole contracts or a two-decimal string."""

_FROZEN = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)


class PriceExitMetric(StrEnum):
    """What take profit and stop loss measure.

    ``move``: the move of the exit price (best bid of the side held) from the exit price at entry,
    in cents -- the round trip's spread is excluded by construction, so a position bought by
    crossing the spread is at 0, not at -spread, the moment it fills. ``pct``: pnl% of cost basis
    after the estimated exit fee (the older rule; it fires on the entry spread alone for cheap
    contracts, kept for comparison in backtests).
    """

    MOVE = "move"
    PCT = "pct"


class ExitRulesConfig(BaseModel):
    """When to close a position (ARCHITECTURE §6). Every rule can be switched off on its own.

    * ``price_exit_metric`` ("move"): ``move`` (cents of move of the exit price since entry) or
      ``pct`` (pnl% of cost); see ``PriceExitMetric``.
    * ``take_profit_enabled`` (True): run the take-profit rule.
    * ``take_profit_cents`` (2, cents, > 0): with ``move``, close when the exit price rose this much
      above the exit price at entry.
    * ``stop_loss_cents`` (2, cents, > 0): with ``move``, close when the exit price fell this much
      below the exit price at entry. 2/2 had the best P&L after fees of the backtest sweep
      (``bench/sweep_exits.py``, README "Exits"); every setting lost money with today's policies.
    * ``scale_to_range`` (False): with ``move``, shrink each threshold in proportion to the room the
      price has in that direction (room / 50¢, at most 1, at least one grid tick): a contract at 95¢
      cannot rise 6¢.
    * ``take_profit_pct`` (20, percent of cost basis, > 0): with ``pct``, close when pnl% after the
      estimated exit fee is >= this.
    * ``stop_loss_enabled`` (True): run the stop-loss rule.
    * ``stop_loss_pct`` (10, percent of cost basis, 0 < x <= 100): with ``pct``, close when
      pnl% <= -this.
    * ``max_hold_enabled`` (True): run the max-hold-time rule.
    * ``max_hold_s`` (3600, seconds, > 0): close a position held this long since it was opened.
    * ``market_closing_enabled`` (True): run the market-closing rule.
    * ``market_closing_s`` (300, seconds, >= 0): close when the market closes within this many
      seconds, or is no longer active.
    * ``cash_recovery_enabled`` (True): run the cash-recovery rule.
    * ``cash_reserve_dollars`` ("100.00", dollars, >= 0): available cash below this starts recovery.
    * ``cash_recovery_buffer_dollars`` ("25.00", dollars, >= 0): recovery closes positions until
      projected cash >= reserve + buffer, so it does not trigger again at the next tick.
    * ``stuck_enabled`` (True): run the stuck-close escalation.
    * ``stuck_close_after_s`` (60, seconds, > 0): a closing order unfilled this long since it was
      last priced is re-priced toward the touch.
    * ``stuck_reprice_steps`` (1, grid steps, >= 1): how far one re-price moves the limit.
    * ``stuck_cross_after_s`` (180, seconds, >= stuck_close_after_s): a closing order this old
      (since first placed) is re-priced to the best bid, crossing the spread.
    * ``reactive_price_rules`` (True): evaluate take profit and stop loss on every book change of a
      held market and on every fill of ours, not only at calibration.
    * ``time_rules_interval_s`` (1.0, seconds, > 0): how often the time rules (max hold, market
      closing, cash recovery, stuck) run between calibrations.
    """

    model_config = _FROZEN

    price_exit_metric: PriceExitMetric = PriceExitMetric.MOVE
    take_profit_cents: Decimal = Field(default=Decimal(2), gt=0, le=100)
    stop_loss_cents: Decimal = Field(default=Decimal(2), gt=0, le=100)
    scale_to_range: bool = False
    take_profit_enabled: bool = True
    take_profit_pct: Decimal = Field(default=Decimal(20), gt=0)
    stop_loss_enabled: bool = True
    stop_loss_pct: Decimal = Field(default=Decimal(10), gt=0, le=100)
    max_hold_enabled: bool = True
    max_hold_s: int = Field(default=3600, gt=0)
    market_closing_enabled: bool = True
    market_closing_s: int = Field(default=300, ge=0)
    cash_recovery_enabled: bool = True
    cash_reserve_dollars: Dollars = Money.dollars(100)
    cash_recovery_buffer_dollars: Dollars = Money.dollars(25)
    stuck_enabled: bool = True
    stuck_close_after_s: int = Field(default=60, gt=0)
    stuck_reprice_steps: int = Field(default=1, ge=1)
    stuck_cross_after_s: int = Field(default=180, gt=0)
    reactive_price_rules: bool = True
    time_rules_interval_s: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _cross_after_reprice(self) -> Self:
        if self.stuck_cross_after_s < self.stuck_close_after_s:
            raise ValueError("stuck_cross_after_s must be >= stuck_close_after_s")
        return self


class RiskLimits(BaseModel):
    """What the pre-trade risk gate allows. Closing (reduce-only) orders bypass the exposure limits.

    * ``max_order_contracts`` (10, contracts, > 0): largest opening order.
    * ``max_position_contracts_per_market`` (50, contracts, > 0): |position| plus resting opening
      orders in one market, after the order.
    * ``max_total_position_contracts`` (500, contracts, > 0): the same summed over all markets.
    * ``max_total_exposure_dollars`` ("1000.00", dollars, > 0): cost basis of all positions plus
      cash reserved for resting orders plus the order's cost and fee.
    * ``min_cash_reserve_dollars`` ("100.00", dollars, >= 0): available cash left after paying the
      order's cost and worst-case (taker) fee.
    * ``per_market_min_interval_s`` (5, seconds, >= 0): throttle between opening orders in a market.
    * ``circuit_breaker_errors`` (3, errors, >= 1): errors in one market that open its breaker.
    * ``circuit_breaker_window_s`` (60, seconds, > 0): those errors must fall within this window.
    * ``circuit_breaker_cooldown_s`` (300, seconds, > 0): how long an open breaker blocks the market.
    * ``kill_switch_enabled`` (True): deny every opening order on a daily-loss or drawdown breach.
    * ``daily_loss_limit_dollars`` ("200.00", dollars, > 0): realized + unrealized loss today.
    * ``max_drawdown_dollars`` ("300.00", dollars, > 0): equity below its peak.
    * ``require_two_sided_book`` (True): open only where both YES and NO bids exist.
    * ``min_time_to_close_s`` (900, seconds, >= 0): open only in markets closing later than this.
    * ``stop_loss_cooldown_s`` (300, seconds, >= 0): no opening order in a market for this long after
      a stop loss closed a position there (the signal that opened it was wrong; re-entering on the
      next tick of the same signal pays the spread again).
    * ``max_spread_cents`` (10, cents, 1..100): open only where the spread is at most this.
    """

    model_config = _FROZEN

    max_order_contracts: PositiveContracts = Count.contracts(10)
    max_position_contracts_per_market: PositiveContracts = Count.contracts(50)
    max_total_position_contracts: PositiveContracts = Count.contracts(500)
    max_total_exposure_dollars: PositiveDollars = Money.dollars(1000)
    min_cash_reserve_dollars: Dollars = Money.dollars(100)
    per_market_min_interval_s: int = Field(default=5, ge=0)
    circuit_breaker_errors: int = Field(default=3, ge=1)
    circuit_breaker_window_s: int = Field(default=60, gt=0)
    circuit_breaker_cooldown_s: int = Field(default=300, gt=0)
    kill_switch_enabled: bool = True
    daily_loss_limit_dollars: PositiveDollars = Money.dollars(200)
    max_drawdown_dollars: PositiveDollars = Money.dollars(300)
    require_two_sided_book: bool = True
    min_time_to_close_s: int = Field(default=900, ge=0)
    stop_loss_cooldown_s: int = Field(default=300, ge=0)
    max_spread_cents: int = Field(default=10, ge=1, le=100)


class OpenOrdersConfig(BaseModel):
    """Resting opening orders: how long they may wait and how far the book may leave them behind.

    * ``ttl_s`` (30, seconds, > 0): an opening order resting this long is cancelled (the policy
      decides afresh on the next book change, at the new touch).
    * ``max_behind_ticks`` (1, grid ticks, >= 0): an opening order whose price is more than this many
      ticks behind the touch of its side (the book moved away) is cancelled at the next tick.
    * ``passive_improve_ticks`` (1, grid ticks, >= 0): a passive (post-only) opening order is placed
      this many ticks inside the touch when the spread leaves room, else at the touch.
    """

    model_config = _FROZEN

    ttl_s: int = Field(default=30, gt=0)
    max_behind_ticks: int = Field(default=1, ge=0)
    passive_improve_ticks: int = Field(default=1, ge=0)


class QueuePositionsConfig(BaseModel):
    """How the trader keeps its resting orders' queue positions current (``execution.queue_positions``).

    * ``check_s`` (1.0, seconds of wall time, > 0): how often, while orders rest, the tracker looks
      whether a read is due (a look reads nothing from the exchange), and the least time between
      two reads.
    * ``max_age_s`` (15.0, seconds, > 0): the oldest an answer may get while its order rests.
    """

    model_config = _FROZEN

    check_s: float = Field(default=1.0, gt=0)
    max_age_s: float = Field(default=15.0, gt=0)


class CalibrationConfig(BaseModel):
    """How often and how strictly the trader reconciles with the exchange (ARCHITECTURE §3).

    * ``interval_s`` (60, seconds, > 0): time between periodic calibrations.
    * ``fill_lookback_s`` (3600, seconds, > 0): how far back fills are read when no fill was seen
      yet (later passes read from the last seen fill).
    * ``not_found_misses_before_gone`` (3, reads, >= 1): consecutive "not found" reads before an
      order in flight is taken as gone (the read path lags the write path).
    * ``closing_order_max_age_s`` (300, seconds, > 0): a closing order older than this is reported
      as unhealthy.
    * ``cash_drift_tolerance_dollars`` ("0.01", dollars, >= 0): cash drift above this is a warning;
      any drift is still corrected and logged.
    * ``position_drift_tolerance_contracts`` (0, contracts, >= 0): likewise for positions.
    * ``max_duration_s`` (30, seconds, > 0): a calibration that takes longer fails.
    """

    model_config = _FROZEN

    interval_s: int = Field(default=60, gt=0)
    fill_lookback_s: int = Field(default=3600, gt=0)
    not_found_misses_before_gone: int = Field(default=3, ge=1)
    closing_order_max_age_s: int = Field(default=300, gt=0)
    cash_drift_tolerance_dollars: Dollars = Money.from_cents(1)
    position_drift_tolerance_contracts: Contracts = Count(0)
    max_duration_s: int = Field(default=30, gt=0)


class OrderGroupMode(StrEnum):
    """How orders are grouped for Kalshi's order-group contract limit."""

    OFF = "off"
    GLOBAL = "global"
    PER_MARKET = "per_market"


class OrderGroupConfig(BaseModel):
    """Kalshi order groups: a rolling 15 s contracts limit that cancels the group's orders when hit.

    * ``mode`` ("off"): ``off``, ``global`` (one group for every order) or ``per_market``.
    * ``contracts_limit`` (100, contracts, > 0): the group's limit sent to the exchange.
    * ``reset_cooldown_s`` (60, seconds, >= 0): wait after a trigger before resetting the group.
    * ``max_resets_per_hour`` (4, resets, >= 0): more triggers than this in an hour leave the group
      triggered (trading in it stops) until an operator acts.
    * ``delete_on_stop`` (True): delete our groups when the trader stops (else leave them).
    """

    model_config = _FROZEN

    mode: OrderGroupMode = OrderGroupMode.OFF
    contracts_limit: PositiveContracts = Count.contracts(100)
    reset_cooldown_s: int = Field(default=60, ge=0)
    max_resets_per_hour: int = Field(default=4, ge=0)
    delete_on_stop: bool = True
