"""The session test's transition checker flags what it must (so a green session run means something)."""

from __future__ import annotations

from tests.commands.session.session_kit import illegal_transitions

from kalshiflow.trader.lifecycle.states import StatusEntry


def entry(status: str, previous_ms: int | None = 1, duration_ms: int | None = None) -> StatusEntry:
    return StatusEntry(0, status, "", duration_ms, previous_ms)


def test_a_legal_history_passes() -> None:
    history = [
        entry("initializing", None),
        entry("calibrating"),
        entry("calibrating -> syncing state", None, 3),
        entry("trading"),
        entry("trading", None),  # a note
        entry("calibrating"),
        entry("paused"),
        entry("calibrating"),
        entry("trading"),
        entry("stopping"),
    ]
    assert illegal_transitions(history) == []


def test_illegal_moves_steps_and_notes_are_flagged() -> None:
    history = [
        entry("initializing", None),
        entry("trading"),
        entry("calibrating -> closing positions", None, 0),  # a step outside calibrating
        entry("paused", None),  # a note for a state the trader is not in
        entry("stopping"),
        entry("trading"),  # stopping is terminal
        entry("bogus"),
    ]
    problems = illegal_transitions(history)
    assert len(problems) == 4, problems
    assert any("stopping -> trading" in p for p in problems)
