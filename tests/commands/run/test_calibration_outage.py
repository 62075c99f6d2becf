"""A calibration pass that raises because the exchange cannot be reached: the first one warns, the
resume passes that fail the same way during the outage log at info (``rest.unreachable`` said it)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from tests.exchange.client.exchange_client_kit import SteppingClock, make_client

from kalshiflow.clock import ManualClock
from kalshiflow.commands.app_state import AppState
from kalshiflow.commands.calibration_timer import CalibrationTimer
from kalshiflow.commands.stream_health import StreamHealthMonitor
from kalshiflow.config import load_settings
from kalshiflow.events.bus import EventBus
from kalshiflow.trader.lifecycle.init_tracker import InitTracker
from kalshiflow.trader.lifecycle.states import Lifecycle


async def test_passes_that_raise_during_an_outage_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    bus = EventBus()
    state = AppState(Lifecycle(clock, bus=bus), InitTracker(clock, bus))
    timer = CalibrationTimer(
        load_settings(environ={}, overrides={}), state, clock, StreamHealthMonitor(state, bus, clock)
    )
    rest = make_client("http://127.0.0.1:1/trade-api/v2", None, SteppingClock())  # nothing listens

    async def run_once(reason: str) -> Any:
        return await rest.exchange_status()  # raises: the exchange cannot be reached

    recal = SimpleNamespace(
        run_once=run_once, stats=SimpleNamespace(consecutive_failures=0), trigger_reason=None, urgent=False
    )
    core = SimpleNamespace(live=SimpleNamespace(clear_resync=lambda: None), rest=rest)
    caplog.set_level(logging.INFO)
    try:
        for _ in range(4):
            await timer.calibrate(core, recal, "resume")  # type: ignore[arg-type]
    finally:
        await rest.aclose()
    errors = [r for r in caplog.records if r.getMessage().startswith("calibration.error")]
    assert len(errors) == 4
    assert [r.levelno for r in errors] == [logging.WARNING] + [logging.INFO] * 3
    assert recal.stats.consecutive_failures == 4
