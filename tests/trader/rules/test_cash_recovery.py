"""Cash recovery: worst pnl% first, fee-aware projected cash, stop at reserve + buffer."""

from __future__ import annotations

import pytest
from tests.trader.rules.rules_kit import NOW, SIDES, held_book, market, p, position, usd

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count
from kalshiflow.features.valuation import CashView, PositionView
from kalshiflow.trader.config import ExitRulesConfig, PriceExitMetric
from kalshiflow.trader.exit_rules.base import ClosingOrderView, ExitDecision, ExitReason
from kalshiflow.trader.exit_rules.registry import evaluate_exits

# Reserve $100, buffer $25: recovery aims at $125. Each position below: 100 contracts sold at a $0.60
# bid -> $58.32 net; costs chosen so pnl% is between the -10% stop and the +20% target.
RECOVERY_ONLY = ExitRulesConfig(
    price_exit_metric=PriceExitMetric.PCT,  # the worked pnl% figures above
    take_profit_enabled=False,
    stop_loss_enabled=False,
    max_hold_enabled=False,
    market_closing_enabled=False,
    stuck_enabled=False,
    cash_reserve_dollars="100.00",  # type: ignore[arg-type]
    cash_recovery_buffer_dollars="25.00",  # type: ignore[arg-type]
)
NET = usd("58.32")


def run(
    positions: list[PositionView],
    side: OutcomeSide,
    available: str,
    config: ExitRulesConfig = RECOVERY_ONLY,
    closing: tuple[ClosingOrderView, ...] = (),
) -> list[ExitDecision]:
    tickers = [h.ticker for h in positions]
    return evaluate_exits(
        positions,
        {t: held_book(side, "0.60", "0.35", ticker=t) for t in tickers},
        {t: market(t) for t in tickers},
        CashView(usd(available)),
        closing,
        NOW,
        config,
    )


def three(side: OutcomeSide) -> list[PositionView]:
    return [
        position(side, 100, "55.00", ticker="GOOD"),  # +6.0%
        position(side, 100, "60.00", ticker="WORST"),  # -2.8%
        position(side, 100, "58.00", ticker="MID"),  # +0.55%
    ]


@pytest.mark.parametrize("side", SIDES)
def test_cash_at_the_reserve_does_nothing(side: OutcomeSide) -> None:
    assert run(three(side), side, "100.00") == []


@pytest.mark.parametrize("side", SIDES)
def test_closes_worst_first_and_stops_once_reserve_plus_buffer_is_projected(side: OutcomeSide) -> None:
    decisions = run(three(side), side, "99.99")
    assert [d.ticker for d in decisions] == ["WORST"]  # 99.99 + 58.32 >= 125
    assert decisions[0].reason is ExitReason.CASH_RECOVERY
    assert decisions[0].close_count == Count.contracts(100)


@pytest.mark.parametrize("side", SIDES)
def test_keeps_closing_in_pnl_order_until_the_target(side: OutcomeSide) -> None:
    # 10 + 58.32 = 68.32 < 125; + 58.32 = 126.64 >= 125 -> two closes.
    decisions = run(three(side), side, "10.00")
    assert [d.ticker for d in decisions] == ["WORST", "MID"]


@pytest.mark.parametrize("side", SIDES)
def test_stopping_condition_is_fee_aware(side: OutcomeSide) -> None:
    # 66.68 + 58.32 = 125.00 exactly: one close. Gross proceeds (60.00) would wrongly suggest 66.00 suffices.
    assert len(run(three(side), side, "66.68")) == 1
    assert len(run(three(side), side, "66.67")) == 2


@pytest.mark.parametrize("side", SIDES)
def test_closes_everything_when_even_that_is_not_enough(side: OutcomeSide) -> None:
    assert [d.ticker for d in run(three(side), side, "0")] == ["WORST", "MID", "GOOD"]


@pytest.mark.parametrize("side", SIDES)
def test_proceeds_of_higher_priority_closes_count(side: OutcomeSide) -> None:
    config = RECOVERY_ONLY.model_copy(update={"take_profit_enabled": True})
    positions = [*three(side), position(side, 100, "40.00", ticker="WINNER")]  # +45.8%: take profit
    decisions = run(positions, side, "99.99", config)
    assert [(d.ticker, d.reason) for d in decisions] == [("WINNER", ExitReason.TAKE_PROFIT)]


@pytest.mark.parametrize("side", SIDES)
def test_resting_closing_orders_count_toward_projected_cash(side: OutcomeSide) -> None:
    order = ClosingOrderView("WORST", "c-1", NOW, p("0.60"), Count.contracts(100))
    decisions = run(three(side), side, "99.99", closing=(order,))
    assert decisions == []


@pytest.mark.parametrize("side", SIDES)
def test_ties_break_on_ticker_and_positions_without_pnl_go_last(side: OutcomeSide) -> None:
    positions = [
        position(side, 100, "0", ticker="FREE"),  # no cost basis -> no pnl%
        position(side, 100, "58.32", ticker="B"),
        position(side, 100, "58.32", ticker="A"),
    ]
    assert [d.ticker for d in run(positions, side, "0")] == ["A", "B", "FREE"]
