"""Each exit rule on its own and through ``evaluate_exits``, for YES and NO holdings.

Worked numbers: 100 contracts, exit bid $0.60, taker fee $1.68 -> net proceeds $58.32.
A cost basis of $48.60 is exactly +20% after the fee; $64.80 is exactly -10%.
"""

from __future__ import annotations

import pytest
from tests.trader.rules.rules_kit import NOW, SIDES, held_book, market, p, position

from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, Money
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.features.valuation import CashView, PositionView
from kalshiflow.trader.config import ExitRulesConfig, PriceExitMetric
from kalshiflow.trader.exit_rules.base import ClosingOrderView, ExitDecision, ExitReason
from kalshiflow.trader.exit_rules.registry import EXIT_RULES, evaluate_exits

PCT = PriceExitMetric.PCT  # these worked numbers are the pnl% rule; price-space moves: test_price_exits.py
RICH = CashView(Money.dollars(10_000))
ONLY = {
    reason: ExitRulesConfig(
        price_exit_metric=PCT,
        take_profit_enabled=reason is ExitReason.TAKE_PROFIT,
        stop_loss_enabled=reason is ExitReason.STOP_LOSS,
        max_hold_enabled=reason is ExitReason.MAX_HOLD_TIME,
        market_closing_enabled=reason is ExitReason.MARKET_CLOSING,
        cash_recovery_enabled=reason is ExitReason.CASH_RECOVERY,
        stuck_enabled=reason is ExitReason.STUCK,
    )
    for reason in ExitReason
}


def run(
    held: PositionView,
    side: OutcomeSide,
    *,
    bid: str | None = "0.60",
    config: ExitRulesConfig | None = None,
    now_ms: int = NOW,
    status: MarketStatus = MarketStatus.ACTIVE,
    close_in_s: int = 86_400,
    closing: tuple[ClosingOrderView, ...] = (),
) -> list[ExitDecision]:
    return evaluate_exits(
        [held],
        {"MKT": held_book(side, bid, "0.35")},
        {"MKT": market(status=status, close_in_s=close_in_s)},
        RICH,
        closing,
        now_ms,
        config
        or ExitRulesConfig(
            price_exit_metric=PCT,
        ),
    )


def test_registry_lists_every_reason_once_with_a_description() -> None:
    assert sorted(rule.name for rule in EXIT_RULES) == sorted(ExitReason)
    assert all(rule.short_desc and "\n" not in rule.short_desc for rule in EXIT_RULES)


# ---------------------------------------------------------------- take profit
@pytest.mark.parametrize("side", SIDES)
def test_exactly_plus_20_percent_after_fee_takes_profit(side: OutcomeSide) -> None:
    [decision] = run(position(side, 100, "48.60"), side, config=ONLY[ExitReason.TAKE_PROFIT])
    assert decision.reason is ExitReason.TAKE_PROFIT
    assert decision.valuation.pnl_pct == 20
    assert "+20.00%" in decision.detail


@pytest.mark.parametrize("side", SIDES)
def test_a_millionth_of_a_dollar_short_of_20_percent_does_not(side: OutcomeSide) -> None:
    assert run(position(side, 100, "48.600001"), side, config=ONLY[ExitReason.TAKE_PROFIT]) == []


@pytest.mark.parametrize("side", SIDES)
def test_plus_20_percent_before_fees_but_not_after_does_not_take_profit(side: OutcomeSide) -> None:
    # 60.00 / 50.00 = +20% gross; after the $1.68 exit fee it is +16.64%.
    assert run(position(side, 100, "50.00"), side, config=ONLY[ExitReason.TAKE_PROFIT]) == []


@pytest.mark.parametrize("side", SIDES)
def test_take_profit_threshold_is_configurable(side: OutcomeSide) -> None:
    config = ExitRulesConfig(price_exit_metric=PCT, take_profit_pct="16.64", stop_loss_enabled=False)  # type: ignore[arg-type]
    [decision] = run(position(side, 100, "50.00"), side, config=config)
    assert decision.reason is ExitReason.TAKE_PROFIT


# ---------------------------------------------------------------- stop loss
@pytest.mark.parametrize("side", SIDES)
def test_exactly_minus_10_percent_after_fee_stops_out(side: OutcomeSide) -> None:
    [decision] = run(position(side, 100, "64.80"), side, config=ONLY[ExitReason.STOP_LOSS])
    assert decision.reason is ExitReason.STOP_LOSS
    assert decision.valuation.pnl_pct == -10


@pytest.mark.parametrize("side", SIDES)
def test_just_above_minus_10_percent_does_not_stop_out(side: OutcomeSide) -> None:
    assert run(position(side, 100, "64.799999"), side, config=ONLY[ExitReason.STOP_LOSS]) == []


@pytest.mark.parametrize("side", SIDES)
def test_the_exit_fee_can_push_a_position_into_its_stop(side: OutcomeSide) -> None:
    # gross 60.00 vs cost 64.00 is -6.25%; the fee makes it -8.875%; with a 8.875% stop it fires.
    config = ExitRulesConfig(price_exit_metric=PCT, stop_loss_pct="8.875")  # type: ignore[arg-type]
    [decision] = run(position(side, 100, "64.00"), side, config=config)
    assert decision.reason is ExitReason.STOP_LOSS


