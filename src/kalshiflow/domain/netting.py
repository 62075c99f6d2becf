"""Net-position arithmetic shared by the simulator's accounts and the trader's ledger.

Kalshi nets YES against NO: buying YES while holding NO closes NO contracts, because a YES+NO pair
is worth exactly $1; closing k NO contracts by buying YES at p returns k x (1 - p). Positions are
signed (+YES, -NO). When a position is partly closed, its cost basis shrinks pro rata (integer
floor; the last contract takes the remainder, so nothing is ever lost to rounding).
"""

from __future__ import annotations

from dataclasses import dataclass

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import PRICE_SCALE


def closable(position: int, side: BookSide) -> int:
    """How much of an order on ``side`` would close (not open) exposure: NO held for a bid, YES for an ask."""
    if side is BookSide.BID:
        return -position if position < 0 else 0
    return position if position > 0 else 0


def opening_cost_per_contract(side: BookSide, yes_price: int) -> int:
    """Price (in $0.0001) of the outcome an order on ``side`` buys: YES price for a bid, 1 - it for an ask."""
    return yes_price if side is BookSide.BID else PRICE_SCALE - yes_price


@dataclass(frozen=True, slots=True)
class NetFill:
    """What one fill does to a net position (all exact integers)."""

    position: int  # signed position after the fill (0.01 contracts)
    cost: int  # cost basis of the remaining position (Money)
    closed: int  # contracts of the old position closed (0.01 contracts)
    opened: int  # contracts of new exposure (0.01 contracts)
    proceeds: int  # Money returned by closing
    cost_removed: int  # Money of cost basis released by closing
    paid: int  # Money paid for the opened part

    @property
    def cash_change(self) -> int:
        """Exact cash effect before fees."""
        return self.proceeds - self.paid

    @property
    def realized(self) -> int:
        """P&L locked in by the closed part, before fees."""
        return self.proceeds - self.cost_removed


def net_fill(position: int, cost: int, side: BookSide, yes_price: int, count: int) -> NetFill:
    """Apply a fill of ``count`` on ``side`` at ``yes_price`` to a position with cost basis ``cost``."""
    own_price = opening_cost_per_contract(side, yes_price)
    held = abs(position)
    closing = min(count, closable(position, side))
    opening = count - closing
    direction = 1 if side is BookSide.BID else -1
    cost_removed = 0
    if closing:
        cost_removed = cost if closing == held else cost * closing // held
    proceeds = (PRICE_SCALE - own_price) * closing
    paid = own_price * opening
    return NetFill(
        position=position + direction * count,
        cost=cost - cost_removed + paid,
        closed=closing,
        opened=opening,
        proceeds=proceeds,
        cost_removed=cost_removed,
        paid=paid,
    )
