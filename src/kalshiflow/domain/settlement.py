"""Settlement payouts of a net position when a market is determined.

Only the net position settles: a YES holder is paid $1 per contract when the market resolves
``yes``; a NO holder (negative position) is paid $1 per contract when it resolves ``no``; a scalar
result pays YES holders ``value`` and NO holders ``1 - value`` per contract; ``void`` refunds the
position's cost basis.
"""

from __future__ import annotations

from enum import StrEnum

from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price, notional


class MarketResult(StrEnum):
    YES = "yes"
    NO = "no"
    SCALAR = "scalar"
    VOID = "void"


def yes_settlement_value(result: MarketResult, scalar_value: Price | None = None) -> Price | None:
    """What one YES contract pays; None for void (refund at cost)."""
    if result is MarketResult.YES:
        return Price(PRICE_SCALE)
    if result is MarketResult.NO:
        return Price(0)
    if result is MarketResult.SCALAR:
        if scalar_value is None or not 0 <= scalar_value <= PRICE_SCALE:
            raise ValueError("a scalar result needs a settlement value between $0 and $1")
        return scalar_value
    return None


def settlement_payout(
    position: Count, cost_basis: Money, result: MarketResult, scalar_value: Price | None = None
) -> Money:
    """Cash paid for a signed net ``position`` (+YES / -NO) at settlement."""
    per_yes = yes_settlement_value(result, scalar_value)
    if per_yes is None:
        return cost_basis
    if position >= 0:
        return notional(per_yes, position)
    return notional(per_yes.complement(), Count(-position))
