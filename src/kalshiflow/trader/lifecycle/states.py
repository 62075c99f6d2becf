"""The trader's lifecycle: one state at a time, legal transitions only, and a readable history.

States: ``initializing -> (calibrating ->) trading <-> calibrating``, ``trading/calibrating -> paused -> trading``,
any state ``-> stopping -> stopped`` (terminal; ``stopped`` is written last, so ``status`` can tell
a clean stop from a crash). An illegal transition is a bug and raises. Calibration has
named sub-steps (``calibrating -> syncing state``, ``-> closing positions``, ``-> monitoring
markets``, ``-> cash recovery``) that are recorded in the history like states, so the console
reads as in ARCHITECTURE section 5:

    03:44:02 PM  calibrating -> syncing state   cash $1,232.50 -> $1,245.00, 2 positions (0.1s)

"In state" as the operator reads it (page, ``status``, terminal view) is ``shown_since_ms``: for
``trading`` it is the start of the stretch of trading -- the first entry into ``trading`` after
startup or a pause -- because the periodic recalibration (every minute by default) passes through
``calibrating`` and back, and "trading for 3s" after each one read as if the trader had just
started. Calibrations are shown on their own (their list, the last one's time).

While calibrating or paused the trader is reduce-only: closes and cancels go through, new
exposure does not. The history is bounded in memory; every entry is also handed to listeners
(the store persists them).
"""

from __future__ import annotations

from collections import deque

from kalshiflow.clock import Clock
from kalshiflow.events.bus import EventBus
from kalshiflow.events.trader import CalibrationStep as CalibrationStep
from kalshiflow.events.trader import StatusEntry as StatusEntry
from kalshiflow.events.trader import TraderState as TraderState
from kalshiflow.events.trader import shown_since, trading_since_after

TRANSITIONS: dict[TraderState, frozenset[TraderState]] = {
    # The startup calibration is shown as calibrating; a failed one leaves the trader paused.
    TraderState.INITIALIZING: frozenset(
        {TraderState.TRADING, TraderState.CALIBRATING, TraderState.PAUSED, TraderState.STOPPING}
    ),
    TraderState.TRADING: frozenset({TraderState.CALIBRATING, TraderState.PAUSED, TraderState.STOPPING}),
    TraderState.CALIBRATING: frozenset({TraderState.TRADING, TraderState.PAUSED, TraderState.STOPPING}),
    TraderState.PAUSED: frozenset({TraderState.TRADING, TraderState.CALIBRATING, TraderState.STOPPING}),
    TraderState.STOPPING: frozenset({TraderState.STOPPED}),
    TraderState.STOPPED: frozenset(),
}

REDUCE_ONLY_STATES = frozenset({TraderState.INITIALIZING, TraderState.CALIBRATING, TraderState.PAUSED})


class IllegalTransition(RuntimeError):
    """A transition the table forbids: a bug in the caller."""


class Lifecycle:
    def __init__(self, clock: Clock, history_size: int = 500, bus: EventBus | None = None) -> None:
        self._clock = clock
        self.state = TraderState.INITIALIZING
        self.since_ms = clock.now_ms()  # entry into the current state, calibrations included
        self.trading_since_ms: int | None = None  # start of the stretch of trading (trading_since_after)
        self.history: deque[StatusEntry] = deque(maxlen=history_size)
        self.bus = bus or EventBus()  # every entry is published as it is recorded
        self.transitions = 0
        # Entries ever recorded: a reader that prints them as they come counts with this, since the
        # bounded history stops growing once full (its length stuck at ``history_size``).
        self.recorded = 0
        self._record(TraderState.INITIALIZING.value, "starting", None, None, None, None)

    @property
    def reduce_only(self) -> bool:
        return self.state in REDUCE_ONLY_STATES

    @property
    def is_stopping(self) -> bool:
        return self.state in (TraderState.STOPPING, TraderState.STOPPED)

    def time_in_state_ms(self) -> int:
        return self._clock.now_ms() - self.since_ms

    @property
    def shown_since_ms(self) -> int:
        """Since when the operator is told the trader is in its state: trading counts from the
        start of its stretch, through the calibrations on the way."""
        return shown_since(self.state, self.since_ms, self.trading_since_ms)

    def can_move(self, state: TraderState) -> bool:
        return state in TRANSITIONS[self.state]

    def move(self, state: TraderState, result_text: str = "") -> StatusEntry:
        """Enter ``state``; raises ``IllegalTransition`` when the table forbids it."""
        if state not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.state} -> {state}")
        now = self._clock.now_ms()
        previous_ms = now - self.since_ms
        self.since_ms = now
        self.trading_since_ms = trading_since_after(state, now, self.trading_since_ms)
        self.transitions += 1
        previous = self.state
        self.state = state
        return self._record(state.value, result_text, None, previous_ms, previous, None)

    def step(self, step: CalibrationStep, result_text: str, duration_ms: int) -> StatusEntry:
        """Record a finished calibration sub-step (only while calibrating)."""
        if self.state is not TraderState.CALIBRATING:
            raise IllegalTransition(f"calibration step {step} while {self.state}")
        return self._record(
            f"{TraderState.CALIBRATING.value} -> {step.value}", result_text, duration_ms, None, None, step
        )

    def note(self, result_text: str) -> StatusEntry:
        """A result line for the current state (e.g. "last action: BUY_YES @ TICKER")."""
        return self._record(self.state.value, result_text, None, None, None, None)

    def console(self, limit: int = 20) -> list[str]:
        """Newest first, as the status console shows it."""
        return [entry.console_line() for entry in list(self.history)[::-1][:limit]]

    def entries_after(self, count: int) -> list[StatusEntry]:
        """The entries recorded after the first ``count`` (``recorded``), oldest first: those the
        bounded history still holds."""
        new = self.recorded - count
        return list(self.history)[-new:] if new > 0 else []

    def _record(
        self,
        status: str,
        text: str,
        duration_ms: int | None,
        previous_ms: int | None,
        previous_state: TraderState | None,
        step: CalibrationStep | None,
    ) -> StatusEntry:
        entry = StatusEntry(
            self._clock.now_ms(), status, text, duration_ms, previous_ms, self.state, previous_state, step
        )
        self.history.append(entry)
        self.recorded += 1
        self.bus.publish(entry)
        return entry
