"""Losing the market-data stream shows at once, in words, in the status console and the view."""

from __future__ import annotations

from rich.console import Console

from kalshiflow.clock import ManualClock
from kalshiflow.commands.decider import build_decider
from kalshiflow.commands.run_app import RunOptions, TraderApp
from kalshiflow.commands.terminal_view import render
from kalshiflow.config import load_settings
from kalshiflow.trader.lifecycle.init_tracker import InitStep


def ready_app() -> TraderApp:
    app = TraderApp(RunOptions(load_settings(environ={}, overrides={})), build_decider, clock=ManualClock())
    for step in InitStep:
        app.state.tracker.complete(step)
    return app


def screen(app: TraderApp) -> str:
    console = Console(width=80, height=24, record=True)
    console.print(render(app.state, width=80, height=24))
    return console.export_text()


def test_a_lost_stream_is_shown_as_degraded_with_a_readable_reason_and_cleared_when_it_is_back() -> None:
    app = ready_app()
    app._note_degraded(False, "backing_off", "connect_failed: connection refused")
    assert app.state.degraded == "market data stream backing off (connect_failed: connection refused)"
    assert app.state.lifecycle.history[-1].result_text == f"degraded: {app.state.degraded}"
    assert "(degraded)" in screen(app)
    app._note_degraded(False, "backing_off", "connect_failed: connection refused")
    assert sum(e.result_text.startswith("degraded") for e in app.state.lifecycle.history) == 1  # once
    app._note_degraded(True, "live", "")
    assert app.state.degraded is None
    assert app.state.lifecycle.history[-1].result_text == "market data stream live again"
    assert "(degraded)" not in screen(app)


def test_nothing_is_called_degraded_while_still_starting_up() -> None:
    app = TraderApp(RunOptions(load_settings(environ={}, overrides={})), build_decider, clock=ManualClock())
    app._note_degraded(False, "connecting", "")
    assert app.state.degraded is None
