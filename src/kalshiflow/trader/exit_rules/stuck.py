"""Stuck closes: a closing order that does not fill is moved toward the touch, then across it.

A close is placed at the exit bid, but the bid can move away before the order fills and leave it
resting above the market. Escalation, decided from the order's timestamps:

1. ``stuck_close_after_s`` after the order was (re-)priced, lower the limit by
   ``stuck_reprice_steps`` grid steps, never below the current best bid of the side held;
2. once the close is ``stuck_cross_after_s`` old (since first placed), price it at the best bid,
   which crosses the spread and takes the bid.

Each evaluation moves at most one stage, so repeated evaluations step the price down over time. An
order already at or through the bid is marketable and left alone; without a bid there is nothing to
cross into (calibration reports such positions). Decisions still close the whole current position
and name the order they replace.
"""

from __future__ import annotations

from collections.abc import Mapping

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Price
from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.exit_rules.base import (
    ClosingOrderView,
    ExitContext,
    ExitDecision,
    ExitReason,
    Holding,
)


def order_side_price(order: ClosingOrderView, side: OutcomeSide) -> Price:
    """The closing order's limit as a price of the side held (it sells that side)."""
    return order.yes_price if side is OutcomeSide.YES else order.yes_price.complement()


class Stuck:
    name = ExitReason.STUCK
    short_desc = "closing order unfilled too long: re-price toward the touch, then cross"

    def enabled(self, config: ExitRulesConfig) -> bool:
        return config.stuck_enabled

    def evaluate(self, ctx: ExitContext, decided: Mapping[str, ExitDecision]) -> list[ExitDecision]:
        decisions: list[ExitDecision] = []
        for order in ctx.closing_orders.values():
            holding = ctx.by_ticker.get(order.ticker)
            if holding is None or order.ticker in decided:
                continue
            decision = self._escalate(ctx, order, holding)
            if decision is not None:
                decisions.append(decision)
        return decisions

    def _escalate(self, ctx: ExitContext, order: ClosingOrderView, holding: Holding) -> ExitDecision | None:
        valuation = holding.valuation
        if valuation is None:
            return None
        config = ctx.config
        age_ms = ctx.now_ms - order.placed_at_ms
        crossing = age_ms >= config.stuck_cross_after_s * 1000
        if not crossing and ctx.now_ms - order.last_priced_ms < config.stuck_close_after_s * 1000:
            return None
        grid = holding.market.grid
        current = order_side_price(order, valuation.side)
        bid = grid.nearest(valuation.exit_price, "down")
        if current <= bid:
            return None
        if crossing:
            target, stage = bid, "cross to bid"
        else:
            stepped = grid.step_down(current, config.stuck_reprice_steps)
            target = bid if stepped is None or stepped < bid else stepped
            stage = f"re-price {config.stuck_reprice_steps} step(s)"
        detail = (
            f"closing order {order.client_order_id} unfilled {age_ms // 1000}s; {stage}: "
            f"{valuation.side} {current.dollars_str()} -> {target.dollars_str()} "
            f"(bid {valuation.exit_price.dollars_str()})"
        )
        return ExitDecision(
            ticker=holding.ticker,
            reason=self.name,
            detail=detail,
            side=valuation.side,
            close_count=valuation.count,
            limit_price=target,
            valuation=valuation,
            replaces_client_order_id=order.client_order_id,
        )
