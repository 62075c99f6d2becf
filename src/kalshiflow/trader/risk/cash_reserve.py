"""Cash reserve: an opening order must leave at least ``min_cash_reserve_dollars`` available.

The order's cost is its opening part's notional plus the worst-case (taker) fee, so the reserve
holds even if the order crosses. Keeping a reserve is what lets exits and fees always be paid.
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


class CashReserve:
    name = "cash_reserve"
    short_desc = "available cash after the order's cost and fee stays above the reserve"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        if ctx.market is None:
            return None
        cost = exposure.cost
        left = ctx.cash.available - cost
        if cost == 0 or left >= limits.min_cash_reserve_dollars:
            return None
        return deny(
            self.name,
            RiskReason.CASH_RESERVE,
            f"cash ${ctx.cash.available.dollars_str()} - cost ${Money(cost).dollars_str()} = "
            f"${Money(left).dollars_str()} < reserve ${limits.min_cash_reserve_dollars.dollars_str()}",
        )
