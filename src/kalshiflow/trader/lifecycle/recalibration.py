"""Recalibration as the lifecycle sees it: state changes, sub-steps with results, pause and resume.

``Recalibrator.run_once`` moves the trader to ``calibrating`` (reduce-only), runs the core's
calibration and records each sub-step the way the status console shows it (syncing state, closing
positions, monitoring markets, cash recovery), then returns to ``trading`` -- or to ``paused`` when
the sync failed, the kill switch is on, or errors repeated. A paused trader retries with backoff and
resumes by itself once a calibration passes (an operator can resume too).

Triggers besides the timer: a stream reconnect or gap (``LiveUpdates.needs_resync``), cash drift
above a threshold, an order-group trigger, repeated errors. Each calibration records how many
events arrived during it and how many decisions were deferred.

A calibration that passes while the market data is not there (the stream reconnecting after the
exchange restarted, its snapshots not arrived yet: every book invalid, nothing can be decided) does
not say ``trading``: the trader stays in ``calibrating`` -- reduce-only, which is what it is --
with the line "waiting for market data (stream reconnecting)", and the timer moves it to trading
once the data is back (``market_data_back``). Why no state of its own: the architecture's states
are what the trader may do (trade, reduce only, nothing), and waiting for data is reduce-only
inside the way back from a calibration to trading; every surface already shows the state and its
newest line, so none of them can show "trading" while nothing can be decided.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from kalshiflow.clock import Clock
from kalshiflow.domain.units import Money, display_dollars
from kalshiflow.textfmt import plural
from kalshiflow.trader.calibration.drift import describe_corrections
from kalshiflow.trader.core import CalibrationCycle, TraderCore
from kalshiflow.trader.exit_rules.base import ExitReason
from kalshiflow.trader.lifecycle.states import CalibrationStep, Lifecycle, TraderState

CYCLES_KEPT = 1_000  # bounded: a long run keeps the newest cycles in memory, the store keeps all

SLOW_CALIBRATION_MS = 5_000
MAX_BACKOFF_S = 600


@dataclass
class RecalibrationStats:
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    slow_runs: int = 0  # longer than 5 s
    last_duration_ms: int = 0
    last_summary: str = ""
    last_cycle: CalibrationCycle | None = None
    events_during_last: int = 0
    deferred_during_last: int = 0  # decisions deferred while calibrating
    stale_during_last: int = 0  # stale decisions taken (must stay zero)


def _money(value: int) -> str:
    return display_dollars(value)


class Recalibrator:
    def __init__(
        self,
        core: TraderCore,
        lifecycle: Lifecycle,
        clock: Clock,
        *,
        pause_after_errors: int,
        resume_backoff_s: int,
        drift_recalibrate: Money,
        market_data: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.core = core
        # What is missing from the market data, in words (None: it is there to decide on).
        self.market_data = market_data
        self.waiting_for: str | None = None  # a passed calibration waits for this before trading
        self.lifecycle = lifecycle
        self.clock = clock
        self.pause_after_errors = pause_after_errors
        self.resume_backoff_s = resume_backoff_s
        self.drift_recalibrate = drift_recalibrate
        self.stats = RecalibrationStats()
        self.pause_reason: str | None = None
        self.next_resume_ms: int | None = None
        self._backoff_s = resume_backoff_s
        self.trigger_reason: str | None = None
        self.operator_requested = False  # an operator's calibration runs even while paused
        self.urgent = False  # a calibration at the next tick even while paused (a new exchange session)
        self._sessions_seen = 0  # new exchange sessions reported (one during a pass asks for another)
        self.held_by: str | None = None  # an operator's pause: no automatic resume until resumed
        self.cycles: deque[CalibrationCycle] = deque(maxlen=CYCLES_KEPT)  # newest last

    def request(self, reason: str) -> None:
        """Ask for a recalibration at the next opportunity (reconnect, drift, group trigger …)."""
        if self.trigger_reason is None:
            self.trigger_reason = reason

    def request_by_operator(self, by: str) -> None:
        """An operator's calibration: at the next tick, paused or not (a hold stays a hold)."""
        self.trigger_reason = f"requested by {by}"
        self.operator_requested = True

    def new_exchange_session(self, reason: str, shift_ms: int = 0) -> None:
        """The exchange started a new session (a restarted simulator): the orders and positions the
        trader knows may be gone. Nothing is sent until a calibration has read them again: the
        trader is reduce-only (``calibrating``, or still paused), the exit rules wait
        (``core.calibrating``; the calibration clears it) and that calibration runs at the next tick,
        paused or not -- the time its backoff waits for was the old session's. ``shift_ms``: how far
        the clock moved (``TraderCore.shift_times``)."""
        self.core.shift_times(shift_ms)
        self.core.reduce_only = True
        self.core.calibrating = True
        self.trigger_reason = reason
        self.urgent = True
        self._sessions_seen += 1
        if self.lifecycle.state is TraderState.TRADING:
            self.lifecycle.move(TraderState.CALIBRATING, reason)
        else:
            self.lifecycle.note(reason)

    async def run_once(self, reason: str = "scheduled", events_seen: int = 0) -> CalibrationCycle:
        was_paused = self.lifecycle.state is TraderState.PAUSED
        self.waiting_for = None  # this pass decides afresh
        if self.lifecycle.state is not TraderState.CALIBRATING:
            self.lifecycle.move(TraderState.CALIBRATING, f"starting recalibration ({reason})")
        self.core.reduce_only = True
        started = self.clock.now_ms()
        cash_before = self.core.ledger.cash
        sessions = self._sessions_seen
        cycle = await self.core.calibrate()
        self.operator_requested = False
        if self._sessions_seen == sessions:
            self.trigger_reason = None
            self.urgent = False
        else:  # the exchange restarted during this pass: part of what it read was the old one's
            self.core.calibrating = True
        self._record_steps(cycle, cash_before)
        duration = self.clock.now_ms() - started
        self.stats.runs += 1
        self.stats.last_duration_ms = duration
        self.stats.last_cycle = cycle
        self.stats.events_during_last = events_seen
        if duration > SLOW_CALIBRATION_MS:
            self.stats.slow_runs += 1
        self.cycles.append(cycle)
        self.lifecycle.bus.publish(cycle.report.to_event(reason))
        self._settle_state(cycle, was_paused)
        return cycle

    def resume_due(self) -> bool:
        return (
            self.lifecycle.state is TraderState.PAUSED
            and self.next_resume_ms is not None
            and self.clock.now_ms() >= self.next_resume_ms
        )

    def market_data_back(self) -> bool:
        """Trading again if a passed calibration waits for the market data and it is back (the
        calibration timer asks every tick); True when it moved the trader on."""
        if self.waiting_for is None:
            return False
        if self.lifecycle.state is not TraderState.CALIBRATING:  # paused or stopping meanwhile
            self.waiting_for = None
            return False
        missing = self.market_data()
        if missing is not None:
            if missing != self.waiting_for:  # e.g. reconnected, the snapshots still on their way
                self.waiting_for = missing
                self.lifecycle.note(f"waiting for market data ({missing})")
            return False
        self.waiting_for = None
        # A kill switch or an operator's pause that came while waiting applies now.
        if not self._paused_instead():
            self._trade("market data back")
        return True

    def pause(self, reason: str) -> None:
        if self.lifecycle.state is TraderState.PAUSED or not self.lifecycle.can_move(TraderState.PAUSED):
            return
        self.waiting_for = None
        self.pause_reason = reason
        self.core.reduce_only = True
        self.lifecycle.move(TraderState.PAUSED, reason)
        if self.held_by is not None:  # an operator's pause waits for the operator
            self.next_resume_ms = None
            return
        self.next_resume_ms = self.clock.now_ms() + self._backoff_s * 1000
        self._backoff_s = min(MAX_BACKOFF_S, self._backoff_s * 2)

    def hold(self, by: str) -> bool:
        """An operator's pause: reduce-only until ``resume``; calibrations keep it paused.

        Returns False when the trader cannot pause now (stopping); an already paused trader becomes
        held (its automatic resume is cancelled)."""
        if self.lifecycle.state is TraderState.STOPPING:
            return False
        self.held_by = by
        if self.lifecycle.state is TraderState.PAUSED:
            self.next_resume_ms = None
            self.lifecycle.note(f"held by {by}")
            return True
        self.pause(f"paused by {by}")
        return self.is_paused()

    def is_paused(self) -> bool:
        return self.lifecycle.state is TraderState.PAUSED

    def resume(self, by: str = "operator") -> bool:
        """Back to trading; refused (False) while the kill switch is on or the trader is not paused."""
        if self.lifecycle.state is not TraderState.PAUSED:
            return False
        kill = self.core.kill_switch_text()
        if kill is not None:
            self.lifecycle.note(f"resume by {by} refused: kill switch {kill}")
            return False
        self.held_by = None
        self.lifecycle.move(TraderState.TRADING, f"resumed by {by}")
        self.core.reduce_only = False
        self.pause_reason, self.next_resume_ms = None, None
        return True

    # ------------------------------------------------------------------ internals
    def _settle_state(self, cycle: CalibrationCycle, was_paused: bool) -> None:
        report = cycle.report
        if not report.ok:
            self.stats.failures += 1
            self.stats.consecutive_failures += 1
            self.pause(f"calibration failed: {report.failure_reason}")
            return
        self.stats.consecutive_failures = 0
        if self._paused_instead():
            return
        if self.urgent:  # a new exchange session began during the pass: no trading before the next
            return
        self._backoff_s = self.resume_backoff_s
        self.pause_reason, self.next_resume_ms = None, None
        text = "calibration ok" + (" after pause" if was_paused else "")
        missing = self.market_data()
        if missing is not None:  # reduce-only in calibrating until it is back (module docstring)
            self.waiting_for = missing
            self.lifecycle.note(f"{text}; waiting for market data ({missing})")
            return
        self._trade(text)

    def _paused_instead(self) -> bool:
        """Pause, instead of trading, for the kill switch or an operator's pause; True if so."""
        kill = self.core.kill_switch_text()
        if kill is not None:
            self.pause(f"kill switch: {kill}")
            return True
        if self.held_by is not None:
            self.pause(f"still paused by {self.held_by}")
            return True
        return False

    def _trade(self, text: str) -> None:
        self.lifecycle.move(TraderState.TRADING, text)
        self.core.reduce_only = False

    def _record_steps(self, cycle: CalibrationCycle, cash_before: int) -> None:
        report = cycle.report
        life = self.lifecycle
        sync_ms = round(
            sum(s.duration_ms for s in report.steps if s.name in ("fetch exchange state", "sync state"))
        )
        positions = len(self.core.ledger.open_positions())
        drift = report.totals.cash
        corrections = describe_corrections(report.corrections)
        names = {s.name for s in report.steps}
        if "sync state" in names:
            synced = (
                f"cash {_money(cash_before)} -> {_money(self.core.ledger.cash)}, {plural(positions, 'position')}, "
                f"drift {_money(drift)}"
                + (f"; {corrections}" if corrections else "")
                + ("" if report.ok else f" | failed: {report.failure_reason}")
            )
        else:  # the reads failed: nothing was synced, no drift was measured
            synced = (
                f"failed: {report.failure_reason} (nothing synced: cash {_money(self.core.ledger.cash)}, "
                f"{plural(positions, 'position')} as before)"
            )
        life.step(CalibrationStep.SYNCING_STATE, synced, sync_ms)
        self.stats.last_summary = report.summary()
        closes = [c for c in cycle.closes if c.reason != ExitReason.CASH_RECOVERY.value]
        recovery = [c for c in cycle.closes if c.reason == ExitReason.CASH_RECOVERY.value]
        reasons: dict[str, int] = {}
        for close in closes:
            reasons[close.reason] = reasons.get(close.reason, 0) + 1
        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) or "nothing to close"
        life.step(CalibrationStep.CLOSING_POSITIONS, f"closing {len(closes)} | {detail}", 0)
        check_ms = round(sum(s.duration_ms for s in report.steps if s.name.startswith("check")))
        viable = len(report.viable_markets)
        life.step(
            CalibrationStep.MONITORING_MARKETS,
            f"{viable}/{len(report.markets)} markets viable; {plural(len(report.warnings), 'warning')}"
            if "check markets" in names
            else "not checked (calibration failed)",
            check_ms,
        )
        if recovery:
            life.step(CalibrationStep.CASH_RECOVERY, f"closing {len(recovery)} for cash", 0)
        if drift and abs(drift) >= self.drift_recalibrate:
            self.request(f"cash drift {_money(drift)}")
