"""Each exit reason fires in a constructed scenario and closes the full position through ``calibrate()``.

Books and fills come from the real stream (``stream=True``). The counterparty's resting bids (Bob,
straight on the engine) set the exit price; the closing order sells into them, so every close fills
and the position ends flat. Settlement is booked exactly: cash += revenue, realized P&L = revenue -
fee-inclusive cost.
"""

from __future__ import annotations

import pytest
from tests.trader.scenarios.scenario_kit import ALICE, Scenario, scenario_config

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Money
from kalshiflow.trader.calibration.drift import DriftKind
from kalshiflow.trader.core import CalibrationCycle, TraderCore
from kalshiflow.trader.exit_rules.base import ExitReason
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

SIDES = pytest.mark.parametrize("side", [OutcomeSide.YES, OutcomeSide.NO], ids=["yes", "no"])


def closed_by(cycle: CalibrationCycle, core: TraderCore, ticker: str, reason: ExitReason) -> TrackedOrder:
    """The one exit decided for ``ticker``: ``reason``, the full position, placed reduce-only."""
    [decision] = [d for d in cycle.exits if d.ticker == ticker]
    assert decision.reason is reason, decision
    [close] = [c for c in cycle.closes if c.ticker == ticker]
    assert close.outcome == "placed", close
    assert close.execution is not None
    order = core.ledger.orders[close.execution.client_order_id]
    assert (order.purpose, order.close_reason, order.reduce_only) == (OrderPurpose.CLOSE, reason.value, True)
    assert order.count == decision.close_count
    return order


async def assert_flat_after(env: Scenario, ticker: str, order: TrackedOrder) -> None:
    await env.converge()
    assert order.state is OrderState.FILLED
    assert core_of(env).ledger.position(ticker).position == 0
    assert ticker not in {t for t, p in env.sim.engine.account(ALICE).positions.items() if p.position}


def core_of(env: Scenario) -> TraderCore:
    return env.the_core


@SIDES
async def test_take_profit_closes_the_full_position(env: Scenario, side: OutcomeSide) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(take_profit_pct=20), stream=True)
    await env.hold(ticker, side, 5)
    assert not (await env.calibrate()).exits
    env.cancel_bob(ticker)
    env.bid(ticker, side, "0.80", 5)
    cycle = await env.calibrate()
    order = closed_by(cycle, core, ticker, ExitReason.TAKE_PROFIT)
    assert order.count == Count.contracts(5)
    await assert_flat_after(env, ticker, order)
    assert core.ledger.position(ticker).realized_pnl > 0


@SIDES
async def test_stop_loss_closes_the_full_position(env: Scenario, side: OutcomeSide) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(stop_loss_pct=20), stream=True)
    await env.hold(ticker, side, 5)
    assert not (await env.calibrate()).exits
    env.cancel_bob(ticker)
    env.bid(ticker, side, "0.30", 5)
    cycle = await env.calibrate()
    order = closed_by(cycle, core, ticker, ExitReason.STOP_LOSS)
    assert order.count == Count.contracts(5)
    await assert_flat_after(env, ticker, order)
    assert core.ledger.position(ticker).realized_pnl < 0


@SIDES
async def test_max_hold_time_closes_the_full_position(env: Scenario, side: OutcomeSide) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(max_hold_s=60), stream=True)
    await env.hold(ticker, side, 5)
    env.clock.advance(59)
    assert not (await env.calibrate()).exits
    env.clock.advance(1)
    cycle = await env.calibrate()
    order = closed_by(cycle, core, ticker, ExitReason.MAX_HOLD_TIME)
    assert order.count == Count.contracts(5)
    await assert_flat_after(env, ticker, order)


@SIDES
async def test_market_closing_is_exited_before_the_close(env: Scenario, side: OutcomeSide) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(market_closing_s=300), stream=True)
    await env.hold(ticker, side, 5)
    assert not (await env.calibrate()).exits
    close_s = env.clock.now_ms() // 1000 + 200  # the exchange moves the close to 200 s from now
    reply = await env.admin.post(f"/markets/{ticker}/close_time", json={"close_ts": close_s})
    assert reply.status_code == 200, reply.text
    cycle = await env.calibrate()
    order = closed_by(cycle, core, ticker, ExitReason.MARKET_CLOSING)
    assert order.count == Count.contracts(5)
    await assert_flat_after(env, ticker, order)
    assert env.clock.now_ms() < close_s * 1000


