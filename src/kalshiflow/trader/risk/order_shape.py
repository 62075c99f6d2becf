"""Order shape: a positive count at a tradable price of the market's grid; reduce-only that reduces.

Runs for every order, closes included: a malformed order is a bug that must never reach the
exchange, and a "reduce-only" order that would grow or flip the position must not use the flag to
skip the exposure limits.
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
    reduces,
)


class OrderShape:
    name = "order_shape"
    short_desc = "positive count, price on the market grid, reduce-only really reduces"
    applies_to_closing = True

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        if intent.count <= 0:
            return deny(self.name, RiskReason.INVALID_ORDER, f"count {intent.count.fp_str()} is not positive")
        grid = None if ctx.market is None else ctx.market.grid
        if grid is not None and not (grid.is_valid(intent.price) and grid.is_valid(intent.yes_price)):
            return deny(
                self.name,
                RiskReason.INVALID_ORDER,
                f"price {intent.price.dollars_str()} is not a tradable grid price",
            )
        position = exposure.position
        if intent.reduce_only and not reduces(intent, position):
            return deny(
                self.name,
                RiskReason.NOT_REDUCING,
                f"{intent.action} {intent.count.fp_str()} does not reduce position {position / 100:+.2f}",
            )
        return None
