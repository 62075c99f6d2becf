"""Stop loss: close a position whose exit price fell too far since entry (or, ``pct``, whose pnl% did).

``move`` (default): the exit price (best bid of the side held) has fallen ``stop_loss_cents`` or
more below the exit price at entry. Measured from the exit price at entry, the spread paid to get in
is not a loss the rule reacts to: a position bought at the ask sits at 0, not at -spread, when it
fills. ``pct``: pnl% after the estimated exit fee <= -``stop_loss_pct`` (exact fractions; exactly
-10% fires). A stop loss starts the market's re-entry cooldown (``RiskLimits.stop_loss_cooldown_s``).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from kalshiflow.trader.config import ExitRulesConfig, PriceExitMetric
from kalshiflow.trader.exit_rules.base import (
    ExitContext,
    ExitDecision,
    ExitReason,
    Holding,
    close_each,
    move_text,
    pnl_text,
    price_move,
)


class StopLoss:
    name = ExitReason.STOP_LOSS
    short_desc = "the exit price fell the stop-loss distance below its level at entry"

    def enabled(self, config: ExitRulesConfig) -> bool:
        return config.stop_loss_enabled

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]:
        config = ctx.config
        return close_each(ctx.open_holdings, self.name, lambda holding: _fires(holding, config))


def _fires(holding: Holding, config: ExitRulesConfig) -> str | None:
    valuation = holding.valuation
    if valuation is None:
        return None
    if config.price_exit_metric is PriceExitMetric.PCT:
        if valuation.pnl_pct is None or valuation.pnl_pct > -Fraction(config.stop_loss_pct):
            return None
        return f"{pnl_text(valuation)} <= -{config.stop_loss_pct}%"
    move = price_move(holding, config)
    if move is None or move.move > -move.stop_loss:
        return None
    return f"{move_text(move, valuation)} <= -{config.stop_loss_cents}¢"
