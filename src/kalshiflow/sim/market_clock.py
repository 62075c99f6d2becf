"""The engine's clock in a stepped simulation: simulated time, not the time the step ran.

The market model processes its events (orders, quotes, news, closes) in simulated-time order. When
the driver catches up -- a server loop that woke late, or an in-process run that jumps an hour at
once -- each event must still happen *at its own time*, or the same seed would give a different
market at another ``--speed``. ``MarketClock`` is what the engine reads: while the model processes
an event it is pinned to that event's time; otherwise it follows the driving clock (a
``ScaledClock`` behind a server, a ``ManualClock`` in process), so requests from clients between
events see the driving clock's time.

Invariant: ``now_ms`` never goes backwards. An event processed late, after a client already saw a
later time, is stamped with that later time (only possible when something outside the model reads
the clock between events, which already makes a run non-reproducible).
"""

from __future__ import annotations

from kalshiflow.clock import Clock


class MarketClock:
    """Simulated time of the event being processed, else the driving clock's time."""

    def __init__(self, source: Clock) -> None:
        self.source = source
        self._pinned_ms: int | None = None
        self._last_ms = 0

    def now_ms(self) -> int:
        now = self._pinned_ms if self._pinned_ms is not None else self.source.now_ms()
        if now < self._last_ms:
            return self._last_ms
        self._last_ms = now
        return now

    def pin(self, event_ms: int) -> None:
        """Hold the time at ``event_ms`` (the event being processed) until ``release``."""
        self._pinned_ms = event_ms

    def release(self) -> None:
        self._pinned_ms = None

    async def sleep(self, seconds: float) -> None:
        await self.source.sleep(seconds)
