"""A new exchange session (the simulator started again): nothing is sent until a calibration has
re-read orders and positions, and that calibration does not wait for a backoff timed on the old
session's clock."""

from __future__ import annotations

from tests.trader.scenarios.scenario_kit import Scenario, trading_recalibrator

from kalshiflow.trader.core import CalibrationCycle
from kalshiflow.trader.lifecycle.states import TraderState

REASON = "new exchange session: recalibrating before any order"
HOUR_MS = 3_600_000


async def test_a_new_session_stops_every_order_until_a_calibration_reread_the_exchange(env: Scenario) -> None:
    core, life, recal = await trading_recalibrator(env)
    recal.new_exchange_session(REASON)
    assert life.state is TraderState.CALIBRATING  # the actor trades only while trading
    assert core.reduce_only
    assert core.calibrating, "the exit rules wait for the calibration"
    assert (recal.trigger_reason, recal.urgent) == (REASON, True)
    await recal.run_once(recal.trigger_reason)
    assert life.state is TraderState.TRADING
    assert not core.reduce_only
    assert not core.calibrating
    assert not recal.urgent
    assert recal.trigger_reason is None


async def test_a_paused_trader_calibrates_at_once_instead_of_after_the_old_sessions_backoff(
    env: Scenario,
) -> None:
    _, life, recal = await trading_recalibrator(env)
    recal.pause("calibration failed: the exchange did not answer")
    assert recal.next_resume_ms is not None
    assert not recal.resume_due()
    recal.new_exchange_session(REASON)
    assert life.state is TraderState.PAUSED
    assert recal.urgent, "the calibration timer runs it at the next tick, paused or not"
    assert life.history[-1].result_text == REASON
    await recal.run_once(REASON)
    assert life.state is TraderState.TRADING


async def test_a_session_that_began_during_a_pass_asks_for_another_before_trading(env: Scenario) -> None:
    core, life, recal = await trading_recalibrator(env)
    calibrate = core.calibrate

    async def restarted_midway() -> CalibrationCycle:
        cycle = await calibrate()
        recal.new_exchange_session(REASON)
        return cycle

    core.calibrate = restarted_midway  # type: ignore[method-assign]
    await recal.run_once("scheduled")
    assert life.state is TraderState.CALIBRATING
    assert core.reduce_only
    assert core.calibrating
    assert recal.urgent
    core.calibrate = calibrate  # type: ignore[method-assign]
    await recal.run_once(REASON)
    assert life.state is TraderState.TRADING


async def test_throttles_and_cooldowns_keep_what_was_left_of_them_on_the_new_clock(env: Scenario) -> None:
    """They lasted until the new session's clock passed the old one's stamps (minutes under --speed)."""
    core, _, recal = await trading_recalibrator(env)
    ticker = env.tickers[0]
    now = env.clock.now_ms()
    core._last_order_ms[ticker] = now - 2_000
    core._errors_ms[ticker] = [now - 9_000, now - 1_000]
    core.exits.stop_loss_ms[ticker] = now - 60_000
    recal.new_exchange_session(REASON, -HOUR_MS)
    state = core.risk_context(ticker).market_state
    assert state.last_order_at_ms == now - 2_000 - HOUR_MS
    assert state.error_times_ms == (now - 9_000 - HOUR_MS, now - 1_000 - HOUR_MS)
    assert state.last_stop_loss_ms == now - 60_000 - HOUR_MS


async def test_a_passed_calibration_without_market_data_trades_only_once_it_is_back(env: Scenario) -> None:
    """The stream still reconnecting after the restart: the calibration passes, every book is
    invalid, nothing can be decided -- and the trader used to say ``trading``."""
    core, life, recal = await trading_recalibrator(env)
    missing: list[str | None] = ["stream reconnecting"]
    recal.market_data = lambda: missing[0]
    recal.new_exchange_session(REASON)
    await recal.run_once(REASON)
    assert life.state is TraderState.CALIBRATING
    assert core.reduce_only
    assert not core.calibrating, "the calibration passed: the exit rules may close (reduce-only)"
    assert life.history[-1].result_text == "calibration ok; waiting for market data (stream reconnecting)"
    assert not recal.market_data_back()
    missing[0] = "stream reconnected, order book snapshots on their way"
    assert not recal.market_data_back()
    assert life.history[-1].result_text == f"waiting for market data ({missing[0]})"
    missing[0] = None
    assert recal.market_data_back()
    assert life.state is TraderState.TRADING
    assert life.history[-1].result_text == "market data back"
    assert not core.reduce_only
    assert not recal.market_data_back(), "once"


async def test_a_pause_asked_for_while_waiting_for_market_data_is_kept(env: Scenario) -> None:
    core, life, recal = await trading_recalibrator(env)
    missing: list[str | None] = ["stream reconnecting"]
    recal.market_data = lambda: missing[0]
    await recal.run_once("scheduled")
    assert life.state is TraderState.CALIBRATING
    core.manual_kill_switch = "operator"
    missing[0] = None
    assert recal.market_data_back()
    assert life.state is TraderState.PAUSED
    assert core.reduce_only
