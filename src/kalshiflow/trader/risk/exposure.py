"""Total exposure in dollars: money at risk in positions and resting orders, after the order.

Exposure is the cost basis of every open position plus the cash reserved for resting buys plus what
the order's opening part could cost (notional and taker fee). Dollars, not contracts, because a
contract at $0.95 risks nineteen times one at $0.05.
"""

from __future__ import annotations

from kalshiflow.domain.units import Money
from kalshiflow.trader.config import RiskLimits
from kalshiflow.trader.risk.types import (
    OrderExposure,
    OrderIntent,
    RiskContext,
    RiskDecision,
    RiskReason,
    deny,
)


class ExposureLimit:
    name = "exposure_limit"
    short_desc = "dollars at risk (positions, resting buys, this order) within the limit"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        if ctx.market is None:
            return None
        cost = exposure.cost
        if cost == 0:
            return None
        after = Money(ctx.cost_held() + ctx.cash.reserved + cost)
        if after <= limits.max_total_exposure_dollars:
            return None
        return deny(
            self.name,
            RiskReason.EXPOSURE_LIMIT,
            f"exposure ${after.dollars_str()} after the order > "
            f"${limits.max_total_exposure_dollars.dollars_str()}",
        )
