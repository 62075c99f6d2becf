"""The calibration timer of ``kalshiflow run``: when to recalibrate, pause and resume.

Every ``TICK_S`` of the trader's clock it publishes the stream's health, then decides: a full
calibration when ``calibration.interval_s`` passed since the last one started (start to start, so a
slow pass does not stretch the schedule), or at once on a trigger (an order group triggered, a
stream resync, a drift the recalibrator asked about); a pause after ``pause_after_errors`` failed
decisions in a row; a resume attempt while paused when the backoff allows it or the operator asked;
trading again once the market data a passed calibration waits for is back.
Nothing is decided while stopping. The time rules of the exits have their own, shorter timer
(``ExitDriver.run_exit_timer``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from kalshiflow.clock import Clock
from kalshiflow.commands.app_state import AppState
from kalshiflow.commands.stream_health import StreamHealthMonitor
from kalshiflow.config import Settings
from kalshiflow.exchange.errors import ExchangeError, retry_log_level
from kalshiflow.exchange.models_market import Market
from kalshiflow.textfmt import plural
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.states import TraderState

log = logging.getLogger(__name__)

TICK_S = 1.0  # the timer's resolution, in the trader's clock seconds


class CalibrationTimer:
    """The ``calibration`` task of ``run``: ``run`` loops until cancelled; ``calibrate`` is one pass."""

    def __init__(
        self, settings: Settings, state: AppState, clock: Clock, health: StreamHealthMonitor
    ) -> None:
        self.settings = settings
        self.state = state
        self.clock = clock
        self.health = health
        # Run before each pass (``run`` against an external exchange: a sample of its clock), so an
        # exchange that restarted since the last sample is known as a new session before its state
        # is read and trading resumes on it.
        self.before_pass: Callable[[], Awaitable[object]] | None = None

    async def run(self, core: TraderCore, recal: Recalibrator) -> None:
        interval_ms = self.settings.calibration.interval_s * 1000
        last = self.clock.now_ms()
        seen_triggers: set[str] = set()
        while True:
            await self.clock.sleep(TICK_S)
            self.health.publish()
            recal.market_data_back()  # a passed calibration that waits for the stream's books
            state = self.state.lifecycle.state
            now = self.clock.now_ms()
            # A new exchange session took the clock back: the interval runs from there.
            last = min(last, now)
            due = now - last >= interval_ms
            triggered = {g.order_group_id for g in core.groups.triggered()}
            if triggered - seen_triggers:
                recal.request("order group triggered")
            seen_triggers = triggered
            reason = recal.trigger_reason or ("stream resync" if core.live.needs_resync else None)
            actor = self.state.actor
            if (
                actor is not None
                and state is TraderState.TRADING
                and actor.metrics.consecutive_errors >= self.settings.run.pause_after_errors
            ):
                recal.pause(
                    f"{plural(actor.metrics.consecutive_errors, 'decision')} failed in a row (see the log)"
                )
                actor.metrics.consecutive_errors = 0
                continue
            if state is TraderState.PAUSED and not (
                recal.resume_due() or recal.operator_requested or recal.urgent
            ):
                continue
            if state is TraderState.STOPPING or not (due or reason or state is TraderState.PAUSED):
                continue
            last = now  # the interval runs from start to start: a slow pass does not stretch it
            await self.calibrate(
                core, recal, reason or ("resume" if state is TraderState.PAUSED else "scheduled")
            )

    async def calibrate(self, core: TraderCore, recal: Recalibrator, reason: str) -> None:
        """One pass; an exchange or network error pauses the trader instead of ending the task."""
        if self.before_pass is not None:
            await self.before_pass()
            if recal.urgent and recal.trigger_reason:  # it found a new exchange session
                reason = recal.trigger_reason
        core.live.clear_resync()
        feed = self.state.feed
        if feed is not None and feed.selection is not None:  # markets the feed's refresh changed
            selected = [m for m in feed.selection.markets if isinstance(m, Market)]
            core.add_markets(selected)
            core.forget_markets(m.ticker for m in selected)
        try:
            received = feed.stream.metrics.messages_received if feed is not None else 0
            actor = self.state.actor
            deferred = actor.metrics.deferred if actor is not None else 0
            stale = actor.metrics.stale_decisions if actor is not None else 0
            cycle = await recal.run_once(reason)
            if feed is not None:  # what kept arriving (and updating books) while we calibrated
                recal.stats.events_during_last = feed.stream.metrics.messages_received - received
            if actor is not None:
                recal.stats.deferred_during_last = actor.metrics.deferred - deferred
                recal.stats.stale_during_last = actor.metrics.stale_decisions - stale
            if cycle.report.ok:
                self.state.tracker.portfolio_synced()
        except (ExchangeError, OSError, TimeoutError) as exc:
            # A resume pass failing again during an outage is at info (``retry_log_level``).
            retry = recal.stats.consecutive_failures > 0
            log.log(retry_log_level(retry, core.rest.unreachable), "calibration.error %s", exc)
            recal.stats.consecutive_failures += 1
            if self.state.lifecycle.state is TraderState.CALIBRATING:
                recal.pause(f"error: {exc}")
        if self.state.lifecycle.state is TraderState.TRADING and self.state.first_trading_ms is None:
            self.state.first_trading_ms = self.clock.now_ms()
