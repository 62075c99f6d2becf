"""Net-position accounting for one account in one market.

Kalshi nets YES against NO: buying YES while holding NO closes NO contracts (each YES+NO pair is
worth exactly $1, so closing k NO contracts by buying YES at p returns k x (1 - p)). Positions are
signed (+YES, -NO). The cost basis of the open position shrinks pro rata when it is partly closed,
and what closing returns above that cost is realized P&L. Cash is exact: the function returns the
exact cash change of the fill before balance-precision rounding.

Money conservation across the whole exchange follows from this: every opened pair puts $1 into
escrow (YES buyer pays p, NO buyer pays 1 - p), every closed pair takes $1 out.
"""

from __future__ import annotations

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim.state import Position


def closable(position: int, side: BookSide) -> int:
    """How much of an order on ``side`` would close (not open) exposure: NO held for a bid, YES for an ask."""
    if side is BookSide.BID:
        return -position if position < 0 else 0
    return position if position > 0 else 0


def opening_cost_per_contract(side: BookSide, yes_price: int) -> int:
    """Price paid per contract (in $0.0001) when an order on ``side`` opens exposure."""
    return yes_price if side is BookSide.BID else PRICE_SCALE - yes_price


def apply_fill(pos: Position, side: BookSide, yes_price: int, count: int, fee: int, ts_ms: int) -> int:
    """Book a fill of ``count`` at ``yes_price`` on ``side`` into ``pos``; return the exact cash change.
    Fees reduce cash but not the cost basis; they accumulate in ``fees_paid``.
    """
    own_price = opening_cost_per_contract(side, yes_price)  # price of the outcome bought
    other_price = PRICE_SCALE - own_price  # price the opposite holding is closed at
    held = abs(pos.position)
    closing = min(count, closable(pos.position, side))
    opening = count - closing
    cash = 0
    if closing:
        cost_removed = pos.cost if closing == held else pos.cost * closing // held
        proceeds = other_price * closing
        pos.cost -= cost_removed
        pos.realized_pnl += proceeds - cost_removed
        cash += proceeds
        pos.position += closing if side is BookSide.BID else -closing
    if opening:
        paid = own_price * opening
        pos.cost += paid
        cash -= paid
        pos.position += opening if side is BookSide.BID else -opening
        if side is BookSide.BID:
            pos.yes_total_cost += paid
        else:
            pos.no_total_cost += paid
    pos.fees_paid += fee
    pos.total_traded += own_price * count
    pos.volume += count
    pos.last_updated_ms = ts_ms
    return cash - fee
