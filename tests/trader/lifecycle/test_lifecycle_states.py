"""The lifecycle state machine: the transition table is the only truth, and history reads right."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.clock import ManualClock
from kalshiflow.events.trader import StatusEntry
from kalshiflow.trader.lifecycle.init_tracker import InitStep, InitTracker, StepState
from kalshiflow.trader.lifecycle.states import (
    TRANSITIONS,
    CalibrationStep,
    IllegalTransition,
    Lifecycle,
    TraderState,
)

LEGAL = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(TraderState, TraderState)))
def test_every_pair_of_states_is_legal_exactly_when_the_table_says_so(
    source: TraderState, target: TraderState
) -> None:
    life = Lifecycle(ManualClock())
    life.state = source  # place the machine in `source` directly to test one edge
    if (source, target) in LEGAL:
        life.move(target)
        assert life.state is target
    else:
        with pytest.raises(IllegalTransition):
            life.move(target)
        assert life.state is source


def test_stopping_leads_only_to_stopped_and_is_reachable_from_every_running_state() -> None:
    assert TRANSITIONS[TraderState.STOPPING] == frozenset({TraderState.STOPPED})
    assert TRANSITIONS[TraderState.STOPPED] == frozenset()
    for state in TraderState:
        if state not in (TraderState.STOPPING, TraderState.STOPPED):
            assert TraderState.STOPPING in TRANSITIONS[state]
            assert TraderState.STOPPED not in TRANSITIONS[state]  # only through stopping


@pytest.mark.parametrize(
    ("state", "reduce_only"),
    [
        (TraderState.INITIALIZING, True),
        (TraderState.TRADING, False),
        (TraderState.CALIBRATING, True),
        (TraderState.PAUSED, True),
        (TraderState.STOPPING, False),
    ],
)
def test_only_trading_may_take_new_exposure_while_calibrating_and_paused_are_reduce_only(
    state: TraderState, reduce_only: bool
) -> None:
    life = Lifecycle(ManualClock())
    life.state = state
    assert life.reduce_only is reduce_only


def test_history_entries_carry_time_duration_and_time_in_previous_status() -> None:
    clock = ManualClock(start_ms=1_790_000_000_000)
    life = Lifecycle(clock)
    clock.advance(2.5)
    entry = life.move(TraderState.TRADING, "startup calibration ok")
    assert entry.previous_status_ms == 2500
    assert entry.ts_ms == clock.now_ms()
    clock.advance(60)
    life.move(TraderState.CALIBRATING, "starting recalibration")
    clock.advance(0.1)
    step = life.step(CalibrationStep.SYNCING_STATE, "cash $1,232.50 -> $1,245.00, drift $0.00", 100)
    assert step.status == "calibrating -> syncing state"
    assert step.duration_ms == 100
    lines = life.console()
    assert lines[0].endswith("(0.1s)")
    assert "calibrating -> syncing state" in lines[0]
    assert "starting recalibration" in lines[1]
    assert len(lines) == 4  # newest first, including the initializing entry


def test_a_calibration_step_outside_calibrating_is_a_bug() -> None:
    life = Lifecycle(ManualClock())
    with pytest.raises(IllegalTransition):
        life.step(CalibrationStep.CLOSING_POSITIONS, "closed 1", 5)


def test_every_entry_is_published_on_the_bus_and_history_is_bounded() -> None:
    life = Lifecycle(ManualClock(), history_size=3)
    watching = life.bus.subscribe("test", [StatusEntry])
    for _ in range(5):
        life.note("tick")
    seen = watching.drain()
    assert [e.result_text for e in seen] == ["tick"] * 5  # type: ignore[attr-defined]
    assert len(life.history) == 3


@given(st.lists(st.sampled_from(list(TraderState)), max_size=40))
def test_random_walks_through_the_table_never_reach_an_unlisted_edge(targets: list[TraderState]) -> None:
    life = Lifecycle(ManualClock())
    for target in targets:
        before = life.state
        if life.can_move(target):
            life.move(target)
            assert (before, target) in LEGAL
        else:
            with pytest.raises(IllegalTransition):
                life.move(target)
            assert life.state is before


def test_init_tracker_is_ready_only_when_every_step_completed() -> None:
    clock = ManualClock()
    tracker = InitTracker(clock)
    assert not tracker.ready
    for step in InitStep:
        tracker.begin(step)
        clock.advance(0.25)
        tracker.complete(step, "ok")
    assert tracker.ready
    assert all(r.duration_ms == 250 for r in tracker)


def test_init_tracker_reports_failed_steps_with_their_reason() -> None:
    tracker = InitTracker(ManualClock())
    tracker.begin(InitStep.CREDENTIALS)
    tracker.fail(InitStep.CREDENTIALS, "401 invalid_signature: check --key-file")
    assert not tracker.ready
    assert tracker.steps[InitStep.CREDENTIALS].state is StepState.FAILED
    assert "invalid_signature" in tracker.summary()


def test_a_periodic_calibration_does_not_restart_the_time_shown_in_trading() -> None:
    """After each scheduled recalibration the page, status and the terminal read "trading for 3s"
    as if the trader had just started: trading counts from the start of its stretch."""
    clock = ManualClock(1_000)
    life = Lifecycle(clock)
    life.move(TraderState.CALIBRATING)  # the startup calibration
    clock.advance(0.5)
    life.move(TraderState.TRADING)
    started_trading = clock.now_ms()
    for _ in range(3):  # scheduled recalibrations
        clock.advance(60)
        life.move(TraderState.CALIBRATING)
        assert life.shown_since_ms == clock.now_ms()  # calibrating: its own time
        clock.advance(0.1)
        life.move(TraderState.TRADING)
        assert life.shown_since_ms == started_trading
    assert life.since_ms == clock.now_ms()  # the literal state's entry (metrics, history) is kept


def test_a_pause_ends_the_stretch_of_trading() -> None:
    clock = ManualClock(1_000)
    life = Lifecycle(clock)
    life.move(TraderState.TRADING)
    clock.advance(60)
    life.move(TraderState.CALIBRATING)
    life.move(TraderState.PAUSED)  # a failed calibration pauses
    clock.advance(5)
    life.move(TraderState.CALIBRATING)
    clock.advance(0.1)
    life.move(TraderState.TRADING)
    assert life.shown_since_ms == clock.now_ms()
