"""Trading fees (quadratic schedule, rounded up to $0.0001) and balance rounding with rebates."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.domain.fees import (
    CENT,
    FEE_GRANULARITY,
    FeeType,
    PostedCash,
    fee_rate,
    post_to_balance,
    trade_fee,
)
from kalshiflow.domain.units import COUNT_SCALE, MONEY_SCALE, PRICE_SCALE, Count, Money, Price, notional

fee_types = st.sampled_from(list(FeeType))
sides = st.booleans()  # is_taker
prices = st.integers(min_value=0, max_value=PRICE_SCALE).map(Price)
counts = st.integers(min_value=0, max_value=10**8).map(Count)  # up to 1,000,000 contracts
multipliers = st.fractions(min_value=0, max_value=4, max_denominator=1000)

PRECISIONS = [Money(10_000), Money(100)]  # $0.01 (most users) and $0.0001 (direct members)
precisions = st.sampled_from(PRECISIONS)


def exact_fee(rate: Fraction, price: int, count: int) -> Fraction:
    """rate x C x P x (1 - P) in Money units, from first principles with exact fractions."""
    contracts = Fraction(count, 100)
    dollars_per_contract = Fraction(price, PRICE_SCALE)
    return rate * contracts * dollars_per_contract * (1 - dollars_per_contract) * MONEY_SCALE


def round_up_to_granularity(exact: Fraction) -> int:
    return math.ceil(exact / FEE_GRANULARITY) * FEE_GRANULARITY


# --- the schedule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fee_type", "taker", "maker"),
    [
        (FeeType.QUADRATIC, Fraction("0.07"), Fraction(0)),
        (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction("0.07"), Fraction("0.0175")),
        (FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES, Fraction("0.07"), Fraction("0.035")),
        (FeeType.FLAT, Fraction("0.035"), Fraction(0)),
    ],
)
def test_fee_rates_follow_the_schedule(fee_type: FeeType, taker: Fraction, maker: Fraction) -> None:
    assert fee_rate(fee_type, is_taker=True) == taker
    assert fee_rate(fee_type, is_taker=False) == maker


def test_fee_types_carry_their_wire_names() -> None:
    assert {t.value for t in FeeType} == {
        "quadratic",
        "quadratic_with_maker_fees",
        "quadratic_with_combo_maker_fees",
        "flat",
    }
    assert FeeType("quadratic_with_maker_fees") is FeeType.QUADRATIC_WITH_MAKER_FEES


def test_granularity_constants() -> None:
    assert Money.parse("0.0001") == FEE_GRANULARITY
    assert Money.parse("0.01") == CENT


# --- examples -----------------------------------------------------------------------------------


def test_reference_example_ten_contracts_at_fifty_cents_taker() -> None:
    fee = trade_fee(FeeType.QUADRATIC, True, Price.parse("0.50"), Count.parse("10"))
    assert fee == Money(175_000)
    assert fee == Money.parse("0.1750")
    assert type(fee) is Money


@pytest.mark.parametrize(
    ("price", "count", "fee"),
    [
        ("0.50", "1", "0.0175"),
        ("0.01", "1", "0.0007"),  # 0.000693 rounds up
        ("0.99", "1", "0.0007"),  # symmetric
        ("0.37", "100", "1.6317"),  # exact at $0.0001
        ("0.33", "3", "0.0465"),  # 0.046431 rounds up
        ("0.0001", "0.01", "0.0001"),  # the smallest fill still pays the smallest unit
        ("0.50", "0.01", "0.0002"),  # 0.000175 rounds up
    ],
)
def test_quadratic_taker_fee_examples(price: str, count: str, fee: str) -> None:
    assert trade_fee(FeeType.QUADRATIC, True, Price.parse(price), Count.parse(count)) == Money.parse(fee)


@pytest.mark.parametrize("fee_type", list(FeeType))
@pytest.mark.parametrize("is_taker", [True, False])
def test_nothing_filled_or_a_price_at_the_edge_costs_nothing(fee_type: FeeType, is_taker: bool) -> None:
    assert trade_fee(fee_type, is_taker, Price.parse("0.50"), Count(0)) == 0
    assert trade_fee(fee_type, is_taker, Price(0), Count.parse("10")) == 0
    assert trade_fee(fee_type, is_taker, Price(PRICE_SCALE), Count.parse("10")) == 0


# --- maker fees ---------------------------------------------------------------------------------


@given(prices, counts)
def test_maker_pays_nothing_on_plain_quadratic_and_flat(price: Price, count: Count) -> None:
    assert trade_fee(FeeType.QUADRATIC, False, price, count) == 0
    assert trade_fee(FeeType.FLAT, False, price, count) == 0


@given(prices, counts)
def test_maker_fee_is_a_quarter_of_the_taker_fee_before_rounding(price: Price, count: Count) -> None:
    taker_exact = exact_fee(Fraction("0.07"), price, count)
    maker = trade_fee(FeeType.QUADRATIC_WITH_MAKER_FEES, False, price, count)
    assert maker == round_up_to_granularity(taker_exact / 4)


@given(prices, counts)
def test_combo_maker_fee_is_half_the_taker_fee_before_rounding(price: Price, count: Count) -> None:
    taker_exact = exact_fee(Fraction("0.07"), price, count)
    maker = trade_fee(FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES, False, price, count)
    assert maker == round_up_to_granularity(taker_exact / 2)


@given(fee_types, prices, counts)
def test_taker_fee_is_the_same_whether_or_not_makers_pay(
    fee_type: FeeType, price: Price, count: Count
) -> None:
    if fee_type is FeeType.FLAT:
        return
    assert trade_fee(fee_type, True, price, count) == trade_fee(FeeType.QUADRATIC, True, price, count)


def test_maker_example_ten_contracts_at_fifty_cents() -> None:
    # 0.0175 x 10 x 0.5 x 0.5 = 0.04375 -> $0.0438
    fee = trade_fee(FeeType.QUADRATIC_WITH_MAKER_FEES, False, Price.parse("0.50"), Count.parse("10"))
    assert fee == Money.parse("0.0438")


# --- properties of the rounding -----------------------------------------------------------------


@given(fee_types, sides, prices, counts, multipliers)
def test_fee_is_the_exact_fee_rounded_up_to_a_hundredth_of_a_cent(
    fee_type: FeeType, is_taker: bool, price: Price, count: Count, multiplier: Fraction
) -> None:
    fee = trade_fee(fee_type, is_taker, price, count, multiplier)
    exact = exact_fee(fee_rate(fee_type, is_taker) * multiplier, price, count)
    assert type(fee) is Money
    assert fee % FEE_GRANULARITY == 0
    assert fee >= exact
    assert fee - exact < FEE_GRANULARITY


@given(fee_types, sides, prices, counts)
def test_fee_is_symmetric_in_price_and_its_complement(
    fee_type: FeeType, is_taker: bool, price: Price, count: Count
) -> None:
    assert trade_fee(fee_type, is_taker, price, count) == trade_fee(
        fee_type, is_taker, price.complement(), count
    )


@given(fee_types, sides, prices, counts, counts)
def test_fee_never_falls_as_the_fill_grows(
    fee_type: FeeType, is_taker: bool, price: Price, first: Count, second: Count
) -> None:
    small, large = sorted((first, second))
    assert trade_fee(fee_type, is_taker, price, Count(small)) <= trade_fee(
        fee_type, is_taker, price, Count(large)
    )


@given(prices, counts)
def test_fee_is_highest_at_fifty_cents(price: Price, count: Count) -> None:
    assert trade_fee(FeeType.QUADRATIC, True, price, count) <= trade_fee(
        FeeType.QUADRATIC, True, Price.parse("0.50"), count
    )


@given(prices, counts)
def test_flat_fee_is_half_the_quadratic_rate_before_rounding(price: Price, count: Count) -> None:
    # fees.py documents "flat" as half the general coefficient (an assumption kept in one place).
    flat = trade_fee(FeeType.FLAT, True, price, count)
    assert flat == round_up_to_granularity(exact_fee(Fraction("0.07"), price, count) / 2)


@given(sides, prices, counts)
def test_multiplier_scales_the_exact_fee(is_taker: bool, price: Price, count: Count) -> None:
    fee_type = FeeType.QUADRATIC_WITH_MAKER_FEES
    doubled = trade_fee(fee_type, is_taker, price, count, Fraction(2))
    assert doubled == round_up_to_granularity(2 * exact_fee(fee_rate(fee_type, is_taker), price, count))
    assert trade_fee(fee_type, is_taker, price, count, Fraction(0)) == 0
    assert trade_fee(fee_type, is_taker, price, count, Fraction(1)) == trade_fee(
        fee_type, is_taker, price, count
    )


@pytest.mark.parametrize(
    ("price", "count"),
    [(Price(-1), Count(100)), (Price(PRICE_SCALE + 1), Count(100)), (Price(5000), Count(-1))],
)
def test_fee_of_an_impossible_fill_is_an_error(price: Price, count: Count) -> None:
    with pytest.raises(ValueError, match="impossible fill"):
        trade_fee(FeeType.QUADRATIC, True, price, count)


# --- posting to a balance kept in cents (or hundredths of a cent) -------------------------------

exact_changes = st.integers(min_value=-(10**12), max_value=10**12).map(Money)
accumulators = st.integers(min_value=0, max_value=CENT - 1).map(Money)


@given(exact_changes, precisions, accumulators)
def test_posting_loses_nothing_and_keeps_the_accumulator_under_a_cent(
    exact_change: Money, precision: Money, accumulator: Money
) -> None:
    posted = post_to_balance(exact_change, precision, accumulator)
    assert posted.posted + posted.rounding_fee - posted.rebate == exact_change
    assert 0 <= posted.rounding_fee < precision
    assert (posted.posted - posted.rebate) % precision == 0  # the floored change sits on the precision
    assert posted.posted - posted.rebate <= exact_change  # flooring never favours the account
    assert posted.rebate >= 0
    assert posted.rebate % CENT == 0
    assert 0 <= posted.accumulator < CENT
    assert accumulator + posted.rounding_fee == posted.accumulator + posted.rebate
    assert posted.posted % precision == 0
    assert all(
        type(v) is Money for v in (posted.posted, posted.rounding_fee, posted.rebate, posted.accumulator)
    )


@given(st.lists(exact_changes, min_size=1, max_size=30), precisions)
def test_an_order_never_loses_more_than_a_cent_to_rounding(changes: list[Money], precision: Money) -> None:
    accumulator = Money(0)
    total_posted = 0
    for change in changes:
        posted = post_to_balance(change, precision, accumulator)
        accumulator = posted.accumulator
        total_posted += posted.posted
    assert sum(changes) - total_posted == accumulator
    assert 0 <= accumulator < CENT


@given(exact_changes)
def test_posting_on_the_precision_grid_is_exact(units: Money) -> None:
    on_cent = Money(units - units % CENT)
    assert post_to_balance(on_cent, CENT) == PostedCash(on_cent, Money(0), Money(0), Money(0))


def test_buying_ten_at_fifty_cents_twice_posts_with_a_cent_rebate_on_the_second_fill() -> None:
    price, count = Price.parse("0.50"), Count.parse("10")
    fee = trade_fee(FeeType.QUADRATIC, True, price, count)
    change = Money(-notional(price, count) - fee)  # -$5.175
    first = post_to_balance(change, CENT)
    assert first == PostedCash(Money.parse("-5.18"), Money.parse("0.005"), Money(0), Money.parse("0.005"))
    second = post_to_balance(change, CENT, first.accumulator)
    assert second == PostedCash(Money.parse("-5.17"), Money.parse("0.005"), Money.parse("0.01"), Money(0))


def test_direct_member_precision_posts_the_fee_to_the_hundredth_of_a_cent() -> None:
    posted = post_to_balance(Money.parse("-5.175"), Money.parse("0.0001"))
    assert posted == PostedCash(Money.parse("-5.175"), Money(0), Money(0), Money(0))
    posted = post_to_balance(Money.parse("-5.17505"), Money.parse("0.0001"))
    assert posted == PostedCash(
        Money.parse("-5.1751"), Money.parse("0.00005"), Money(0), Money.parse("0.00005")
    )


@given(
    st.sampled_from(list(FeeType)),
    st.booleans(),
    st.integers(0, PRICE_SCALE),
    st.integers(0, 10**9),
    st.fractions(min_value=0, max_value=10, max_denominator=1_000),
)
def test_the_fee_is_the_ceiling_of_the_exact_rational_fee(
    fee_type: FeeType, is_taker: bool, price: int, count: int, multiplier: Fraction
) -> None:
    """The integer-ratio arithmetic equals the rational formula, rounded up to $0.0001."""
    exact = (
        fee_rate(fee_type, is_taker) * multiplier * count * price * (PRICE_SCALE - price) * MONEY_SCALE
    ) / (COUNT_SCALE * PRICE_SCALE * PRICE_SCALE * FEE_GRANULARITY)
    expected = -((-exact.numerator) // exact.denominator) * FEE_GRANULARITY
    assert trade_fee(fee_type, is_taker, Price(price), Count(count), multiplier) == expected
