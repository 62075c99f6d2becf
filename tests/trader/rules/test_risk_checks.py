"""Risk checks one by one, for YES and NO orders, at their boundaries."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.trader.rules.rules_kit import NOW, SIDES, book, market, p, position, usd

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.features.valuation import CashView, PositionView
from kalshiflow.trader.config import RiskLimits
from kalshiflow.trader.risk.circuit_breaker import breaker_state
from kalshiflow.trader.risk.gate import check_order
from kalshiflow.trader.risk.kill_switch import kill_switch_reason
from kalshiflow.trader.risk.types import (
    MarketRiskState,
    OrderExposure,
    OrderIntent,
    PnlView,
    RiskContext,
    RiskReason,
    TradeAction,
    opening_cost,
    opening_count,
    reduces,
)

LIMITS = RiskLimits()
S = 1000
BUY = {OutcomeSide.YES: TradeAction.BUY_YES, OutcomeSide.NO: TradeAction.BUY_NO}
SELL = {OutcomeSide.YES: TradeAction.SELL_YES, OutcomeSide.NO: TradeAction.SELL_NO}


def buy(side: OutcomeSide, contracts: int | str = 5, price: str = "0.40", ticker: str = "MKT") -> OrderIntent:
    count = Count.contracts(contracts) if isinstance(contracts, int) else Count.parse(contracts)
    return OrderIntent(ticker, BUY[side], p(price), count)


def ctx(
    *,
    positions: list[PositionView] | None = None,
    available: str = "1000.00",
    reserved: str = "0",
    state: MarketRiskState | None = None,
    yes_bid: str | None = "0.38",
    no_bid: str | None = "0.58",
    close_in_s: int = 86_400,
    status: MarketStatus = MarketStatus.ACTIVE,
    pnl: PnlView | None = None,
    reduce_only_mode: bool = False,
    total_resting: int = 0,
) -> RiskContext:
    return RiskContext(
        market=market(status=status, close_in_s=close_in_s),
        book=book(yes_bid, no_bid),
        positions={h.ticker: h for h in positions or []},
        cash=CashView(usd(available), usd(reserved)),
        pnl=pnl or PnlView(),
        market_state=state or MarketRiskState(),
        total_resting_open_contracts=Count.contracts(total_resting),
        reduce_only_mode=reduce_only_mode,
    )


def reason(
    intent: OrderIntent, context: RiskContext, limits: RiskLimits = LIMITS, now_ms: int = NOW
) -> RiskReason:
    return check_order(intent, context, limits, now_ms).reason


@pytest.mark.parametrize("side", SIDES)
def test_a_plain_order_is_allowed(side: OutcomeSide) -> None:
    decision = check_order(buy(side), ctx(), LIMITS, NOW)
    assert decision.allowed
    assert decision.reason is RiskReason.OK


# ---------------------------------------------------------------- intent arithmetic
@pytest.mark.parametrize(
    ("action", "position", "opened", "reducing"),
    [
        (TradeAction.BUY_YES, 0, 500, False),
        (TradeAction.BUY_YES, 300, 500, False),
        (TradeAction.BUY_YES, -300, 200, False),
        (TradeAction.BUY_YES, -500, 0, True),
        (TradeAction.SELL_NO, -500, 0, True),
        (TradeAction.SELL_YES, 500, 0, True),
        (TradeAction.BUY_NO, 500, 0, True),
        (TradeAction.BUY_NO, 200, 300, False),
        (TradeAction.SELL_YES, 0, 500, False),
    ],
)
def test_opening_part_and_reduction(action: TradeAction, position: int, opened: int, reducing: bool) -> None:
    intent = OrderIntent("MKT", action, p("0.40"), Count(500))
    assert opening_count(intent, position) == opened
    assert reduces(intent, position) is reducing


@pytest.mark.parametrize("side", SIDES)
def test_opening_cost_is_notional_plus_taker_fee_at_the_side_price(side: OutcomeSide) -> None:
    assert opening_cost(buy(side, 100, "0.40"), 0, market()) == usd("41.68")  # 40 + 0.07x100x.4x.6


def test_selling_yes_from_flat_opens_no_at_the_complement() -> None:
    intent = OrderIntent("MKT", TradeAction.SELL_YES, p("0.40"), Count.contracts(100))
    assert opening_cost(intent, 0, market()) == usd("61.68")  # NO at 0.60


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("contracts", [-3, 0, 2, 7])
def test_the_gate_works_out_the_exposure_once_as_the_per_check_formulas_would(
    side: OutcomeSide, contracts: int
) -> None:
    """``OrderExposure`` is what every sizing check reads: the position held, the opening part and its
    cost must be exactly ``position_of`` / ``opening_count`` / ``opening_cost`` of that position."""
    held_side = OutcomeSide.YES if contracts > 0 else OutcomeSide.NO
    context = ctx(positions=[position(held_side, abs(contracts), "1.00")] if contracts else [])
    held = contracts * 100
    for intent in (buy(side, 5), OrderIntent("MKT", SELL[side], p("0.40"), Count.contracts(5))):
        exposure = OrderExposure.of(intent, context)
        assert exposure.position == held
        assert exposure.opening == opening_count(intent, held)
        assert exposure.cost == opening_cost(intent, held, market())
    no_market = replace(context, market=None)
    assert OrderExposure.of(buy(side, 5), no_market).cost == 0


# ---------------------------------------------------------------- order shape
@pytest.mark.parametrize("side", SIDES)
def test_zero_count_and_off_grid_price_are_invalid(side: OutcomeSide) -> None:
    assert reason(replace(buy(side), count=Count(0)), ctx()) is RiskReason.INVALID_ORDER
    assert reason(buy(side, price="0.405"), ctx()) is RiskReason.INVALID_ORDER
    assert reason(buy(side, price="1.00"), ctx()) is RiskReason.INVALID_ORDER


@pytest.mark.parametrize("side", SIDES)
def test_reduce_only_that_would_grow_the_position_is_denied(side: OutcomeSide) -> None:
    held = position(side, 10, "4.00")
    grow = replace(buy(side), reduce_only=True)
    flip = OrderIntent("MKT", SELL[side], p("0.40"), Count.contracts(11), reduce_only=True)
    assert reason(grow, ctx(positions=[held])) is RiskReason.NOT_REDUCING
    assert reason(flip, ctx(positions=[held])) is RiskReason.NOT_REDUCING


# ---------------------------------------------------------------- circuit breaker
def test_breaker_opens_at_n_errors_within_the_window_and_closes_after_cooldown() -> None:
    errors = (NOW, NOW + 10 * S, NOW + 59 * S)
    assert not breaker_state(errors[:2], NOW + 59 * S, LIMITS).is_open
    state = breaker_state(errors, NOW + 59 * S, LIMITS)
    assert state.is_open
    assert state.closes_at_ms == NOW + 359 * S
    assert breaker_state(errors, NOW + 359 * S - 1, LIMITS).is_open
    assert not breaker_state(errors, NOW + 359 * S, LIMITS).is_open


def test_errors_a_full_window_apart_do_not_trip() -> None:
    assert not breaker_state((NOW, NOW + 30 * S, NOW + 60 * S), NOW + 60 * S, LIMITS).is_open


def test_future_errors_are_ignored() -> None:
    assert not breaker_state((NOW + 1, NOW + 2, NOW + 3), NOW, LIMITS).is_open


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("closing", [False, True])
def test_open_breaker_blocks_opening_and_closing_orders(side: OutcomeSide, closing: bool) -> None:
    state = MarketRiskState(error_times_ms=(NOW - 3 * S, NOW - 2 * S, NOW - 1 * S))
    held = position(side, 10, "4.00")
    intent = OrderIntent(
        "MKT", SELL[side], p("0.38" if side is OutcomeSide.YES else "0.58"), Count.contracts(10), closing
    )
    if not closing:
        intent = buy(side)
    context = ctx(positions=[held], state=state)
    assert reason(intent, context) is RiskReason.CIRCUIT_BREAKER_OPEN
    assert reason(intent, context, now_ms=NOW + 300 * S) is RiskReason.OK


# ---------------------------------------------------------------- market
@pytest.mark.parametrize("side", SIDES)
def test_inactive_or_unknown_market_is_denied(side: OutcomeSide) -> None:
    assert reason(buy(side), ctx(status=MarketStatus.CLOSED)) is RiskReason.MARKET_NOT_ACTIVE
    assert reason(buy(side), replace(ctx(), market=None)) is RiskReason.MARKET_UNKNOWN


@pytest.mark.parametrize("side", SIDES)
def test_market_closing_soon_boundary(side: OutcomeSide) -> None:
    assert reason(buy(side), ctx(close_in_s=900)) is RiskReason.MARKET_CLOSING_SOON
    assert reason(buy(side), ctx(close_in_s=901)) is RiskReason.OK


@pytest.mark.parametrize("side", SIDES)
def test_book_must_be_valid_and_two_sided(side: OutcomeSide) -> None:
    invalid = ctx()
    assert invalid.book is not None
    book_obj = book("0.38", "0.58")
    book_obj.invalidate("gap")
    assert reason(buy(side), replace(invalid, book=book_obj)) is RiskReason.BOOK_INVALID
    assert reason(buy(side), replace(invalid, book=None)) is RiskReason.BOOK_INVALID
    assert reason(buy(side), ctx(no_bid=None)) is RiskReason.BOOK_ONE_SIDED
    assert reason(buy(side), ctx(yes_bid=None)) is RiskReason.BOOK_ONE_SIDED
    relaxed = LIMITS.model_copy(update={"require_two_sided_book": False})
    assert reason(buy(side), ctx(no_bid=None), relaxed) is RiskReason.OK


@pytest.mark.parametrize("side", SIDES)
def test_spread_boundary(side: OutcomeSide) -> None:
    assert reason(buy(side), ctx(yes_bid="0.40", no_bid="0.50")) is RiskReason.OK  # 10c
    assert reason(buy(side), ctx(yes_bid="0.40", no_bid="0.49")) is RiskReason.SPREAD_TOO_WIDE


@pytest.mark.parametrize("side", SIDES)
def test_reduce_only_mode_and_market_being_closed_block_opening_only(side: OutcomeSide) -> None:
    held = position(side, 10, "4.00")
    close = OrderIntent("MKT", SELL[side], p("0.40"), Count.contracts(10), reduce_only=True)
    assert reason(buy(side), ctx(reduce_only_mode=True)) is RiskReason.TRADER_REDUCE_ONLY
    assert reason(close, ctx(positions=[held], reduce_only_mode=True)) is RiskReason.OK
    being_closed = MarketRiskState(being_closed=True)
    assert reason(buy(side), ctx(state=being_closed)) is RiskReason.MARKET_BEING_CLOSED
    assert reason(close, ctx(positions=[held], state=being_closed)) is RiskReason.OK


# ---------------------------------------------------------------- throttle and size
@pytest.mark.parametrize("side", SIDES)
def test_throttle_boundary_and_closes_bypass_it(side: OutcomeSide) -> None:
    recent = MarketRiskState(last_order_at_ms=NOW - 5 * S + 1)
    assert reason(buy(side), ctx(state=recent)) is RiskReason.THROTTLED
    assert reason(buy(side), ctx(state=MarketRiskState(last_order_at_ms=NOW - 5 * S))) is RiskReason.OK
    close = OrderIntent("MKT", SELL[side], p("0.40"), Count.contracts(10), reduce_only=True)
    assert reason(close, ctx(positions=[position(side, 10, "4.00")], state=recent)) is RiskReason.OK


@pytest.mark.parametrize("side", SIDES)
def test_max_order_size_boundary(side: OutcomeSide) -> None:
    assert reason(buy(side, 10), ctx()) is RiskReason.OK
    assert reason(buy(side, "10.01"), ctx()) is RiskReason.ORDER_TOO_LARGE


# ---------------------------------------------------------------- position and exposure
@pytest.mark.parametrize("side", SIDES)
def test_market_position_limit_counts_position_and_resting_orders(side: OutcomeSide) -> None:
    held = position(side, 40, "16.00")
    state = MarketRiskState(resting_open_contracts=Count.contracts(5))
    assert reason(buy(side, 5), ctx(positions=[held], state=state)) is RiskReason.OK  # 40+5+5 = 50
    assert reason(buy(side, "5.01"), ctx(positions=[held], state=state)) is RiskReason.MARKET_POSITION_LIMIT


@pytest.mark.parametrize("side", SIDES)
def test_order_that_only_reduces_passes_even_over_a_lowered_limit(side: OutcomeSide) -> None:
    held = position(side, 60, "24.00")
    reducing = OrderIntent("MKT", SELL[side], p("0.40"), Count.contracts(5))
    assert reason(reducing, ctx(positions=[held])) is RiskReason.OK


@pytest.mark.parametrize("side", SIDES)
def test_total_position_limit(side: OutcomeSide) -> None:
    others = [position(side, 245, "1.00", ticker=f"O{i}") for i in range(2)]
    assert reason(buy(side, 5), ctx(positions=others, total_resting=5)) is RiskReason.OK  # 490+5+5
    assert reason(buy(side, 6), ctx(positions=others, total_resting=5)) is RiskReason.TOTAL_POSITION_LIMIT


@pytest.mark.parametrize("side", SIDES)
def test_exposure_limit_counts_cost_basis_reserved_cash_and_order_cost(side: OutcomeSide) -> None:
    held = [position(side, 1, "900.00", ticker="BIG")]
    # order: 5 x 0.40 = 2.00 + fee 0.0840 = 2.0840; 900 + 97.916 + 2.084 = 1000 exactly.
    assert reason(buy(side), ctx(positions=held, reserved="97.916")) is RiskReason.OK
    assert reason(buy(side), ctx(positions=held, reserved="97.916001")) is RiskReason.EXPOSURE_LIMIT


@pytest.mark.parametrize("side", SIDES)
def test_cash_reserve_boundary_includes_the_fee(side: OutcomeSide) -> None:
    assert reason(buy(side), ctx(available="102.084")) is RiskReason.OK
    assert reason(buy(side), ctx(available="102.083999")) is RiskReason.CASH_RESERVE
    assert reason(buy(side), ctx(available="102.00")) is RiskReason.CASH_RESERVE  # notional alone fits


# ---------------------------------------------------------------- kill switch
@pytest.mark.parametrize("side", SIDES)
def test_kill_switch_blocks_opening_but_allows_closing(side: OutcomeSide) -> None:
    held = position(side, 10, "4.00")
    loss = PnlView(daily_realized=usd("-150.00"), unrealized=usd("-50.00"))
    close = OrderIntent("MKT", SELL[side], p("0.40"), Count.contracts(10), reduce_only=True)
    assert reason(buy(side), ctx(positions=[held], pnl=loss)) is RiskReason.KILL_SWITCH_DAILY_LOSS
    assert reason(close, ctx(positions=[held], pnl=loss)) is RiskReason.OK


@pytest.mark.parametrize("side", SIDES)
def test_operator_kill_switch_blocks_opening_even_with_limits_off_but_allows_closing(
    side: OutcomeSide,
) -> None:
    held = position(side, 10, "4.00")
    close = OrderIntent("MKT", SELL[side], p("0.40"), Count.contracts(10), reduce_only=True)
    engaged = replace(ctx(positions=[held]), manual_kill_switch="ctl (127.0.0.1)")
    disabled = LIMITS.model_copy(update={"kill_switch_enabled": False})
    assert reason(buy(side), engaged, disabled) is RiskReason.KILL_SWITCH_MANUAL
    assert reason(buy(side), engaged) is RiskReason.KILL_SWITCH_MANUAL
    assert reason(close, engaged) is RiskReason.OK
    assert reason(buy(side), ctx(positions=[held])) is RiskReason.OK  # off again: allowed


def test_kill_switch_boundaries() -> None:
    assert kill_switch_reason(PnlView(usd("-199.999999")), LIMITS) is None
    drawdown = PnlView(equity=usd("700.00"), peak_equity=usd("1000.00"))
    assert kill_switch_reason(drawdown, LIMITS) is not None
    assert kill_switch_reason(replace(drawdown, equity=usd("700.000001")), LIMITS) is None
    breach = kill_switch_reason(drawdown, LIMITS)
    assert breach is not None
    assert breach[0] is RiskReason.KILL_SWITCH_DRAWDOWN
    disabled = LIMITS.model_copy(update={"kill_switch_enabled": False})
    assert kill_switch_reason(PnlView(usd("-1000.00")), disabled) is None


# ---------------------------------------------------------------- closes bypass exposure
@pytest.mark.parametrize("side", SIDES)
def test_closing_order_bypasses_size_position_exposure_and_cash_limits(side: OutcomeSide) -> None:
    held = position(side, 600, "900.00")
    close = OrderIntent("MKT", SELL[side], p("0.40"), Count.contracts(600), reduce_only=True)
    broke = ctx(positions=[held], available="0", reserved="500.00", close_in_s=10, no_bid=None)
    assert reason(close, broke) is RiskReason.OK


@pytest.mark.parametrize("side", SIDES)
def test_no_reentry_within_the_cooldown_after_a_stop_loss_closes_still_go(side: OutcomeSide) -> None:
    stopped = MarketRiskState(last_stop_loss_ms=NOW - 300 * S + 1)
    assert reason(buy(side), ctx(state=stopped)) is RiskReason.STOP_LOSS_COOLDOWN
    assert reason(buy(side), ctx(state=MarketRiskState(last_stop_loss_ms=NOW - 300 * S))) is RiskReason.OK
    close = OrderIntent("MKT", SELL[side], p("0.40"), Count.contracts(10), reduce_only=True)
    assert reason(close, ctx(positions=[position(side, 10, "4.00")], state=stopped)) is RiskReason.OK
    no_cooldown = RiskLimits(stop_loss_cooldown_s=0)
    assert reason(buy(side), ctx(state=stopped), no_cooldown) is RiskReason.OK
