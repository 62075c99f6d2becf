"""Step 3 of calibration: the report, one frozen value per pass.

The lifecycle decides from it whether the trader may trade (``ok``; a failed startup calibration
means no trading, with ``failure_reason`` shown), the status console prints ``summary()``, the store
persists it with its drift events. It holds every step with its duration, the drift found and the
corrections made, what was left for the next pass, the checks' findings and the REST calls spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from kalshiflow.domain.units import Money, display_dollars
from kalshiflow.events.trader import CalibrationCompleted, CalibrationStepResult, DriftRecord
from kalshiflow.textfmt import plural
from kalshiflow.trader.calibration.checks import Finding, FindingCode
from kalshiflow.trader.calibration.drift import DriftEvent, DriftTotals


@dataclass(frozen=True, slots=True)
class StepResult:
    name: str
    duration_ms: float  # wall time
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    started_ms: int  # clock time of the snapshot request
    steps: tuple[StepResult, ...]
    corrections: tuple[DriftEvent, ...]  # everything applied, drift and news alike
    totals: DriftTotals
    rest_calls: int  # HTTP requests this pass, pagination included
    rest_calls_by_endpoint: tuple[tuple[str, int], ...]
    markets: tuple[Finding, ...]
    health: tuple[Finding, ...]
    cash: Finding | None
    cash_after: Money
    deferred_tickers: tuple[str, ...]  # hot: left alone for the next pass
    deferred_fills: int
    cash_deferred: bool
    ok: bool
    failure_reason: str
    warnings: tuple[str, ...] = ()

    @property
    def drift(self) -> tuple[DriftEvent, ...]:
        return tuple(e for e in self.corrections if e.is_drift)

    @property
    def duration_ms(self) -> int:
        """Whole milliseconds of wall time over all steps (the store keeps integers only)."""
        return round(sum(s.duration_ms for s in self.steps))

    @property
    def cash_drift_e6(self) -> int:
        """Cash drift in Money units, the column name the store reads."""
        return int(self.totals.cash)

    @property
    def viable_markets(self) -> tuple[str, ...]:
        return tuple(f.ticker for f in self.markets if f.code is FindingCode.VIABLE)

    def summary(self) -> str:
        """One status line, e.g. ``cash $1,000.00, drift $0.00, 1 correction (0 drift), 0 missed fills,
        0 external orders, 9/10 markets viable, 8 calls (41 ms)``."""
        if not self.ok:
            return f"failed: {self.failure_reason}"
        t = self.totals
        return (
            f"cash {display_dollars(self.cash_after)}, drift {display_dollars(t.cash)}, "
            # Every correction applied, as the sync step counts them, then how many were drift (the
            # rest is news: a first sync, a settlement); the drift alone here read "0 corrections"
            # beside a sync step's "1 corrections" at every startup.
            f"{plural(len(self.corrections), 'correction')} ({len(self.drift)} drift), {t.missed_fills} missed fills, "
            f"{t.external_orders} external orders, {len(self.viable_markets)}/{len(self.markets)} "
            f"markets viable, {self.rest_calls} calls ({self.duration_ms:.0f} ms)"
        )

    def to_event(self, reason: str = "scheduled") -> CalibrationCompleted:
        """This report as the bus's ``calibration`` event (a value the store and dashboard read)."""
        return CalibrationCompleted(
            started_ms=self.started_ms,
            duration_ms=self.duration_ms,
            ok=self.ok,
            failure_reason=self.failure_reason,
            summary=self.summary(),
            rest_calls=self.rest_calls,
            cash_after=self.cash_after,
            cash_drift_e6=self.cash_drift_e6,
            steps=tuple(CalibrationStepResult(s.name, s.duration_ms, s.ok, s.detail) for s in self.steps),
            drift=tuple(
                DriftRecord(
                    kind=e.kind.value,
                    ticker=e.ticker or None,
                    detail=e.detail,
                    count_e2=int(e.contracts),
                    money_e6=int(e.money),
                    is_drift=e.is_drift,
                )
                for e in self.corrections
            ),
            reason=reason,
        )
