"""Cash recovery: when available cash is below the reserve, close the worst performers first.

Projected cash starts from available cash plus what closes already under way would bring in (this
round's higher-priority decisions and resting closing orders, each at its net proceeds: exit bid
minus the estimated taker fee). Positions are then closed in order of pnl% (lowest first, ticker as
tie-break; positions without a pnl% -- zero cost basis -- last) until projected cash reaches
reserve + buffer. The buffer keeps the rule from firing again as soon as cash dips by a cent.
Positions with no bid bring nothing in and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from kalshiflow.domain.units import Money
from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.exit_rules.base import (
    ExitContext,
    ExitDecision,
    ExitReason,
    Holding,
    close_at_bid,
    pnl_text,
)


def _worst_first(holding: Holding) -> tuple[bool, Fraction, str]:
    pct = None if holding.valuation is None else holding.valuation.pnl_pct
    return (pct is None, Fraction(0) if pct is None else pct, holding.ticker)


def projected_cash(ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> Money:
    """Available cash plus net proceeds of closes decided this round or already resting."""
    projected = int(ctx.cash.available)
    counted: set[str] = set()
    for decision in decided.values():
        projected += decision.valuation.net_proceeds
        counted.add(decision.ticker)
    for ticker in ctx.closing_orders:
        holding = ctx.by_ticker.get(ticker)
        if ticker in counted or holding is None or holding.valuation is None:
            continue
        projected += holding.valuation.net_proceeds
    return Money(projected)


class CashRecovery:
    name = ExitReason.CASH_RECOVERY
    short_desc = "available cash below the reserve: close worst pnl% first"

    def enabled(self, config: ExitRulesConfig) -> bool:
        return config.cash_recovery_enabled

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]:
        reserve = ctx.config.cash_reserve_dollars
        if ctx.cash.available >= reserve:
            return []
        target = Money(reserve + ctx.config.cash_recovery_buffer_dollars)
        projected = projected_cash(ctx, decided)
        candidates = sorted(
            (h for h in ctx.open_holdings if h.ticker not in decided and h.valuation is not None),
            key=_worst_first,
        )
        decisions: list[ExitDecision] = []
        for holding in candidates:
            if projected >= target or holding.valuation is None:
                break
            projected = Money(projected + holding.valuation.net_proceeds)
            detail = (
                f"cash ${ctx.cash.available.dollars_str()} < reserve ${reserve.dollars_str()}; "
                f"projected ${projected.dollars_str()} of ${target.dollars_str()}; "
                f"{pnl_text(holding.valuation)}"
            )
            decision = close_at_bid(holding, self.name, detail)
            if decision is not None:
                decisions.append(decision)
        return decisions
