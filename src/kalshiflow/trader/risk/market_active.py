"""Market active: no order of any kind goes to a market that is unknown or not trading.

Closes included: the exchange rejects orders in a closed or paused market, and each rejection would
count toward the circuit breaker. The exit decision is still recorded by the exit rules.
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


class MarketActive:
    name = "market_active"
    short_desc = "market is known and active"
    applies_to_closing = True

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        if ctx.market is None:
            return deny(self.name, RiskReason.MARKET_UNKNOWN, f"no market data for {intent.ticker}")
        if not ctx.market.is_active:
            return deny(self.name, RiskReason.MARKET_NOT_ACTIVE, f"market is {ctx.market.status}")
        return None
