"""Counts in what the commands print -- ``run``'s startup and stop lines, the status history of a
calibration, ``status``, ``record``, the backtest's and training's titles -- agree with their
number: "1 markets", "cancelled 1 orders" and "1 positions" read like bugs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kalshiflow.commands.status import _recording_line
from kalshiflow.commands.train import _describe
from kalshiflow.domain.units import Money
from kalshiflow.trader.calibration.reconcile import _fetched_detail
from kalshiflow.trader.decisions.actor import ActorMetrics
from kalshiflow.trader.lifecycle.shutdown import StopReport
from kalshiflow.train.ppo import TrainConfig


def test_the_stop_line_says_one_order() -> None:
    report = StopReport(("kf-1",), (), (), (), Money(0), Money(0))
    assert report.summary().startswith("cancelled 1 order;"), report.summary()


def test_the_calibration_fetch_line_says_one_of_each() -> None:
    one = ["x"]
    snapshot: Any = SimpleNamespace(positions=one, resting_orders=one, fills=one, settlements=one)
    assert _fetched_detail(snapshot, one) == "1 position, 1 resting order, 1 fill, 1 settlement, 1 market"  # type: ignore[arg-type]


def test_a_recorded_session_line_of_status_says_one_market_and_one_message() -> None:
    row = {
        "session_id": 1,
        "exchange": "sim",
        "markets": 1,
        "started_ms": 1_790_000_000_000,
        "ended_ms": 1_790_000_015_000,
        "messages": 1,
        "status": "closed",
    }
    line = _recording_line(row)
    assert "  1 market  " in line, line
    assert "1 message (closed)" in line, line


def test_the_end_of_run_decisions_line_keeps_thousands_and_says_one_order() -> None:
    metrics = ActorMetrics(decisions=1_204, holds=1_203, orders_sent=1, errors=1)
    assert metrics.summary() == "1,204 decisions: 1,203 hold, 1 order sent, 0 denied, 1 error"


def test_the_training_title_says_one_market() -> None:
    config = TrainConfig(timesteps=64, seed=0, n_markets=1)
    assert ", 1 market, simulator seeds" in _describe(config)
