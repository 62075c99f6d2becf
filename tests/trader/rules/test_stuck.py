"""Stuck closing orders: re-priced toward the touch step by step, then crossed to the bid."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.trader.rules.rules_kit import NOW, SIDES, held_book, market, p, position

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.features.valuation import CashView
from kalshiflow.trader.config import ExitRulesConfig, PriceExitMetric
from kalshiflow.trader.exit_rules.base import ClosingOrderView, ExitDecision, ExitReason
from kalshiflow.trader.exit_rules.registry import evaluate_exits
from kalshiflow.trader.exit_rules.stuck import order_side_price

CONFIG = ExitRulesConfig(
    price_exit_metric=PriceExitMetric.PCT,  # positions here sit between the pnl% stop and target
    stuck_close_after_s=60,
    stuck_reprice_steps=2,
    stuck_cross_after_s=300,
)
S = 1000


def order_at(
    side: OutcomeSide, side_price: str, placed_at_ms: int = NOW, priced_at_ms: int | None = None
) -> ClosingOrderView:
    price = p(side_price)
    yes_price = price if side is OutcomeSide.YES else price.complement()
    return ClosingOrderView("MKT", "close-1", placed_at_ms, yes_price, Count.contracts(100), priced_at_ms)


def run(
    side: OutcomeSide, order: ClosingOrderView, now_ms: int, bid: str | None = "0.60"
) -> list[ExitDecision]:
    return evaluate_exits(
        [position(side, 100, "58.00")],
        {"MKT": held_book(side, bid, "0.30")},
        {"MKT": market()},
        CashView(Money.dollars(10_000)),
        [order],
        now_ms,
        CONFIG,
    )


@pytest.mark.parametrize("side", SIDES)
def test_order_price_is_read_in_the_side_held(side: OutcomeSide) -> None:
    assert order_side_price(order_at(side, "0.65"), side) == p("0.65")


@pytest.mark.parametrize("side", SIDES)
def test_young_closing_order_is_left_alone(side: OutcomeSide) -> None:
    assert run(side, order_at(side, "0.65"), NOW + 59_999) == []


@pytest.mark.parametrize("side", SIDES)
def test_escalates_by_steps_then_crosses(side: OutcomeSide) -> None:
    order = order_at(side, "0.70")
    [first] = run(side, order, NOW + 60 * S)
    assert first.reason is ExitReason.STUCK
    assert first.limit_price == p("0.68")
    assert first.replaces_client_order_id == "close-1"
    assert first.close_count == Count.contracts(100)

    repriced = replace(order, yes_price=_yes(side, first.limit_price), priced_at_ms=NOW + 60 * S)
    assert run(side, repriced, NOW + 119 * S) == []  # not yet stuck again since the re-price
    [second] = run(side, repriced, NOW + 120 * S)
    assert second.limit_price == p("0.66")

    later = replace(repriced, yes_price=_yes(side, second.limit_price), priced_at_ms=NOW + 120 * S)
    [crossed] = run(side, later, NOW + 300 * S)  # cross regardless of the last re-price
    assert crossed.limit_price == p("0.60")
    assert "cross" in crossed.detail
    assert crossed.v2_order.yes_price == _yes(side, p("0.60"))


@pytest.mark.parametrize("side", SIDES)
def test_reprice_never_goes_below_the_bid(side: OutcomeSide) -> None:
    [decision] = run(side, order_at(side, "0.61"), NOW + 60 * S)
    assert decision.limit_price == p("0.60")


@pytest.mark.parametrize("side", SIDES)
def test_order_at_or_through_the_bid_is_left_alone(side: OutcomeSide) -> None:
    assert run(side, order_at(side, "0.60"), NOW + 600 * S) == []
    assert run(side, order_at(side, "0.59"), NOW + 600 * S) == []


@pytest.mark.parametrize("side", SIDES)
def test_no_bid_means_nothing_to_cross_into(side: OutcomeSide) -> None:
    assert run(side, order_at(side, "0.70"), NOW + 600 * S, bid=None) == []


@pytest.mark.parametrize("side", SIDES)
def test_closing_order_for_a_position_already_gone_is_ignored(side: OutcomeSide) -> None:
    order = replace(order_at(side, "0.70"), ticker="GONE")
    assert run(side, order, NOW + 600 * S) == []


def test_oldest_closing_order_per_ticker_drives_escalation() -> None:
    side = OutcomeSide.YES
    old = order_at(side, "0.70", placed_at_ms=NOW - 300 * S)
    young = replace(order_at(side, "0.70"), client_order_id="close-2")
    decisions = evaluate_exits(
        [position(side, 100, "58.00")],
        {"MKT": held_book(side, "0.60", "0.30")},
        {"MKT": market()},
        CashView(Money.dollars(10_000)),
        [young, old],
        NOW,
        CONFIG,
    )
    [decision] = decisions
    assert decision.replaces_client_order_id == "close-1"
    assert decision.limit_price == p("0.60")


def _yes(side: OutcomeSide, side_price: Price) -> Price:
    return side_price if side is OutcomeSide.YES else side_price.complement()
