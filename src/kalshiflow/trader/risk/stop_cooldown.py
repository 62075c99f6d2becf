"""Re-entry cooldown: no opening order in a market for ``stop_loss_cooldown_s`` after a stop loss there.

Why: a stop loss says the signal that opened the position was wrong; the same signal is often still
there a second later, and re-entering at once pays the spread and the fees again for the same bet.
Closes are never held back by it.
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


class StopLossCooldown:
    name = "stop_loss_cooldown"
    short_desc = "no re-entry into a market soon after a stop loss there"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        stopped = ctx.market_state.last_stop_loss_ms
        cooldown_ms = limits.stop_loss_cooldown_s * 1000
        if stopped is None or now_ms - stopped >= cooldown_ms:
            return None
        return deny(
            self.name,
            RiskReason.STOP_LOSS_COOLDOWN,
            f"stop loss {now_ms - stopped}ms ago < {limits.stop_loss_cooldown_s}s",
        )
