"""Reservation arithmetic: how much cash the exchange holds back for an order, and frees on a fill.

Pure functions of the order, the position and the other live orders in its market, so the rules
can be tested without a ledger and the ledger only applies their answers. The exchange holds back
the cost of the part of a buy that would *open* exposure, at the order's limit, plus the taker fee
(the worst case); the part that closes what is held (less what other live orders on the same side
already claim) costs nothing up front, and a reduce-only order never holds anything back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.netting import closable, opening_cost_per_contract
from kalshiflow.domain.units import Count, Money
from kalshiflow.features.valuation import taker_fee
from kalshiflow.trader.state.orders import TrackedOrder

FeeTermsOf = Callable[[str], tuple[FeeType, Fraction]]


def cost_with_fee(order: TrackedOrder, contracts: int, fee_terms_of: FeeTermsOf) -> Money:
    """What ``contracts`` of ``order`` cost at its limit, plus the taker fee on them."""
    own = opening_cost_per_contract(order.side, order.yes_price)
    fee_type, multiplier = fee_terms_of(order.ticker)
    return Money(own * contracts + taker_fee(fee_type, multiplier, own, contracts))


def reservation(
    order: TrackedOrder,
    size: Count,
    position: int,
    live_in_market: Iterable[TrackedOrder],
    fee_terms_of: FeeTermsOf,
) -> Money:
    """Cash held back for ``size`` contracts of a new (or re-reserved) ``order``.

    ``position`` is the signed position in the order's market; ``live_in_market`` its live orders
    (``order`` itself may be among them and is skipped): those on the same side have first claim on
    closing what is held.
    """
    if order.reduce_only:  # the exchange never lets it open exposure, so it holds nothing back
        return Money(0)
    room = closable(position, order.side)
    for other in live_in_market:
        if other is not order and other.side is order.side:
            room -= other.remaining
    opening = size - max(0, min(size, room))
    return cost_with_fee(order, opening, fee_terms_of) if opening > 0 else Money(0)


def release_for_fill(order: TrackedOrder, position: int, size: Count, fee_terms_of: FeeTermsOf) -> Money:
    """Cash the exchange frees when ``size`` of ``order`` fills: what its opening part cost at the
    limit (+ taker fee); everything still held when the fill completes the order. Never more than
    the order holds."""
    if size >= order.remaining:
        amount = order.reserved
    else:
        opening = size - min(size, closable(position, order.side))
        amount = cost_with_fee(order, opening, fee_terms_of) if opening > 0 else Money(0)
    return Money(min(order.reserved, amount))
