"""The markets a calibration watches follow the discovery refresh both ways.

Soak run (20 simulated hours, top 10): the refresh subscribed new markets and unsubscribed closed
ones, but the trader's watched set only grew -- every market ever selected, settled ones too -- so
each calibration read and checked 41 markets for the 10-11 it followed and said "18/41 markets
viable". A dropped market is forgotten unless the trader still holds a position or an order in it.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from tests.trader.state.test_position_views import fill, market, trader_on_books

from kalshiflow.clock import ManualClock
from kalshiflow.commands.app_state import AppState
from kalshiflow.commands.calibration_timer import CalibrationTimer
from kalshiflow.commands.stream_health import StreamHealthMonitor
from kalshiflow.config import load_settings
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.events.bus import EventBus
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.lifecycle.init_tracker import InitTracker
from kalshiflow.trader.lifecycle.states import Lifecycle
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder


def _timer(clock: ManualClock, selected: list[str]) -> CalibrationTimer:
    bus = EventBus()
    state = AppState(Lifecycle(clock, bus=bus), InitTracker(clock, bus))
    now = clock.now_ms()
    state.feed = SimpleNamespace(  # type: ignore[assignment]
        selection=SimpleNamespace(markets=[market(t, now) for t in selected]),
        stream=SimpleNamespace(metrics=SimpleNamespace(messages_received=0)),
    )
    settings = load_settings(environ={}, overrides={})
    return CalibrationTimer(settings, state, clock, StreamHealthMonitor(state, bus, clock))


async def _watched_by_a_pass(timer: CalibrationTimer, core: TraderCore) -> list[str]:
    watched: list[str] = []

    async def run_once(reason: str) -> Any:
        watched.extend(sorted(core.markets))
        return SimpleNamespace(report=SimpleNamespace(ok=False))

    recal = SimpleNamespace(run_once=run_once, stats=SimpleNamespace(), trigger_reason=None, urgent=False)
    await timer.calibrate(core, recal, "scheduled")  # type: ignore[arg-type]
    return watched


async def test_a_market_the_refresh_dropped_is_no_longer_watched_unless_something_is_held_in_it() -> None:
    clock, _, _, core = trader_on_books()  # watching A, B and C
    core.ledger.apply_fill(fill(1, "B", BookSide.BID, 5_000, 1_000, clock.now_ms()))  # a position in B
    await asyncio.sleep(0)
    order = TrackedOrder(
        "kf-1", "C", BookSide.BID, Price(4_000), Count(100), OrderPurpose.OPEN, clock.now_ms()
    )
    core.ledger.record_pending(order)  # an order in flight in C
    timer = _timer(clock, ["D"])  # the refresh now selects D only

    assert await _watched_by_a_pass(timer, core) == ["B", "C", "D"]

    core.ledger.on_canceled("kf-1", clock.now_ms())  # nothing left in C: forgotten next pass
    assert await _watched_by_a_pass(timer, core) == ["B", "D"]
    assert "C" not in core.reconciler.markets
