"""Reservation arithmetic: how much cash the exchange holds back for an order, and frees on a fill.

Pure functions of the order, the position and the other live orders in its market, so the rules
can be tested without a ledger and the ledger only applies their answers. The exchange holds back
the cost of the part of a buy that would *open* exposure, at the order's limit, plus the taker fee
(the worst case); the part that closes what is held (less what other live orders on the same side
already claim) costs nothing up front, and a reduce-only order never holds anything back.

When. The exchange fixes an order's hold when the order *arrives*, from the position and the
same-side orders resting then. The ledger records an order (``record_pending``) before the journal
write and the send, which take long enough (seconds of market time under ``run --speed``) for a fill
of another order to change the closing room in between; so that first figure is an estimate, and
the ledger takes the hold again at the first answer about the order (the create's answer, or the
first view of it), as of the exchange's time of the create (``arrival.market_at``), less what the
order's own fills needed from it: the exchange took those off fill by fill, and a hold ``h`` less
needs ``n1, n2, ...`` taken in turn, each at most what is left, is ``max(0, h - n1 - n2 - ...)``.
A stale estimate kept would differ from the exchange's hold for as long as the order rested:
calibration takes the exchange's balance and reports the difference as cash drift, and when the
order ends each side releases its own hold and the same difference comes back reversed (a soak
showed +$0.0278 then -$0.0278: one contract at $0.026 plus fee, held by the ledger only).

Edits. A resting order shrunk without a fill at the same price (a decrease, an amend down) frees its
hold pro rata to the part taken away, floored (``shrunk_by_release``); a new price or a larger size
re-reserves it from scratch -- the simulator's ``EngineCore._shrink`` and ``Engine._amend_checked``,
so both sides keep the same hold after any edit.
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
    claimed: int = 0,
) -> Money:
    """Cash held back for ``size`` contracts of a new (or re-reserved) ``order``.

    ``position`` is the signed position in the order's market; ``live_in_market`` its live orders
    (``order`` itself may be among them and is skipped): those on the same side have first claim on
    closing what is held, as do ``claimed`` contracts of orders no longer live.
    """
    if order.reduce_only:  # the exchange never lets it open exposure, so it holds nothing back
        return Money(0)
    room = closable(position, order.side) - claimed
    for other in live_in_market:
        if other is not order and other.side is order.side:
            room -= other.remaining
    opening = size - max(0, min(size, room))
    return cost_with_fee(order, opening, fee_terms_of) if opening > 0 else Money(0)


def fill_need(order: TrackedOrder, position: int, size: Count, fee_terms_of: FeeTermsOf) -> Money:
    """What a fill of ``size`` of ``order`` needs from its hold: its opening part at the limit
    (+ taker fee); the part that closes ``position`` needs nothing."""
    opening = size - min(size, closable(position, order.side))
    return cost_with_fee(order, opening, fee_terms_of) if opening > 0 else Money(0)


def release_for_fill(order: TrackedOrder, position: int, size: Count, fee_terms_of: FeeTermsOf) -> Money:
    """Cash the exchange frees when ``size`` of ``order`` fills: its ``fill_need``; everything still
    held when the fill completes the order. Never more than the order holds."""
    amount = order.reserved if size >= order.remaining else fill_need(order, position, size, fee_terms_of)
    return Money(min(order.reserved, amount))


def shrunk_by_release(order: TrackedOrder, amount: Count) -> Money:
    """Cash the exchange frees when a resting ``order`` shrinks by ``amount`` without a fill (a
    decrease, or an amend to fewer contracts at the same price): its hold pro rata to the part
    taken away, floored -- the simulator's ``EngineCore._shrink``, so both keep the same remainder."""
    if amount <= 0 or order.remaining <= 0:
        return Money(0)
    return Money(order.reserved * min(amount, order.remaining) // order.remaining)
