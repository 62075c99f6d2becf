"""``run`` after a new exchange session (a restarted simulator) took the trader's clock back: the
calibration timer's interval runs from the new time (it used to wait until the new clock passed the
old one's last pass), and the run says once what happened and what it does."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from kalshiflow.clock import FollowingClock, ManualClock
from kalshiflow.commands.app_state import AppState
from kalshiflow.commands.calibration_timer import CalibrationTimer
from kalshiflow.commands.decider import build_decider
from kalshiflow.commands.run_app import RunOptions, TraderApp
from kalshiflow.commands.stream_health import StreamHealthMonitor
from kalshiflow.config import load_settings
from kalshiflow.events.bus import EventBus
from kalshiflow.exchange.exchange_clock import ExchangeClockEstimator, SessionJump
from kalshiflow.trader.lifecycle.init_tracker import InitTracker
from kalshiflow.trader.lifecycle.states import Lifecycle

WALL0_MS = 1_790_000_000_000
HOUR_MS = 3_600_000


async def test_scheduled_calibrations_go_on_after_the_clock_went_back() -> None:
    wall = ManualClock(WALL0_MS)
    clock = FollowingClock(wall)
    estimator = ExchangeClockEstimator(clock)
    estimator.observe(WALL0_MS + HOUR_MS, WALL0_MS)  # the old session, an hour ahead of the wall
    bus = EventBus()
    state = AppState(Lifecycle(clock, bus=bus), InitTracker(clock, bus))
    settings = load_settings(environ={}, overrides={})
    timer = CalibrationTimer(settings, state, clock, StreamHealthMonitor(state, bus, clock))
    passes: list[int] = []

    async def calibrate(*_: Any) -> None:
        passes.append(clock.now_ms())

    timer.calibrate = calibrate  # type: ignore[method-assign]
    core = SimpleNamespace(groups=SimpleNamespace(triggered=list), live=SimpleNamespace(needs_resync=False))
    recal = SimpleNamespace(
        trigger_reason=None,
        resume_due=lambda: False,
        operator_requested=False,
        urgent=False,
        market_data_back=lambda: False,
    )
    task = asyncio.create_task(timer.run(core, recal))  # type: ignore[arg-type]

    async def tick(seconds: int) -> None:
        for _ in range(seconds):
            await asyncio.sleep(0)
            wall.advance(1.0)
        await asyncio.sleep(0)

    try:
        await tick(90)
        assert len(passes) == 1
        assert estimator.observe(wall.now_ms(), wall.now_ms()) is not None  # the simulator restarted
        await tick(3 * settings.calibration.interval_s)
        assert len(passes) >= 3, "scheduled passes on the new session's time"
        assert passes[-1] < WALL0_MS + HOUR_MS
    finally:
        task.cancel()


def test_the_run_says_once_what_happened_and_what_it_does(caplog: pytest.LogCaptureFixture) -> None:
    app = TraderApp(RunOptions(load_settings(environ={}, overrides={})), build_decider, clock=ManualClock())
    reasons: list[tuple[str, int]] = []

    def new_exchange_session(reason: str, shift_ms: int) -> None:
        reasons.append((reason, shift_ms))

    app.state.recal = SimpleNamespace(new_exchange_session=new_exchange_session)  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING):
        app._on_new_exchange_session(SessionJump(WALL0_MS + HOUR_MS, WALL0_MS))
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    text = record.getMessage()
    assert "went back 3,600 s" in text, text
    assert "new exchange session" in text, text
    assert "no order is sent until a calibration" in text, text
    assert reasons == [("new exchange session: recalibrating before any order", -HOUR_MS)]


async def test_each_pass_samples_the_exchange_clock_before_it_reads_the_exchange() -> None:
    """A pass that resumed after the simulator restarted read the new exchange and went back to
    trading on the old session's clock, before the 5-second sampler noticed the new session."""
    clock = ManualClock(WALL0_MS)
    bus = EventBus()
    state = AppState(Lifecycle(clock, bus=bus), InitTracker(clock, bus))
    timer = CalibrationTimer(
        load_settings(environ={}, overrides={}), state, clock, StreamHealthMonitor(state, bus, clock)
    )
    seen: list[str] = []

    async def run_once(reason: str) -> Any:
        seen.append(f"pass ({reason})")
        return SimpleNamespace(report=SimpleNamespace(ok=False))

    recal = SimpleNamespace(run_once=run_once, stats=SimpleNamespace(), trigger_reason=None, urgent=False)

    async def sample() -> bool:
        seen.append("sample")
        recal.trigger_reason, recal.urgent = "new exchange session", True
        return True

    timer.before_pass = sample
    core = SimpleNamespace(live=SimpleNamespace(clear_resync=lambda: None))
    await timer.calibrate(core, recal, "resume")  # type: ignore[arg-type]
    assert seen == ["sample", "pass (new exchange session)"]
