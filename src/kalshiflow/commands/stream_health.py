"""The market-data stream's health, as the operator and the bus see it (checked on every tick).

``publish`` puts a ``StreamHealth`` event on the bus whenever the stream's state, gap or resync
counts, invalid books or last error changed since the last look; ``note_degraded`` shows a lost
stream in the status history at once, in words, and clears it when the stream is live again (a lost
exchange must not look like ``trading`` until the next calibration a minute later);
``missing_market_data`` says what keeps the trader from deciding (the recalibrator waits for it
before it says ``trading`` again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kalshiflow.clock import Clock
from kalshiflow.commands.app_state import AppState
from kalshiflow.events.bus import EventBus
from kalshiflow.events.trader import StreamHealth
from kalshiflow.exchange.ws_status import ConnectionState


def market_data_missing(
    state: ConnectionState, subscribed: Sequence[str], valid: Callable[[str], bool]
) -> str | None:
    """What keeps the market data from being there to decide on, in words; None when it is.

    The stream down (any state but live) or, live again, no subscribed book valid yet (a reconnect
    invalidates every book until its snapshot arrives). One valid book is enough: a market whose
    book stays invalid (a terminal subscription error) must not keep the trader from the others.
    """
    if state is ConnectionState.CLOSED:
        return "stream closed"
    if state is not ConnectionState.LIVE:
        return "stream reconnecting"  # connecting, subscribing, backing off: one thing to the operator
    if subscribed and not any(valid(t) for t in subscribed):
        return "stream reconnected, order book snapshots on their way"
    return None


class StreamHealthMonitor:
    """Reads the feed's stream status; writes ``AppState.degraded``, status notes and bus events."""

    def __init__(self, state: AppState, bus: EventBus, clock: Clock) -> None:
        self.state = state
        self.bus = bus
        self.clock = clock
        self._last: tuple[object, ...] | None = None

    def publish(self) -> None:
        """The ``stream`` event, whenever the stream's health changed since the last tick."""
        feed = self.state.feed
        if feed is None:
            return
        status = feed.stream.status()
        error = "" if status.last_error is None else str(status.last_error)
        self.note_degraded(status.state is ConnectionState.LIVE, status.state.value, error)
        metrics = status.metrics
        key = (status.state, metrics.gaps, metrics.resyncs, len(status.invalid_books), error)
        if key == self._last:
            return
        self._last = key
        self.bus.publish(
            StreamHealth(
                ts_ms=self.clock.now_ms(),
                connected=status.state is ConnectionState.LIVE,
                gaps=metrics.gaps,
                resyncs=metrics.resyncs,
                invalid_books=len(status.invalid_books),
                detail=f"{status.state.value}{': ' + error if error else ''}",
            )
        )

    def missing_market_data(self) -> str | None:
        """``market_data_missing`` of the running feed (None before there is one)."""
        feed = self.state.feed
        if feed is None:
            return None
        return market_data_missing(feed.stream.status().state, feed.tickers, feed.books.is_valid)

    def note_degraded(self, live: bool, state: str, error: str) -> None:
        """Show a lost stream at once (checked every tick), not a minute later at the next calibration."""
        if not live and self.state.degraded is None and self.state.tracker.ready:
            reason = f"market data stream {state.replace('_', ' ')}" + (f" ({error})" if error else "")
            self.state.degraded = reason
            self.state.lifecycle.note(f"degraded: {reason}")
        elif live and self.state.degraded is not None:
            self.state.degraded = None
            self.state.lifecycle.note("market data stream live again")
