"""Take profit: close a position whose exit price rose enough since entry (or, ``pct``, whose pnl% did).

``move`` (default): the exit price (best bid of the side held) is ``take_profit_cents`` or more above
the exit price at entry -- a move the position can lock in by selling at the bid now. With
``scale_to_range`` the distance shrinks with the room left below $1, so the rule can still fire for
a contract bought at 90¢. ``pct``: pnl% after the estimated exit fee >= ``take_profit_pct``
(fee-aware; exact fractions, exactly +20% fires).
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


class TakeProfit:
    name = ExitReason.TAKE_PROFIT
    short_desc = "the exit price rose the take-profit distance above its level at entry"

    def enabled(self, config: ExitRulesConfig) -> bool:
        return config.take_profit_enabled

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]:
        config = ctx.config
        return close_each(ctx.open_holdings, self.name, lambda holding: _fires(holding, config))


def _fires(holding: Holding, config: ExitRulesConfig) -> str | None:
    valuation = holding.valuation
    if valuation is None:
        return None
    if config.price_exit_metric is PriceExitMetric.PCT:
        if valuation.pnl_pct is None or valuation.pnl_pct < Fraction(config.take_profit_pct):
            return None
        return f"{pnl_text(valuation)} >= +{config.take_profit_pct}%"
    move = price_move(holding, config)
    if move is None or move.move < move.take_profit:
        return None
    return f"{move_text(move, valuation)} >= +{config.take_profit_cents}¢"
