"""The initialization checklist: every startup step with its state, details and duration.

The trader refuses to trade until every required step is complete; the dashboard and the terminal
view show the list so a person sees exactly which step is slow or failed and why. "Last portfolio
sync" is tracked here too, because "when did we last agree with the exchange" must always be known.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from kalshiflow.clock import Clock
from kalshiflow.events.bus import EventBus
from kalshiflow.events.trader import InitializationStep, InitStepState

StepState = InitStepState  # the checklist's name for it


class InitStep(StrEnum):
    EXCHANGE_STATUS = "exchange status"
    CREDENTIALS = "credentials"
    STREAM_CONNECTED = "stream connected"
    SUBSCRIPTIONS = "subscriptions confirmed"
    SYNC_BALANCE = "sync balance"
    SYNC_POSITIONS = "sync positions"
    SYNC_ORDERS = "sync orders"
    SYNC_SETTLEMENTS = "sync settlements"
    MARKETS_VIABLE = "markets viable"
    PORTFOLIO_HEALTHY = "portfolio healthy"
    CASH_SUFFICIENT = "cash sufficient"
    POLICY_LOADED = "policy loaded"


@dataclass
class StepRecord:
    step: InitStep
    state: StepState = StepState.PENDING
    detail: str = ""
    started_ms: int | None = None
    finished_ms: int | None = None

    @property
    def duration_ms(self) -> int | None:
        if self.started_ms is None or self.finished_ms is None:
            return None
        return self.finished_ms - self.started_ms


class InitTracker:
    def __init__(self, clock: Clock, bus: EventBus | None = None) -> None:
        self._clock = clock
        self.bus = bus or EventBus()  # every step change is published (the ``initialization`` event)
        self.steps: dict[InitStep, StepRecord] = {step: StepRecord(step) for step in InitStep}
        self.last_portfolio_sync_ms: int | None = None

    def __iter__(self) -> Iterator[StepRecord]:
        return iter(self.steps.values())

    def begin(self, step: InitStep, detail: str = "") -> None:
        record = self.steps[step]
        record.state, record.detail = StepState.IN_PROGRESS, detail
        record.started_ms, record.finished_ms = self._clock.now_ms(), None
        self._publish(record)

    def complete(self, step: InitStep, detail: str = "") -> None:
        self._finish(step, StepState.COMPLETE, detail)

    def fail(self, step: InitStep, detail: str) -> None:
        self._finish(step, StepState.FAILED, detail)

    def portfolio_synced(self) -> None:
        self.last_portfolio_sync_ms = self._clock.now_ms()

    @property
    def ready(self) -> bool:
        return all(r.state is StepState.COMPLETE for r in self.steps.values())

    @property
    def failed(self) -> list[StepRecord]:
        return [r for r in self.steps.values() if r.state is StepState.FAILED]

    def summary(self) -> str:
        done = sum(r.state is StepState.COMPLETE for r in self.steps.values())
        failed = self.failed
        text = f"{done}/{len(self.steps)} steps complete"
        if failed:
            text += "; failed: " + ", ".join(f"{r.step} ({r.detail})" for r in failed)
        return text

    def _finish(self, step: InitStep, state: StepState, detail: str) -> None:
        record = self.steps[step]
        now = self._clock.now_ms()
        if record.started_ms is None:
            record.started_ms = now
        record.state, record.finished_ms = state, now
        if detail:
            record.detail = detail
        self._publish(record)

    def _publish(self, record: StepRecord) -> None:
        self.bus.publish(
            InitializationStep(
                record.step.value, record.state, record.detail, record.started_ms, record.finished_ms
            )
        )
