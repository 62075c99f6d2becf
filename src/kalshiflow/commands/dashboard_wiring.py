"""The dashboard's controls, implemented where the parts are owned: the composition layer.

``AppControls`` is the ``TraderControls`` protocol over a running ``TraderApp``. Every control is
recorded in the status history with who asked (the dashboard's ``by``: the client's name and
address), and none of them bypasses the trader's own rules: a pause is the lifecycle's pause (held
until an operator resumes), a close goes through the closer (reduce-only, one closing order per
market), the kill switch is the risk gate's, and a calibration is the recalibrator's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kalshiflow.dashboard.server import Dashboard, DashboardConfig
from kalshiflow.textfmt import plural
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.states import TraderState

if TYPE_CHECKING:
    from kalshiflow.commands.run_app import TraderApp

OPERATOR_CLOSE_REASON = "operator"


class NotReady(ValueError):
    """The trader has not reached the point where this control means something."""


class AppControls:
    def __init__(self, app: TraderApp) -> None:
        self.app = app

    def _parts(self) -> tuple[TraderCore, Recalibrator]:
        state = self.app.state
        if state.core is None or state.recal is None:
            raise NotReady("the trader is still initializing")
        return state.core, state.recal

    def _ending(self) -> str | None:
        """Why nothing new may start now (the trader is stopping or stopped), None otherwise: the
        shutdown has cancelled, or is cancelling, the resting orders, and a close placed now would
        be left resting with nobody managing it; a calibration requested now never runs."""
        state = self.app.state.lifecycle.state
        if state in (TraderState.STOPPING, TraderState.STOPPED):
            return f"the trader is {state}: nothing new is started"
        return None

    def _calibrating(self) -> bool:
        """A calibration in progress (its sub-steps need it to end in ``calibrating``); not a passed
        one waiting for the market data, which a pause or the kill switch may leave at once."""
        recal = self.app.state.recal
        waiting = recal is not None and recal.waiting_for is not None
        return self.app.state.lifecycle.state is TraderState.CALIBRATING and not waiting

    async def pause(self, by: str) -> tuple[bool, str]:
        _, recal = self._parts()
        if self._calibrating():  # a calibration's sub-steps need it to finish in ``calibrating``
            recal.held_by = by
            self.app.state.lifecycle.note(f"pause requested by {by}: after this calibration")
            return True, "pausing after the calibration in progress"
        was_paused = recal.is_paused()
        done = recal.hold(by)
        if not done:
            return False, f"cannot pause while {self.app.state.lifecycle.state}"
        # Already paused (a failed calibration, a breaker): the answer says so, and that it now
        # stays paused until a resume -- "paused" alone read as if this request had paused it.
        return True, "already paused; now held until resume" if was_paused else "paused"

    async def resume(self, by: str) -> tuple[bool, str]:
        core, recal = self._parts()
        if recal.held_by is not None and self._calibrating():
            recal.held_by = None
            self.app.state.lifecycle.note(f"pause request withdrawn by {by}")
            return True, "pause request withdrawn"
        if self.app.state.lifecycle.state is not TraderState.PAUSED:
            return False, f"not paused ({self.app.state.lifecycle.state})"
        if recal.resume(by):
            return True, "trading"
        return False, f"kill switch {core.kill_switch_text()}"

    async def close_position(self, ticker: str, by: str) -> tuple[bool, str]:
        core, _ = self._parts()
        if (ending := self._ending()) is not None:
            return False, ending
        position = core.ledger.positions.get(ticker)
        if position is None or position.position == 0:
            # Declined, not bad input: the request was well formed, there is just nothing to close
            # (ctl exits 1 for a decline; 2 is for usage errors).
            return False, f"no open position in {ticker}"
        if core.closer.is_closing(ticker):
            return False, f"a close of {ticker} is already working"
        self.app.state.lifecycle.note(f"close {ticker} requested by {by}")
        result = await core.close_position(ticker, OPERATOR_CLOSE_REASON)
        return result.outcome in ("placed", "repriced"), f"{result.outcome} {result.detail}".strip()

    async def flatten(self, by: str) -> tuple[bool, str]:
        core, _ = self._parts()
        if (ending := self._ending()) is not None:
            return False, ending
        self.app.state.lifecycle.note(f"flatten all requested by {by}")
        results = await core.flatten(OPERATOR_CLOSE_REASON)
        placed = sum(r.outcome in ("placed", "repriced") for r in results)
        return True, f"closing {placed} of {plural(len(results), 'position')}"

    async def kill_switch(self, on: bool, by: str) -> tuple[bool, str]:
        core, recal = self._parts()
        life = self.app.state.lifecycle
        if on:
            core.manual_kill_switch = by
            life.note(f"kill switch engaged by {by}")
            if not self._calibrating():  # a calibration in progress pauses on it when it ends
                recal.pause(f"kill switch engaged by {by}")
            return True, "kill switch on: no new exposure"
        core.manual_kill_switch = None
        life.note(f"kill switch released by {by}")
        if life.state is not TraderState.PAUSED:
            return True, "kill switch off"
        if recal.held_by is not None:  # an operator's pause waits for the operator
            return True, f"kill switch off (still paused by {recal.held_by}: resume to trade)"
        # Paused by the switch alone: the next calibration that passes resumes trading by itself.
        return True, "kill switch off (trading resumes after the next calibration that passes, or resume now)"

    async def calibrate(self, by: str) -> tuple[bool, str]:
        _, recal = self._parts()
        if (ending := self._ending()) is not None:
            return False, ending
        recal.request_by_operator(by)
        self.app.state.lifecycle.note(f"calibration requested by {by}")
        return True, "calibration requested"


def build_dashboard(app: TraderApp, config: DashboardConfig) -> Dashboard:
    """The dashboard of ``app``, bound to its port (raises ``DashboardBindError``)."""
    dashboard = Dashboard(config, app.bus, app.state, app.clock, AppControls(app))
    dashboard.bind()
    return dashboard
