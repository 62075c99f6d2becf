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
    close_at_bid,
    pnl_text,
)


class MaxHold:
    name = ExitReason.MAX_HOLD_TIME
    short_desc = "position held for the maximum hold time"

    def enabled(self, config: ExitRulesConfig) -> bool:
        return config.max_hold_enabled

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]:
        limit_ms = ctx.config.max_hold_s * 1000
        decisions: list[ExitDecision] = []
        for holding in ctx.open_holdings:
            held_ms = ctx.now_ms - holding.position.opened_at_ms
            if held_ms < limit_ms or holding.valuation is None:
                continue
            detail = f"held {held_ms // 1000}s >= {ctx.config.max_hold_s}s; {pnl_text(holding.valuation)}"
            decision = close_at_bid(holding, self.name, detail)
            if decision is not None:
                decisions.append(decision)
        return decisions
