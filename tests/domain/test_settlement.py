"""Settlement payouts of net positions, for YES holders (+) and NO holders (-) alike."""

from __future__ import annotations

from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.domain.settlement import MarketResult, settlement_payout, yes_settlement_value
from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price, notional


class Side(Enum):
    YES = "yes"
    NO = "no"


SIDES = [Side.YES, Side.NO]

sizes = st.integers(min_value=1, max_value=10**8).map(Count)  # 0.01 .. 1,000,000 contracts
scalar_values = st.integers(min_value=0, max_value=PRICE_SCALE).map(Price)
cost_bases = st.integers(min_value=0, max_value=10**13).map(Money)


def position(side: Side, size: Count) -> Count:
    """Net signed position: + YES, - NO."""
    return Count(size if side is Side.YES else -size)


def win_for(side: Side) -> MarketResult:
    return MarketResult.YES if side is Side.YES else MarketResult.NO


def loss_for(side: Side) -> MarketResult:
    return MarketResult.NO if side is Side.YES else MarketResult.YES


def scalar_pays(side: Side, value: Price) -> Price:
    """What one contract of ``side`` is worth at a scalar settlement of ``value`` (YES price)."""
    return value if side is Side.YES else Price(PRICE_SCALE - value)


COST = Money.parse("4.20")


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(("size", "dollars"), [("10", "10"), ("1", "1"), ("0.01", "0.01"), ("2.5", "2.5")])
def test_winning_side_is_paid_one_dollar_per_contract(side: Side, size: str, dollars: str) -> None:
    payout = settlement_payout(position(side, Count.parse(size)), COST, win_for(side))
    assert payout == Money.parse(dollars)
    assert type(payout) is Money


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("size", ["10", "0.01", "1000000"])
def test_losing_side_is_paid_nothing(side: Side, size: str) -> None:
    assert settlement_payout(position(side, Count.parse(size)), COST, loss_for(side)) == 0


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    ("value", "yes_pays", "no_pays"),
    [
        ("0.30", "3.00", "7.00"),
        ("0.3333", "3.333", "6.667"),
        ("0.5", "5", "5"),
        ("0", "0", "10"),
        ("1", "10", "0"),
        ("0.0001", "0.001", "9.999"),
    ],
)
def test_scalar_pays_yes_the_value_and_no_one_minus_the_value(
    side: Side, value: str, yes_pays: str, no_pays: str
) -> None:
    payout = settlement_payout(
        position(side, Count.parse("10")), COST, MarketResult.SCALAR, Price.parse(value)
    )
    assert payout == Money.parse(yes_pays if side is Side.YES else no_pays)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("cost_basis", [Money(0), Money.parse("4.20"), Money.parse("123456.789012")])
def test_void_refunds_the_cost_basis(side: Side, cost_basis: Money) -> None:
    assert settlement_payout(position(side, Count.parse("10")), cost_basis, MarketResult.VOID) == cost_basis


@pytest.mark.parametrize("result", [MarketResult.YES, MarketResult.NO, MarketResult.SCALAR])
def test_flat_position_is_paid_nothing(result: MarketResult) -> None:
    assert settlement_payout(Count(0), Money(0), result, Price.parse("0.40")) == 0


@pytest.mark.parametrize("side", SIDES)
@given(size=sizes, cost_basis=cost_bases)
def test_binary_payout_is_size_dollars_or_nothing(side: Side, size: Count, cost_basis: Money) -> None:
    held = position(side, size)
    assert settlement_payout(held, cost_basis, win_for(side)) == notional(Price(PRICE_SCALE), size)
    assert settlement_payout(held, cost_basis, loss_for(side)) == 0


@pytest.mark.parametrize("side", SIDES)
@given(size=sizes, value=scalar_values, cost_basis=cost_bases)
def test_scalar_payout_is_exact(side: Side, size: Count, value: Price, cost_basis: Money) -> None:
    payout = settlement_payout(position(side, size), cost_basis, MarketResult.SCALAR, value)
    assert payout == notional(scalar_pays(side, value), size)


@given(size=sizes, value=scalar_values, cost_basis=cost_bases)
def test_yes_and_no_of_the_same_size_together_are_paid_one_dollar_per_contract(
    size: Count, value: Price, cost_basis: Money
) -> None:
    one_dollar_each = notional(Price(PRICE_SCALE), size)
    for result in (MarketResult.YES, MarketResult.NO, MarketResult.SCALAR):
        yes = settlement_payout(position(Side.YES, size), cost_basis, result, value)
        no = settlement_payout(position(Side.NO, size), cost_basis, result, value)
        assert yes + no == one_dollar_each


@pytest.mark.parametrize("side", SIDES)
@given(size=sizes, cost_basis=cost_bases)
def test_void_refund_does_not_depend_on_the_size(side: Side, size: Count, cost_basis: Money) -> None:
    assert settlement_payout(position(side, size), cost_basis, MarketResult.VOID) == cost_basis


@pytest.mark.parametrize("side", SIDES)
def test_scalar_without_a_value_is_an_error(side: Side) -> None:
    with pytest.raises(ValueError, match="settlement value"):
        settlement_payout(position(side, Count.parse("1")), COST, MarketResult.SCALAR)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("value", [Price(-1), Price(PRICE_SCALE + 1)])
def test_scalar_value_outside_zero_and_one_dollar_is_an_error(side: Side, value: Price) -> None:
    with pytest.raises(ValueError, match="settlement value"):
        settlement_payout(position(side, Count.parse("1")), COST, MarketResult.SCALAR, value)


@pytest.mark.parametrize(
    ("result", "value", "expected"),
    [
        (MarketResult.YES, None, Price(PRICE_SCALE)),
        (MarketResult.NO, None, Price(0)),
        (MarketResult.YES, Price(3000), Price(PRICE_SCALE)),  # a value is ignored on binary results
        (MarketResult.SCALAR, Price(3000), Price(3000)),
        (MarketResult.VOID, None, None),
    ],
)
def test_yes_settlement_value(result: MarketResult, value: Price | None, expected: Price | None) -> None:
    assert yes_settlement_value(result, value) == expected


def test_market_results_carry_their_wire_names() -> None:
    assert [r.value for r in MarketResult] == ["yes", "no", "scalar", "void"]
    assert MarketResult("void") is MarketResult.VOID
