"""Stop loss: close a position whose pnl%, after the estimated exit fee, fell to the loss limit.

The exit fee counts against the position, so a stop fires at the loss a close would really lock in.
Exactly -10% fires (exact fractions, no rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.exit_rules.base import (
    ExitContext,
    ExitDecision,
    ExitReason,
    close_at_bid,
    pnl_text,
)


class StopLoss:
    name = ExitReason.STOP_LOSS
    short_desc = "pnl% after the exit fee fell to the stop-loss limit"

    def enabled(self, config: ExitRulesConfig) -> bool:
        return config.stop_loss_enabled

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]:
        limit = -Fraction(ctx.config.stop_loss_pct)
        decisions: list[ExitDecision] = []
        for holding in ctx.open_holdings:
            valuation = holding.valuation
            if valuation is None or valuation.pnl_pct is None or valuation.pnl_pct > limit:
                continue
            detail = f"{pnl_text(valuation)} <= -{ctx.config.stop_loss_pct}%"
            decision = close_at_bid(holding, self.name, detail)
            if decision is not None:
                decisions.append(decision)
        return decisions
