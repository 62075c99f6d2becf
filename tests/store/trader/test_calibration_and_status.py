"""Calibration reports with their drift events, and the status history: what the trader hands over
comes back from the read side exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select

from kalshiflow.clock import ManualClock
from kalshiflow.domain.units import Count, Money
from kalshiflow.store.trader_models import CalibrationReportRow, DriftEventRow
from kalshiflow.store.trader_repo import TraderStore
from kalshiflow.trader.lifecycle.states import Lifecycle, TraderState

T0 = 1_790_000_000_000


class DriftKind(StrEnum):
    CASH = "cash"
    POSITION = "position"
    EXTERNAL_ORDER = "external_order"


@dataclass(frozen=True)
class Step:
    name: str
    duration_ms: int
    result: str
    ok: bool = True


@dataclass(frozen=True)
class Drift:
    kind: DriftKind
    ticker: str | None
    sizes: dict[str, int]
    detail: str


@dataclass(frozen=True)
class Report:
    """Shaped like trader/calibration/report.py's CalibrationReport, as far as the store's contract reads it."""

    started_ms: int
    duration_ms: int
    ok: bool
    failure_reason: str | None
    rest_calls: int
    cash_drift: Money
    steps: tuple[Step, ...]
    drift: tuple[Drift, ...]
    corrections: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StatusEntry:
    ts_ms: int
    status: str
    result_text: str
    duration_ms: int | None
    previous_status_ms: int | None


def _report() -> Report:
    return Report(
        started_ms=T0,
        duration_ms=137,
        ok=True,
        failure_reason=None,
        rest_calls=6,
        cash_drift=Money(-12_500_000),
        steps=(
            Step("syncing state", 100, "cash $1,232.50 -> $1,245.00, 2 positions"),
            Step("closing positions", 37, "closed 1 (3 -> 2)"),
        ),
        drift=(
            Drift(DriftKind.CASH, None, {"money_e6": Money(-12_500_000)}, "balance changed behind our back"),
            Drift(
                DriftKind.POSITION,
                "KXTEST-T1",
                {"count_e2": Count(-300), "ledger_e2": 1_000, "exchange_e2": 700},
                "exchange holds fewer",
            ),
            Drift(DriftKind.EXTERNAL_ORDER, "KXTEST-T2", {}, "order placed by hand adopted"),
        ),
    )


def test_a_calibration_report_and_its_drift_round_trip(engine: Engine, clock: ManualClock) -> None:
    store = TraderStore(engine, clock, flush_interval_s=0.01)
    assert store.last_calibration() is None
    assert store.save_calibration(_report())
    assert store.flush(10)
    stored = store.last_calibration()
    assert stored is not None
    assert (stored.started_ms, stored.duration_ms, stored.ok, stored.failure_reason) == (T0, 137, True, None)
    assert (stored.rest_calls, stored.cash_drift_e6, stored.drift_count) == (6, -12_500_000, 3)
    assert stored.steps == [
        {
            "name": "syncing state",
            "duration_ms": 100,
            "result": "cash $1,232.50 -> $1,245.00, 2 positions",
            "ok": True,
        },
        {"name": "closing positions", "duration_ms": 37, "result": "closed 1 (3 -> 2)", "ok": True},
    ]
    assert [(d.kind, d.ticker, d.count_e2, d.money_e6, d.detail) for d in stored.drift] == [
        ("cash", None, None, -12_500_000, "balance changed behind our back"),
        ("position", "KXTEST-T1", -300, None, "exchange holds fewer"),
        ("external_order", "KXTEST-T2", None, None, "order placed by hand adopted"),
    ]
    assert json.loads(stored.drift[1].extra_json) == {
        "sizes": {"count_e2": -300, "ledger_e2": 1_000, "exchange_e2": 700}
    }
    store.close()


def test_the_newest_report_is_last_and_drift_goes_with_its_report(engine: Engine, clock: ManualClock) -> None:
    store = TraderStore(engine, clock, flush_interval_s=0.01)
    store.save_calibration(_report())
    failed: dict[str, Any] = {  # a plain mapping works as well as a dataclass
        "started_ms": T0 + 60_000,
        "duration_ms": 5,
        "ok": False,
        "failure_reason": "exchange timeout during position sync",
        "rest_calls": 1,
        "steps": [{"name": "syncing state", "duration_ms": 5, "result": "error"}],
        "drift": [],
    }
    assert store.save_calibration(failed)
    assert store.flush(10)
    stored = store.last_calibration()
    assert stored is not None
    assert (stored.ok, stored.failure_reason, stored.cash_drift_e6, stored.drift) == (
        False,
        "exchange timeout during position sync",
        0,
        (),
    )
    with engine.begin() as connection:
        first_id = connection.execute(select(func.min(CalibrationReportRow.id))).scalar_one()
        connection.execute(delete(CalibrationReportRow).where(CalibrationReportRow.id == first_id))
        assert connection.execute(select(func.count()).select_from(DriftEventRow)).scalar_one() == 0
    store.close()


@pytest.mark.parametrize(
    "report_change",
    [
        {"rest_calls": 6.0},  # a float count would be rounded somewhere: refused
        {"cash_drift": 1.5},
        {"ok": 1},
    ],
)
def test_a_report_breaking_the_contract_is_refused_not_stored(
    engine: Engine, clock: ManualClock, report_change: dict[str, Any]
) -> None:
    store = TraderStore(engine, clock)
    report = {**_report().__dict__, **report_change}
    assert store.save_calibration(report) is False
    assert store.metrics().listener_errors == 1
    store.close()
    assert store.count_rows("calibration_reports") == 0


def test_status_history_reads_newest_first(engine: Engine, clock: ManualClock) -> None:
    store = TraderStore(engine, clock, flush_interval_s=0.01)
    entries = [
        StatusEntry(T0, "initializing", "starting", None, None),
        StatusEntry(T0 + 900, "calibrating", "starting recalibration", 900, 900),
        StatusEntry(T0 + 1_000, "calibrating -> syncing state", "cash $1,232.50 -> $1,245.00", 100, 100),
    ]
    for entry in entries:
        assert store.save_status(entry)
    assert store.save_status({"ts_ms": T0 + 2_000, "status": "trading", "result_text": "last action: none"})
    assert store.flush(10)
    history = store.status_history(limit=3)
    assert [(s.ts_ms, s.status, s.result_text, s.duration_ms, s.previous_status_ms) for s in history] == [
        (T0 + 2_000, "trading", "last action: none", None, None),
        (T0 + 1_000, "calibrating -> syncing state", "cash $1,232.50 -> $1,245.00", 100, 100),
        (T0 + 900, "calibrating", "starting recalibration", 900, 900),
    ]
    assert len(store.status_history()) == 4
    store.close()


def test_state_since_counts_trading_through_the_periodic_calibrations(
    engine: Engine, clock: ManualClock
) -> None:
    """``status`` said "trading at <the last calibration's end>", as if the trader had just begun:
    it reads the start of the stretch of trading, the time the page and the terminal view show."""
    store = TraderStore(engine, clock, flush_interval_s=0.01)
    earlier = Lifecycle(clock)  # an earlier run on the same store, stopped
    earlier.move(TraderState.TRADING)
    earlier.move(TraderState.STOPPING)
    earlier.move(TraderState.STOPPED)
    clock.advance(600)
    life = Lifecycle(clock)
    life.move(TraderState.CALIBRATING)
    clock.advance(1)
    life.move(TraderState.TRADING)
    began = clock.now_ms()
    for _ in range(3):
        clock.advance(60)
        life.note("last action: BUY_YES")
        life.move(TraderState.CALIBRATING)
        clock.advance(0.2)
        life.move(TraderState.TRADING, "calibration ok")

    for entry in (*earlier.history, *life.history):
        assert store.save_status(entry)
    assert store.flush(10)
    assert store.state_since() == began == life.shown_since_ms
    clock.advance(5)
    paused = life.move(TraderState.PAUSED, "kill switch engaged")
    assert store.save_status(paused)
    assert store.flush(10)
    assert store.state_since() == paused.ts_ms == life.shown_since_ms
    store.close()
