"""Kill switch: a daily loss or a drawdown beyond its limit stops all new exposure.

Daily loss is realized + unrealized P&L of the day (after fees); drawdown is peak equity minus
equity. Either at or beyond its limit denies every opening order; closes still pass, because getting
out is exactly what a tripped kill switch wants. ``kill_switch_reason`` lets the trader pause on the
same condition the gate uses. An operator can also engage it by hand (the dashboard's kill switch):
that denies every opening order whatever the P&L, and even when the automatic limits are disabled,
until the operator turns it off.
"""

from __future__ import annotations

from kalshiflow.domain.units import Money
from kalshiflow.trader.config import RiskLimits
from kalshiflow.trader.risk.types import (
    OrderExposure,
    OrderIntent,
    PnlView,
    RiskContext,
    RiskDecision,
    RiskReason,
    deny,
)


def kill_switch_reason(pnl: PnlView, limits: RiskLimits) -> tuple[RiskReason, str] | None:
    """The breached limit and a detail, or None when trading may continue."""
    if not limits.kill_switch_enabled:
        return None
    # Plain ints until a limit is hit (every opening order asks): ``Money`` only for the detail.
    loss = -(pnl.daily_realized + pnl.unrealized)
    if loss >= limits.daily_loss_limit_dollars:
        return (
            RiskReason.KILL_SWITCH_DAILY_LOSS,
            f"daily loss ${Money(loss).dollars_str()} >= ${limits.daily_loss_limit_dollars.dollars_str()}",
        )
    drawdown = pnl.peak_equity - pnl.equity
    if drawdown >= limits.max_drawdown_dollars:
        return (
            RiskReason.KILL_SWITCH_DRAWDOWN,
            f"drawdown ${Money(drawdown).dollars_str()} >= ${limits.max_drawdown_dollars.dollars_str()}",
        )
    return None


class KillSwitch:
    name = "kill_switch"
    short_desc = "daily loss or drawdown limit reached: closes only"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        if ctx.manual_kill_switch is not None:
            return deny(
                self.name, RiskReason.KILL_SWITCH_MANUAL, f"kill switch engaged by {ctx.manual_kill_switch}"
            )
        breach = kill_switch_reason(ctx.pnl, limits)
        return None if breach is None else deny(self.name, breach[0], breach[1])
