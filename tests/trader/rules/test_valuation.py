"""Valuation: exit price is the held side's best bid; unrealized and pnl% exact and after the fee."""

from __future__ import annotations

from fractions import Fraction

import pytest
from tests.trader.rules.rules_kit import NOW, SIDES, book, held_book, market, p, position, usd

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Money
from kalshiflow.features.valuation import (
    PositionView,
    exit_price,
    format_pct,
    held_side,
    pnl_pct,
    unrealized_at_exit,
    value_position,
)
from kalshiflow.marketdata.book import OrderBook


@pytest.mark.parametrize("side", SIDES)
def test_exit_price_is_the_best_bid_of_the_side_held(side: OutcomeSide) -> None:
    ob = held_book(side, "0.60", "0.35")
    held = position(side, 10, "5.00")
    assert exit_price(held.position, ob) == p("0.60")


def test_no_exit_is_the_no_bid_not_one_minus_the_yes_bid() -> None:
    ob = book("0.35", "0.60")  # NO ask would be 0.65
    assert exit_price(Count(-100), ob) == p("0.60")


@pytest.mark.parametrize("side", SIDES)
def test_value_is_bid_times_count_minus_cost_minus_taker_fee(side: OutcomeSide) -> None:
    valuation = value_position(position(side, 100, "50.00"), held_book(side, "0.60", "0.35"), market())
    assert valuation is not None
    assert valuation.side is side
    assert valuation.count == Count.contracts(100)
    assert valuation.gross_proceeds == usd("60.00")
    assert valuation.exit_fee == usd("1.68")  # 0.07 x 100 x 0.6 x 0.4
    assert valuation.net_proceeds == usd("58.32")
    assert valuation.unrealized == usd("8.32")
    assert valuation.pnl_pct == Fraction(832, 50)


def test_fee_is_rounded_up_to_the_hundredth_of_a_cent() -> None:
    valuation = value_position(position(OutcomeSide.YES, 1, "0.10"), book("0.33", "0.60"), market())
    assert valuation is not None
    assert valuation.exit_fee == usd("0.0155")  # 0.07 x 0.33 x 0.67 = 0.015477 -> up


def test_fee_type_and_multiplier_come_from_the_market() -> None:
    free = market(fee_type=FeeType.QUADRATIC_WITH_MAKER_FEES)
    valuation = value_position(position(OutcomeSide.YES, 100, "50.00"), book("0.60", "0.35"), free)
    assert valuation is not None
    assert valuation.exit_fee == usd("1.68")


@pytest.mark.parametrize("side", SIDES)
def test_no_bid_means_no_valuation(side: OutcomeSide) -> None:
    assert value_position(position(side, 10, "5.00"), held_book(side, None, "0.40"), market()) is None


def test_invalid_book_means_no_valuation() -> None:
    ob = book("0.60", "0.35")
    ob.invalidate("gap")
    assert value_position(position(OutcomeSide.YES, 10, "5.00"), ob, market()) is None


def test_flat_position_has_no_valuation() -> None:
    flat = PositionView("MKT", Count(0), Money(0), NOW)
    assert value_position(flat, book("0.60", "0.35"), market()) is None
    assert held_side(0) is None


def test_fresh_book_awaiting_snapshot_is_not_used() -> None:
    from tests.trader.rules.rules_kit import GRID

    assert exit_price(Count(100), OrderBook("MKT", GRID)) is None


@pytest.mark.parametrize("cost", [0, -5])
def test_pnl_pct_is_undefined_without_a_positive_cost_basis(cost: int) -> None:
    assert pnl_pct(100, cost) is None


def test_pnl_pct_is_an_exact_fraction() -> None:
    assert pnl_pct(1, 3) == Fraction(100, 3)
    assert isinstance(pnl_pct(1, 3), Fraction)


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(20), "+20.00%"), (Fraction(-10), "-10.00%"), (Fraction(1999, 100), "+19.99%"), (None, "n/a")],
)
def test_format_pct(value: Fraction | None, text: str) -> None:
    assert format_pct(value) == text


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("held_bid", ["0.01", "0.33", "0.60", "0.99", None])
@pytest.mark.parametrize(("contracts", "cost"), [(1, "0.10"), (7, "3.15"), (100, "50.00")])
def test_unrealized_at_exit_is_the_valuations_unrealized(
    side: OutcomeSide, held_bid: str | None, contracts: int, cost: str
) -> None:
    """The running unrealized total's shortcut: the same integer, None exactly where there is no valuation."""
    held, ob = position(side, contracts, cost), held_book(side, held_bid, "0.30")
    valuation = value_position(held, ob, market())
    expected = None if valuation is None else int(valuation.unrealized)
    assert unrealized_at_exit(held, ob, market()) == expected
