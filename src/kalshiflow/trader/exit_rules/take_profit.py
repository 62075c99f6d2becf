"""Take profit: close a position whose pnl%, after the estimated exit fee, reached the target.

Fee-aware on purpose: a position that is +20% before the exit fee but not after it has not made
20% and is left alone. The comparison is on exact fractions, so exactly +20% fires.
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


class TakeProfit:
    name = ExitReason.TAKE_PROFIT
    short_desc = "pnl% after the exit fee reached the take-profit target"

    def enabled(self, config: ExitRulesConfig) -> bool:
        return config.take_profit_enabled

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]:
        target = Fraction(ctx.config.take_profit_pct)
        decisions: list[ExitDecision] = []
        for holding in ctx.open_holdings:
            valuation = holding.valuation
            if valuation is None or valuation.pnl_pct is None or valuation.pnl_pct < target:
                continue
            detail = f"{pnl_text(valuation)} >= +{ctx.config.take_profit_pct}%"
            decision = close_at_bid(holding, self.name, detail)
            if decision is not None:
                decisions.append(decision)
        return decisions
