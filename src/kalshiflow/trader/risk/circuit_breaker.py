"""Circuit breaker per market: repeated errors disable a market for a cool-down.

The breaker *opens* at the latest error that completes ``circuit_breaker_errors`` errors within a
``circuit_breaker_window_s`` window (half-open: errors exactly a window apart do not count
together) and stays open for ``circuit_breaker_cooldown_s`` after that error. It applies to every
order, closes included: an exchange that keeps rejecting a market must not be hammered, and a close
will be retried once the breaker closes. State is the list of error times, passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kalshiflow.trader.config import RiskLimits
from kalshiflow.trader.risk.types import (
    OrderExposure,
    OrderIntent,
    RiskContext,
    RiskDecision,
    RiskReason,
    deny,
)


@dataclass(frozen=True, slots=True)
class BreakerState:
    is_open: bool
    tripped_at_ms: int | None = None  # error that opened it (the latest trip)
    closes_at_ms: int | None = None  # when it closes again, if open


def breaker_state(error_times_ms: Iterable[int], now_ms: int, limits: RiskLimits) -> BreakerState:
    """State of a market's breaker at ``now_ms`` from its error times (errors after now ignored)."""
    times = sorted(t for t in error_times_ms if t <= now_ms)
    needed = limits.circuit_breaker_errors
    window_ms = limits.circuit_breaker_window_s * 1000
    tripped: int | None = None
    for last in range(needed - 1, len(times)):
        if times[last] - times[last - needed + 1] < window_ms:
            tripped = times[last]
    if tripped is None:
        return BreakerState(False)
    closes_at = tripped + limits.circuit_breaker_cooldown_s * 1000
    if now_ms >= closes_at:
        return BreakerState(False, tripped, None)
    return BreakerState(True, tripped, closes_at)


class CircuitBreaker:
    name = "circuit_breaker"
    short_desc = "market disabled for a cool-down after repeated errors"
    applies_to_closing = True

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        errors = ctx.market_state.error_times_ms
        if not errors:  # the common case: no error ever, nothing to work out
            return None
        state = breaker_state(errors, now_ms, limits)
        if not state.is_open or state.closes_at_ms is None:
            return None
        return deny(
            self.name,
            RiskReason.CIRCUIT_BREAKER_OPEN,
            f"{limits.circuit_breaker_errors} errors within {limits.circuit_breaker_window_s}s; "
            f"closed again in {(state.closes_at_ms - now_ms + 999) // 1000}s",
        )
