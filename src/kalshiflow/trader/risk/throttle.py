"""Per-market throttle: at least ``per_market_min_interval_s`` between opening orders in a market.

Stops a policy that re-decides on every book delta from spraying orders into one market. Closes are
not throttled: an exit must never wait on a smoothing knob (the circuit breaker still guards
against a loop of failing orders).
"""

from __future__ import annotations

from kalshiflow.trader.config import RiskLimits
from kalshiflow.trader.risk.types import (
    OrderExposure,
    OrderIntent,
    RiskContext,
    RiskDecision,
    RiskReason,
    deny,
)


class Throttle:
    name = "throttle"
    short_desc = "minimum interval between orders in one market"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        last = ctx.market_state.last_order_at_ms
        interval_ms = limits.per_market_min_interval_s * 1000
        if last is None or now_ms - last >= interval_ms:
            return None
        return deny(
            self.name,
            RiskReason.THROTTLED,
            f"last order {now_ms - last}ms ago < {limits.per_market_min_interval_s}s",
        )
