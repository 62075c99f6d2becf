"""``kalshiflow run --url`` against ``kalshiflow sim --speed 20`` that is stopped and started again.

The whole ``TraderApp`` runs against a simulator served on loopback whose market clock runs twenty
times a manual wall clock from the wall time it started (as ``sim --speed 20`` does); the wall
clock moves only when the program is idle (``IdleClockDriver``). After half a minute of wall time the
simulator is stopped and a new one started on the same port: its clock starts ten minutes of
market time behind the old one's. The trader's clock used to hold at the old time for about half
a minute of wall time (no scheduled calibration meanwhile); it now follows the new session at once,
says so once, and recalibrates before trading on.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from tests.commands.run.restart_kit import holding_trader_settings, restartable_sim
from tests.idle_clock import IdleClockDriver

from kalshiflow.clock import FollowingClock
from kalshiflow.commands.decider import build_decider
from kalshiflow.commands.run_app import AppState, RunOptions, TraderApp
from kalshiflow.exchange.ws_status import ConnectionState
from kalshiflow.trader.lifecycle.states import TraderState


@pytest.mark.timeout(180)  # a hang guard: a quiet machine runs this in about 20 s
async def test_a_restarted_simulator_is_followed_at_once_and_recalibrated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim = restartable_sim(tmp_path)
    wall = sim.wall
    first = await sim.start()
    connection, settings = sim.connection(), holding_trader_settings()
    options = RunOptions(settings, connection=connection, db_url=f"sqlite:///{tmp_path / 'trader.db'}")
    clock = FollowingClock(wall)
    app = TraderApp(options, build_decider, clock=clock)
    stop, ready = asyncio.Event(), asyncio.Event()

    def reconnecting() -> bool:
        feed = app.state.feed
        return (
            not stop.is_set() and feed is not None and feed.stream.status().state is not ConnectionState.LIVE
        )

    def on_ready(_: AppState) -> None:
        ready.set()

    driver = IdleClockDriver(wall, busy=reconnecting)
    runner = asyncio.create_task(app.run(stop, on_ready), name="trader-app")
    try:
        await driver.run_until(lambda: ready.is_set() or runner.done(), 120, "trader ready")
        if runner.done():
            runner.result()
        await driver.run_for(30)  # ten minutes of the simulator's time
        assert clock.now_ms() == pytest.approx(first.now_ms(), abs=2_000)
        recal = app.state.recal
        assert recal is not None
        second = await sim.restart()  # stopped, and started again: its clock from the wall, behind
        runs = recal.stats.runs
        with caplog.at_level(logging.WARNING):
            await driver.run_until(
                lambda: abs(clock.now_ms() - second.now_ms()) < 2_000,
                10,
                "the trader on the new session's time",
            )
            await driver.run_until(
                lambda: recal.stats.runs >= runs + 3 and app.state.lifecycle.state is TraderState.TRADING,
                15,  # five minutes of market time: three scheduled passes at least
                "calibrations on the new session",
            )
        said = [r.getMessage() for r in caplog.records if "new exchange session" in r.getMessage()]
        assert len(said) == 1, said
    finally:
        stop.set()
        await driver.run_until(lambda: runner.done(), 600, "the trader stopped")
        await sim.sims.aclose()
    assert runner.result() == 0
