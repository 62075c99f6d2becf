"""Scheduled fee changes: a series' fee type and multiplier, or an event's overrides, from a time on.

Kalshi announces fee changes ahead of time (``GET /series/fee_changes``, ``GET /events/fee_changes``)
and they take effect at their ``scheduled_ts``; a trader that reads fee schedules once per event
would keep charging itself the old fee. The simulator keeps the same model so that following
changes live can be tested: a change is scheduled (admin API or tests), listed while pending, and
applied by ``apply_due`` on the lifecycle tick at its time. Applying an event change is reported
as ``EventFeeUpdate`` (WS ``event_fee_update``). A change scheduled at or before now applies at once.

Invariants: changes apply in scheduled order (ties in scheduling order); fees of fills are always
computed from the schedule in force at the fill (``EngineCore.fee_schedule``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from kalshiflow.domain.fees import FeeType
from kalshiflow.sim import errors
from kalshiflow.sim.events import EventFeeUpdate
from kalshiflow.sim.state import FeeChange

if TYPE_CHECKING:
    from kalshiflow.sim.engine_core import EngineCore as Engine

MAX_MULTIPLIER = Fraction(100)


def schedule(
    engine: Engine,
    *,
    series_ticker: str | None,
    event_ticker: str | None,
    fee_type: FeeType | None,
    fee_multiplier: Fraction | None,
    scheduled_ms: int,
) -> FeeChange:
    """Schedule a series change (``event_ticker`` None; type and multiplier required) or an event
    override change (None clears that override)."""
    if fee_multiplier is not None and not 0 <= fee_multiplier <= MAX_MULTIPLIER:
        raise errors.bad_request("fee_multiplier must be between 0 and 100", code="invalid_parameters")
    if event_ticker is not None:
        event = engine.events.get(event_ticker)
        if event is None:
            raise errors.not_found("event", event_ticker)
        series_ticker = event.series_ticker
    elif series_ticker is None or series_ticker not in engine.series:
        raise errors.not_found("series", series_ticker or "")
    elif fee_type is None or fee_multiplier is None:
        raise errors.bad_request(
            "a series fee change needs both fee_type and fee_multiplier", code="invalid_parameters"
        )
    change = FeeChange(engine.new_id(), series_ticker, event_ticker, fee_type, fee_multiplier, scheduled_ms)
    engine.fee_changes.append(change)
    engine.pending_fee_changes.append(change)
    engine.pending_fee_changes.sort(key=lambda c: c.scheduled_ms)  # stable: ties keep scheduling order
    apply_due(engine, engine.clock.now_ms())
    return change


def apply_due(engine: Engine, now: int) -> None:
    """Put in force every pending change whose time has come."""
    pending = engine.pending_fee_changes
    while pending and pending[0].scheduled_ms <= now:
        _apply(engine, pending.pop(0), now)


def _apply(engine: Engine, change: FeeChange, now: int) -> None:
    if change.event_ticker is None:
        series = engine.series[change.series_ticker]
        assert change.fee_type is not None
        assert change.fee_multiplier is not None
        series.fee_type, series.fee_multiplier = change.fee_type, change.fee_multiplier
        return
    event = engine.events[change.event_ticker]
    event.fee_type_override = change.fee_type
    event.fee_multiplier_override = change.fee_multiplier
    event.updated_ms = now
    if engine.listeners:
        engine.emit(EventFeeUpdate(event, now))


def series_changes(engine: Engine, series_ticker: str | None, show_historical: bool) -> list[FeeChange]:
    """Series changes, pending only unless ``show_historical``, by scheduled time."""
    source = engine.fee_changes if show_historical else engine.pending_fee_changes
    rows = [
        c
        for c in source
        if c.event_ticker is None and (not series_ticker or c.series_ticker == series_ticker)
    ]
    return sorted(rows, key=lambda c: c.scheduled_ms)


def event_changes(engine: Engine, event_ticker: str | None) -> list[FeeChange]:
    """Event override changes, applied and pending, by scheduled time."""
    rows = [
        c
        for c in engine.fee_changes
        if c.event_ticker is not None and (not event_ticker or c.event_ticker == event_ticker)
    ]
    return sorted(rows, key=lambda c: c.scheduled_ms)
