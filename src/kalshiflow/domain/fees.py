"""Kalshi trading fees: the quadratic schedule and its rounding, behind one function.

trade fee = round_up_to_$0.0001( rate x multiplier x C x P x (1 - P) )

with C contracts at execution price P (dollars). Rates per series ``fee_type``:

=================================  ===========  ===========
fee_type                           taker rate   maker rate
=================================  ===========  ===========
quadratic                          0.07         0
quadratic_with_maker_fees          0.07         0.0175
quadratic_with_combo_maker_fees    0.07         0.035
flat                               0.035        0
=================================  ===========  ===========

``flat`` names Kalshi's "specific trading fees table" (index markets), whose published coefficient is
half the general one; that reading is an assumption, documented here so it can be changed in one place.

Balance rounding (see the reference, "Fee Rounding"): the cash change of a fill is floored to the
account's balance precision ($0.01 for most users); what flooring takes is a *rounding fee*, and a
per-order accumulator pays it back in $0.01 rebates once it reaches a cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Final

from kalshiflow.domain.units import (
    COUNT_SCALE,
    MONEY_SCALE,
    PRICE_SCALE,
    Count,
    Money,
    Price,
    div_round_up,
    round_down_to,
)

FEE_GRANULARITY: Final = Money(100)  # $0.0001
CENT: Final = Money(MONEY_SCALE // 100)


class FeeType(StrEnum):
    QUADRATIC = "quadratic"
    QUADRATIC_WITH_MAKER_FEES = "quadratic_with_maker_fees"
    QUADRATIC_WITH_COMBO_MAKER_FEES = "quadratic_with_combo_maker_fees"
    FLAT = "flat"


_RATES: Final[dict[FeeType, tuple[Fraction, Fraction]]] = {
    FeeType.QUADRATIC: (Fraction(7, 100), Fraction(0)),
    FeeType.QUADRATIC_WITH_MAKER_FEES: (Fraction(7, 100), Fraction(175, 10_000)),
    FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES: (Fraction(7, 100), Fraction(35, 1_000)),
    FeeType.FLAT: (Fraction(35, 1_000), Fraction(0)),
}


def fee_rate(fee_type: FeeType, is_taker: bool) -> Fraction:
    taker, maker = _RATES[fee_type]
    return taker if is_taker else maker


def trade_fee(
    fee_type: FeeType,
    is_taker: bool,
    price: Price,
    count: Count,
    multiplier: Fraction = Fraction(1),
) -> Money:
    """Fee for one fill of ``count`` contracts at ``price``, rounded up to $0.0001."""
    if count < 0 or not 0 <= price <= PRICE_SCALE:
        raise ValueError(f"fee of an impossible fill: {count!r} at {price!r}")
    rate = fee_rate(fee_type, is_taker)
    if rate == 0 or multiplier == 0 or count == 0:
        return Money(0)
    # dollars = rate * (count/100) * (price/1e4) * ((1e4-price)/1e4); Money = dollars * 1e6.
    # Exact in integers: ceil(a/b) does not depend on reducing a/b first (and Fraction arithmetic
    # here was the simulator's hottest path).
    contracts, p = int(count), int(price)
    numerator = rate.numerator * multiplier.numerator * contracts * p * (PRICE_SCALE - p) * MONEY_SCALE
    denominator = rate.denominator * multiplier.denominator * COUNT_SCALE * PRICE_SCALE * PRICE_SCALE
    return Money(div_round_up(numerator, denominator * FEE_GRANULARITY) * FEE_GRANULARITY)


@dataclass(frozen=True, slots=True)
class PostedCash:
    """How a fill's exact cash change lands on a balance kept at a coarser precision."""

    posted: Money  # what the balance actually moves by
    rounding_fee: Money  # taken by flooring, >= 0
    rebate: Money  # paid back from the accumulator, multiple of $0.01
    accumulator: Money  # the order's rounding accumulator after this fill


def post_to_balance(exact_change: int, precision: int, accumulator: int = 0) -> PostedCash:
    """Floor ``exact_change`` to ``precision`` and settle the order's rounding accumulator."""
    floored = round_down_to(int(exact_change), int(precision))
    rounding = int(exact_change) - floored
    acc = int(accumulator) + rounding
    rebate = (acc // CENT) * CENT
    acc -= rebate
    return PostedCash(Money(floored + rebate), Money(rounding), Money(rebate), Money(acc))
