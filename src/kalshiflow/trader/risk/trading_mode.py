"""Trading mode: no new exposure while the trader is reduce-only or the market is being closed.

ARCHITECTURE §3: while calibrating or paused the trader is reduce-only, and a market that is being
closed accepts no opening orders (an opening buy would fight the close).
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


class TradingMode:
    name = "trading_mode"
    short_desc = "trader reduce-only or market being closed: no opening orders"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        if ctx.reduce_only_mode:
            return deny(self.name, RiskReason.TRADER_REDUCE_ONLY, "trader is reduce-only")
        if ctx.market_state.being_closed:
            return deny(self.name, RiskReason.MARKET_BEING_CLOSED, f"{intent.ticker} is being closed")
        return None
