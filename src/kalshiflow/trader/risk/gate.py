"""The risk gate: every order passes ``check_order`` before it is sent.

``RISK_CHECKS`` lists the checks in the order they run; the first denial wins, so the cheapest and
most fundamental come first. Adding a check is one module and one line here. A reduce-only (closing)
order runs only the checks with ``applies_to_closing`` -- order shape, circuit breaker, market
active -- and so bypasses the kill switch, throttle and every exposure limit: reducing risk is never
blocked by a risk limit, but a market that keeps erroring is still left alone.
"""

from __future__ import annotations

from functools import lru_cache

from kalshiflow.trader.config import RiskLimits
from kalshiflow.trader.risk.cash_reserve import CashReserve
from kalshiflow.trader.risk.circuit_breaker import CircuitBreaker
from kalshiflow.trader.risk.exposure import ExposureLimit
from kalshiflow.trader.risk.kill_switch import KillSwitch
from kalshiflow.trader.risk.market_active import MarketActive
from kalshiflow.trader.risk.order_shape import OrderShape
from kalshiflow.trader.risk.order_size import OrderSize
from kalshiflow.trader.risk.position_limits import MarketPositionLimit, TotalPositionLimit
from kalshiflow.trader.risk.stop_cooldown import StopLossCooldown
from kalshiflow.trader.risk.throttle import Throttle
from kalshiflow.trader.risk.trading_mode import TradingMode
from kalshiflow.trader.risk.types import (
    ALLOWED,
    OrderExposure,
    OrderIntent,
    RiskCheck,
    RiskContext,
    RiskDecision,
)
from kalshiflow.trader.risk.viability import MarketViability

RISK_CHECKS: tuple[RiskCheck, ...] = (
    OrderShape(),
    CircuitBreaker(),
    MarketActive(),
    TradingMode(),
    KillSwitch(),
    MarketViability(),
    Throttle(),
    StopLossCooldown(),
    OrderSize(),
    MarketPositionLimit(),
    TotalPositionLimit(),
    ExposureLimit(),
    CashReserve(),
)


def check_order(
    intent: OrderIntent,
    context: RiskContext,
    limits: RiskLimits,
    now_ms: int,
    checks: tuple[RiskCheck, ...] = RISK_CHECKS,
) -> RiskDecision:
    """Allow or deny ``intent``; a denial names the check, a reason code and a detail."""
    exposure = OrderExposure.of(intent, context)
    if intent.reduce_only:
        checks = _closing_checks(checks)
    # The reduce-only filter is applied once per order, not read twice per check: opening orders,
    # the decision path's, run every check and paid two attribute reads per check for nothing.
    for check in checks:
        denial = check.check(intent, exposure, context, limits, now_ms)
        if denial is not None:
            return denial
    return ALLOWED


@lru_cache(maxsize=8)
def _closing_checks(checks: tuple[RiskCheck, ...]) -> tuple[RiskCheck, ...]:
    """The checks of ``checks`` a reduce-only (closing) order runs, in order."""
    return tuple(check for check in checks if check.applies_to_closing)
