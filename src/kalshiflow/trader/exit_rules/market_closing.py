"""Market closing: leave a market before it stops trading, or once it is no longer active.

A position left in a closing market is exposed to settlement (all or nothing) and can no longer be
sold, so it is closed ``market_closing_s`` before ``close_time`` -- exactly at the boundary fires.
A market that is no longer active (closed, paused, determined ...) also yields a decision so the
trader records why it wanted out; the risk gate decides whether an order can actually be sent.
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


class MarketClosing:
    name = ExitReason.MARKET_CLOSING
    short_desc = "market closes soon or is no longer active"

    def enabled(self, config: ExitRulesConfig) -> bool:
        return config.market_closing_enabled

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]:
        window_ms = ctx.config.market_closing_s * 1000
        decisions: list[ExitDecision] = []
        for holding in ctx.open_holdings:
            market = holding.market
            to_close_ms = market.close_time_ms - ctx.now_ms
            if market.is_active and to_close_ms > window_ms:
                continue
            if holding.valuation is None:
                continue
            why = (
                f"market {market.status}"
                if not market.is_active
                else f"closes in {max(to_close_ms, 0) // 1000}s <= {ctx.config.market_closing_s}s"
            )
            decision = close_at_bid(holding, self.name, f"{why}; {pnl_text(holding.valuation)}")
            if decision is not None:
                decisions.append(decision)
        return decisions
