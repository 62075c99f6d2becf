"""Max hold time: close a position held for at least ``max_hold_s`` since it was opened.

Bounds how long capital sits in one idea regardless of P&L. Exactly ``max_hold_s`` fires.
"""

from __future__ import annotations

from collections.abc import Mapping

from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.exit_rules.base import (
    ExitContext,
    ExitDecision,
    ExitReason,
    Holding,
    close_each,
    pnl_text,
)


class MaxHold:
    name = ExitReason.MAX_HOLD_TIME
    short_desc = "position held for the maximum hold time"

    def enabled(self, config: ExitRulesConfig) -> bool:
        return config.max_hold_enabled

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]:
        limit_s, now_ms = ctx.config.max_hold_s, ctx.now_ms

        def fires(holding: Holding) -> str | None:
            held_ms = now_ms - holding.position.opened_at_ms
            if held_ms < limit_s * 1000 or holding.valuation is None:
                return None
            return f"held {held_ms // 1000}s >= {limit_s}s; {pnl_text(holding.valuation)}"

        return close_each(ctx.open_holdings, self.name, fires)
