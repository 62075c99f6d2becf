"""Max order size: one opening order may not exceed ``max_order_contracts``.

A fat-finger guard on what the policy asks for. Closes are exempt: a close sells the whole position,
which may have been built from several orders.
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


class OrderSize:
    name = "order_size"
    short_desc = "order size within the per-order maximum"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        if intent.count <= limits.max_order_contracts:
            return None
        return deny(
            self.name,
            RiskReason.ORDER_TOO_LARGE,
            f"{intent.count.fp_str()} > {limits.max_order_contracts.fp_str()} contracts",
        )
