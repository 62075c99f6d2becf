"""Booking fills into the simulator's account positions (Kalshi's ``market_exposure`` excludes fees).

The netting arithmetic is shared with the trader (``kalshiflow.domain.netting``); this module adds
the simulator's bookkeeping: realized P&L, fees paid, totals traded, settlement cost tracking.
Money conservation across the exchange follows from the netting rule: every opened pair puts $1 into
escrow (YES buyer pays p, NO buyer pays 1 - p), every closed pair takes $1 out.
"""

from __future__ import annotations

from kalshiflow.domain.netting import closable, net_fill, opening_cost_per_contract
from kalshiflow.domain.orders import BookSide
from kalshiflow.sim.state import Position

__all__ = ["apply_fill", "closable", "opening_cost_per_contract"]


def apply_fill(pos: Position, side: BookSide, yes_price: int, count: int, fee: int, ts_ms: int) -> int:
    """Book a fill of ``count`` at ``yes_price`` on ``side`` into ``pos``; return the exact cash change.

    Fees reduce cash but not the cost basis; they accumulate in ``fees_paid``.
    """
    result = net_fill(pos.position, pos.cost, side, yes_price, count)
    pos.position = result.position
    pos.cost = result.cost
    pos.realized_pnl += result.realized
    if result.opened:
        if side is BookSide.BID:
            pos.yes_total_cost += result.paid
        else:
            pos.no_total_cost += result.paid
    pos.fees_paid += fee
    pos.total_traded += opening_cost_per_contract(side, yes_price) * count
    pos.volume += count
    pos.last_updated_ms = ts_ms
    return result.cash_change - fee