# ---------------------------------------------------------------- max hold
@pytest.mark.parametrize("side", SIDES)
def test_held_exactly_max_hold_closes(side: OutcomeSide) -> None:
    held = position(side, 10, "6.00", opened_at_ms=NOW - 3_600_000)
    [decision] = run(held, side, config=ONLY[ExitReason.MAX_HOLD_TIME])
    assert decision.reason is ExitReason.MAX_HOLD_TIME


@pytest.mark.parametrize("side", SIDES)
def test_held_a_millisecond_less_stays(side: OutcomeSide) -> None:
    held = position(side, 10, "6.00", opened_at_ms=NOW - 3_599_999)
    assert run(held, side, config=ONLY[ExitReason.MAX_HOLD_TIME]) == []


# ---------------------------------------------------------------- market closing
@pytest.mark.parametrize("side", SIDES)
def test_market_closing_within_five_minutes_closes(side: OutcomeSide) -> None:
    [decision] = run(position(side, 10, "6.00"), side, close_in_s=300, config=ONLY[ExitReason.MARKET_CLOSING])
    assert decision.reason is ExitReason.MARKET_CLOSING
    assert "closes in 300s" in decision.detail


@pytest.mark.parametrize("side", SIDES)
def test_market_closing_later_than_the_window_stays(side: OutcomeSide) -> None:
    held = position(side, 10, "6.00")
    assert run(held, side, close_in_s=301, config=ONLY[ExitReason.MARKET_CLOSING]) == []


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("status", [MarketStatus.CLOSED, MarketStatus.INACTIVE, MarketStatus.DETERMINED])
def test_market_no_longer_active_closes(side: OutcomeSide, status: MarketStatus) -> None:
    [decision] = run(position(side, 10, "6.00"), side, status=status, config=ONLY[ExitReason.MARKET_CLOSING])
    assert decision.reason is ExitReason.MARKET_CLOSING
    assert str(status) in decision.detail


# ---------------------------------------------------------------- shared behaviour
@pytest.mark.parametrize("side", SIDES)
def test_decision_sells_the_whole_position_at_the_bid_reduce_only_direction(side: OutcomeSide) -> None:
    [decision] = run(position(side, "12.34", "1.00"), side)
    assert decision.side is side
    assert decision.close_count == Count.parse("12.34")
    assert decision.limit_price == p("0.60")
    expected_book_side = BookSide.ASK if side is OutcomeSide.YES else BookSide.BID
    assert decision.v2_order.side is expected_book_side
    assert decision.yes_price == (p("0.60") if side is OutcomeSide.YES else p("0.40"))


@pytest.mark.parametrize("side", SIDES)
def test_no_bid_to_exit_into_gives_no_decision(side: OutcomeSide) -> None:
    held = position(side, 10, "6.00", opened_at_ms=NOW - 10_000_000)
    assert run(held, side, bid=None, close_in_s=10) == []


@pytest.mark.parametrize("side", SIDES)
def test_disabled_rules_never_fire(side: OutcomeSide) -> None:
    config = ExitRulesConfig(
        price_exit_metric=PCT,
        take_profit_enabled=False,
        stop_loss_enabled=False,
        max_hold_enabled=False,
        market_closing_enabled=False,
        cash_recovery_enabled=False,
        stuck_enabled=False,
    )
    held = position(side, 100, "1.00", opened_at_ms=NOW - 10_000_000)
    assert run(held, side, config=config, close_in_s=1) == []


@pytest.mark.parametrize("side", SIDES)
def test_market_closing_outranks_stop_loss(side: OutcomeSide) -> None:
    [decision] = run(position(side, 100, "90.00"), side, close_in_s=60)
    assert decision.reason is ExitReason.MARKET_CLOSING


@pytest.mark.parametrize("side", SIDES)
def test_stop_loss_outranks_max_hold(side: OutcomeSide) -> None:
    held = position(side, 100, "90.00", opened_at_ms=NOW - 10_000_000)
    [decision] = run(held, side)
    assert decision.reason is ExitReason.STOP_LOSS


@pytest.mark.parametrize("side", SIDES)
def test_take_profit_outranks_max_hold(side: OutcomeSide) -> None:
    held = position(side, 100, "10.00", opened_at_ms=NOW - 10_000_000)
    [decision] = run(held, side)
    assert decision.reason is ExitReason.TAKE_PROFIT


@pytest.mark.parametrize("side", SIDES)
def test_position_already_being_closed_is_not_closed_again(side: OutcomeSide) -> None:
    order = ClosingOrderView("MKT", "close-1", NOW - 1000, p("0.60"), Count.contracts(100))
    assert run(position(side, 100, "10.00"), side, closing=(order,)) == []


def test_one_decision_per_ticker_and_unknown_markets_are_skipped() -> None:
    side = OutcomeSide.YES
    positions = [position(side, 100, "10.00", ticker="A"), position(side, 5, "1.00", ticker="GHOST")]
    decisions = evaluate_exits(
        positions,
        {"A": held_book(side, "0.60", "0.35", ticker="A")},
        {"A": market("A")},
        RICH,
        (),
        NOW,
        ExitRulesConfig(
            price_exit_metric=PCT,
        ),
    )
    assert [d.ticker for d in decisions] == ["A"]


def test_flat_positions_are_ignored() -> None:
    flat = PositionView("MKT", Count(0), Money(0), NOW - 10_000_000)
    assert run(flat, OutcomeSide.YES, close_in_s=1) == []
