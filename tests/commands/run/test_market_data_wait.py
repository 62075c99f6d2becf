"""After a new exchange session the trader does not say ``trading`` while its stream is still away.

``kalshiflow run --url`` against a simulator that is stopped and started again (as in
``test_sim_restart``), with the stream's reconnection held back by the test: the calibration on the
new session passes while every book is still invalid (nothing can be decided). The trader used to
return to ``trading`` at once -- on the page, in ``status`` and on the console -- while it could not
trade; it now stays in ``calibrating`` (reduce-only) with the line "waiting for market data (stream
reconnecting)", and trades again once the stream and its snapshots are back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.commands.run.restart_kit import holding_trader_settings, restartable_sim
from tests.idle_clock import IdleClockDriver

from kalshiflow.clock import FollowingClock, ManualClock
from kalshiflow.commands.dashboard_wiring import AppControls
from kalshiflow.commands.decider import build_decider
from kalshiflow.commands.run_app import AppState, RunOptions, TraderApp
from kalshiflow.commands.status import format_status, read_status
from kalshiflow.commands.stream_health import market_data_missing
from kalshiflow.config import load_settings
from kalshiflow.exchange import ws_stream
from kalshiflow.exchange.ws_status import ConnectionState
from kalshiflow.trader.lifecycle.states import TraderState

WAITING = "waiting for market data (stream reconnecting)"


async def test_a_pause_while_waiting_for_market_data_is_not_put_off_until_a_calibration_ends() -> None:
    """No calibration is in progress while a passed one waits for the market data: the operator's
    pause is taken at once, not deferred "after this calibration" (the next one, a minute on)."""
    app = TraderApp(RunOptions(load_settings(environ={}, overrides={})), build_decider, clock=ManualClock())
    app.state.lifecycle.move(TraderState.CALIBRATING, "starting recalibration (scheduled)")
    held: list[str] = []

    def hold(by: str) -> bool:
        held.append(by)
        return True

    recal = SimpleNamespace(
        waiting_for="stream reconnecting", held_by=None, is_paused=lambda: False, hold=hold
    )
    app.state.core, app.state.recal = SimpleNamespace(), recal  # type: ignore[assignment]
    assert await AppControls(app).pause("operator") == (True, "paused")
    assert held == ["operator"]
    recal.waiting_for = None  # a calibration in progress: its sub-steps need it to end first
    assert await AppControls(app).pause("operator") == (True, "pausing after the calibration in progress")


def test_what_the_market_data_misses_in_words() -> None:
    books = {"A": False, "B": False}
    for state in (ConnectionState.CONNECTING, ConnectionState.BACKING_OFF, ConnectionState.SUBSCRIBING):
        assert market_data_missing(state, ["A", "B"], books.__getitem__) == "stream reconnecting"
    assert market_data_missing(ConnectionState.CLOSED, ["A"], books.__getitem__) == "stream closed"
    live = ConnectionState.LIVE
    assert market_data_missing(live, ["A", "B"], books.__getitem__) == (
        "stream reconnected, order book snapshots on their way"
    )
    books["B"] = True  # one book to decide on is trading; A's may stay invalid (never stuck on it)
    assert market_data_missing(live, ["A", "B"], books.__getitem__) is None
    assert market_data_missing(live, [], books.__getitem__) is None


@pytest.mark.timeout(180)  # a hang guard: a quiet machine runs this in about 20 s
async def test_a_new_session_waits_for_the_stream_before_it_says_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = restartable_sim(tmp_path)
    wall = sim.wall
    await sim.start()
    connection, settings = sim.connection(), holding_trader_settings()
    db_url = f"sqlite:///{tmp_path / 'trader.db'}"
    app = TraderApp(
        RunOptions(settings, connection=connection, db_url=db_url), build_decider, clock=FollowingClock(wall)
    )
    stream_may_connect = asyncio.Event()
    stream_may_connect.set()
    connect = ws_stream.open_connection

    async def held_connect(*args: Any, **kwargs: Any) -> Any:
        await stream_may_connect.wait()  # held: the stream stays "connecting"
        return await connect(*args, **kwargs)

    monkeypatch.setattr(ws_stream, "open_connection", held_connect)
    stop, ready = asyncio.Event(), asyncio.Event()

    def reconnecting() -> bool:  # time stands still while the stream reconnects, unless held back
        feed = app.state.feed
        return (
            stream_may_connect.is_set()
            and not stop.is_set()
            and feed is not None
            and feed.stream.status().state is not ConnectionState.LIVE
        )

    def on_ready(_: AppState) -> None:
        ready.set()

    driver = IdleClockDriver(wall, busy=reconnecting)
    runner = asyncio.create_task(app.run(stop, on_ready), name="trader-app")
    try:
        await driver.run_until(lambda: ready.is_set() or runner.done(), 120, "trader ready")
        if runner.done():
            runner.result()
        await driver.run_for(10)
        life, recal, actor = app.state.lifecycle, app.state.recal, app.state.actor
        assert recal is not None
        assert actor is not None
        assert life.state is TraderState.TRADING
        stream_may_connect.clear()
        await sim.restart()  # the simulator stops, and starts again on the same port
        seen = life.recorded
        runs = recal.stats.runs
        await driver.run_until(
            lambda: recal.stats.runs >= runs + 2 and not recal.urgent,
            15,  # five minutes of market time: the new session's calibration and a scheduled one
            "calibrations on the new session while the stream is held",
        )
        assert app.state.feed is not None
        assert app.state.feed.stream.status().state is not ConnectionState.LIVE
        new = [e.result_text for e in life.entries_after(seen)]
        assert any("new exchange session" in text for text in new), new
        assert life.state is TraderState.CALIBRATING, new  # not "trading": nothing can be decided
        assert app.state.core is not None
        assert app.state.core.reduce_only
        assert any(text.endswith(WAITING) for text in new), new
        assert app.store is not None
        assert await asyncio.to_thread(app.store.flush, 30.0)  # what ``status`` reads is written
        shown = format_status(read_status(db_url))
        assert "last state (trader clock): calibrating " in shown, shown
        assert WAITING in shown, shown
        ticker = app.state.feed.tickers[0]
        assert await actor.decide(ticker, app.clock.now_ms()) is None  # deferred: nothing is decided
        stream_may_connect.set()  # the stream comes back: its snapshots, then trading
        await driver.run_until(lambda: life.state is TraderState.TRADING, 15, "trading again")
        # Back by the timer's look at the books, or by the resync calibration the reconnect asked for.
        [*_, back] = (e for e in life.history if e.previous_state is not None)
        assert back.result_text in ("market data back", "calibration ok"), back
        feed = app.state.feed
        assert any(feed.books.is_valid(t) for t in feed.tickers)
        await driver.run_until(
            lambda: actor.may_trade(), 15, "the resync calibration the reconnect asked for"
        )
        decided = actor.metrics.decisions
        assert await actor.decide(ticker, app.clock.now_ms()) is not None  # the policy decides again
        assert actor.metrics.decisions == decided + 1
    finally:
        stream_may_connect.set()
        stop.set()
        await driver.run_until(lambda: runner.done(), 600, "the trader stopped")
        await sim.sims.aclose()
    assert runner.result() == 0