@pytest.mark.parametrize("buffer", ["2", "25"], ids=["restores_reserve", "closes_everything"])
async def test_cash_recovery_restores_the_reserve_or_closes_everything(env: Scenario, buffer: str) -> None:
    good, bad = env.tickers[0], env.tickers[1]
    env.quote(good)
    env.quote(bad)
    config = scenario_config(cash_reserve_dollars="100", cash_recovery_buffer_dollars=buffer)
    core = await env.new_core(config, stream=True)
    await env.hold(good, OutcomeSide.YES, 10)
    await env.hold(bad, OutcomeSide.YES, 10)
    env.cancel_bob(bad)
    env.quote(bad, yes_bid="0.40", no_bid="0.55")  # the worse performer
    reply = await env.admin.post(f"/accounts/{ALICE}/balance", json={"balance_dollars": "99.00"})
    assert reply.status_code == 200
    env.external_tickers.update({good, bad})  # the balance edit is not the trader's doing
    cycle = await env.calibrate()
    assert [e.kind for e in cycle.report.drift] == [DriftKind.CASH]
    target = Money.dollars(100) + Money.parse(buffer)
    if buffer == "2":
        order = closed_by(cycle, core, bad, ExitReason.CASH_RECOVERY)
        assert [d.ticker for d in cycle.exits] == [bad]  # worst first, and only what is needed
        await assert_flat_after(env, bad, order)
        assert core.ledger.cash >= target
        assert core.ledger.position(good).position == Count.contracts(10)
    else:
        orders = [closed_by(cycle, core, t, ExitReason.CASH_RECOVERY) for t in (bad, good)]
        assert [d.ticker for d in cycle.exits] == [bad, good]
        for ticker, order in zip((bad, good), orders, strict=True):
            await assert_flat_after(env, ticker, order)
        assert core.ledger.cash < target  # impossible to restore: everything was closed


@SIDES
async def test_stuck_close_is_repriced_then_crosses_and_closes_the_full_position(
    env: Scenario, side: OutcomeSide
) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    config = scenario_config(max_hold_s=60, stuck_close_after_s=10, stuck_cross_after_s=20)
    core = await env.new_core(config, stream=True)
    await env.hold(ticker, side, 5)
    env.cancel_bob(ticker)
    env.bid(ticker, side, "0.44", 1)  # only one contract at the price the close is placed at
    env.bid(ticker, side, "0.40", 10)
    env.clock.advance(60)
    cycle = await env.calibrate()
    order = closed_by(cycle, core, ticker, ExitReason.MAX_HOLD_TIME)
    await env.converge()
    assert (order.state, order.filled, order.remaining) == (
        OrderState.PARTIALLY_FILLED,
        Count.contracts(1),
        Count.contracts(4),
    )
    env.clock.advance(10)
    cycle = await env.calibrate()
    [decision] = cycle.exits
    assert (decision.reason, decision.replaces_client_order_id) == (ExitReason.STUCK, order.client_order_id)
    assert decision.close_count == Count.contracts(4)  # the whole remaining position
    assert decision.limit_price.dollars_str() == "0.4300"  # one step toward the bid
    assert [c.outcome for c in cycle.closes] == ["repriced"]
    env.clock.advance(10)
    cycle = await env.calibrate()
    [decision] = cycle.exits
    assert decision.reason is ExitReason.STUCK
    assert decision.limit_price.dollars_str() == "0.4000"
    assert [c.outcome for c in cycle.closes] == ["repriced"]
    await assert_flat_after(env, ticker, order)


@pytest.mark.parametrize("result", ["yes", "no"])
@SIDES
async def test_settlement_of_a_held_market_is_booked_exactly(
    env: Scenario, side: OutcomeSide, result: str
) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(), stream=True)
    await env.hold(ticker, side, 5)
    position = core.ledger.position(ticker)
    cost = position.cost_basis
    assert cost > position.exposure  # fees to open are in the cost basis
    cash_before = core.ledger.cash
    reply = await env.admin.post(f"/markets/{ticker}/determine", json={"result": result, "settle_now": True})
    assert reply.status_code == 200, reply.text
    await env.converge()
    cycle = await env.calibrate()
    [settled] = [e for e in cycle.report.corrections if e.kind is DriftKind.SETTLEMENT]
    revenue = Money.dollars(5) if result == side.value else Money(0)
    assert settled.money == revenue
    assert core.ledger.cash == cash_before + revenue
    assert cycle.report.totals.cash == 0  # booked exactly: nothing left to correct
    record = core.ledger.positions.get(ticker) or core.ledger.position(ticker)
    assert record.position == 0
    assert record.realized_pnl == revenue - cost
