"""The one injectable source of time.

Everything that needs "now" (the simulator's market lifecycle, rate-limit buckets, order expiry, the
trader's timers, tests) asks a ``Clock``. ``SystemClock`` is wall time; ``ScaledClock`` runs faster
than wall time from a chosen start (the simulator's ``--speed``); ``ManualClock`` only moves when a
test advances it, so hours of trading can be checked in milliseconds and without sleeps.

Times are integer milliseconds since the Unix epoch, the unit of the API's ``ts_ms`` fields.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch in this clock's time."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """Wall time sped up ``speed`` times from ``start_ms`` (default: now)."""

    def __init__(self, speed: float = 1.0, start_ms: int | None = None) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._wall0_ns = time.monotonic_ns()
        self._start_ms = start_ms if start_ms is not None else time.time_ns() // 1_000_000

    def now_ms(self) -> int:
        elapsed_ns = time.monotonic_ns() - self._wall0_ns
        return self._start_ms + int(elapsed_ns * self.speed) // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)


class ManualClock:
    """A clock that moves only when told; ``sleep`` returns once another task advances it far enough."""

    def __init__(self, start_ms: int = 1_790_000_000_000) -> None:
        self._now_ms = start_ms
        self._sleepers: list[tuple[int, asyncio.Future[None]]] = []

    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, seconds: float) -> None:
        self.set_ms(self._now_ms + round(seconds * 1000))

    def set_ms(self, now_ms: int) -> None:
        if now_ms < self._now_ms:
            raise ValueError("a clock never moves backwards")
        self._now_ms = now_ms
        still_waiting = []
        for deadline, waiter in self._sleepers:
            if deadline <= now_ms:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still_waiting.append((deadline, waiter))
        self._sleepers = still_waiting

    async def sleep(self, seconds: float) -> None:
        deadline = self._now_ms + round(seconds * 1000)
        if deadline <= self._now_ms:
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((deadline, waiter))
        await waiter

    def next_deadline_ms(self) -> int | None:
        """The earliest time a sleeper waits for (None: nobody sleeps); a driver that advances the
        clock only when the program is idle moves it here, so every timer fires at its own time."""
        deadlines = [deadline for deadline, waiter in self._sleepers if not waiter.done()]
        return min(deadlines) if deadlines else None

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock (lets tests advance only once everyone sleeps)."""
        return sum(1 for _, waiter in self._sleepers if not waiter.done())


class FollowingClock:
    """Another party's time -- an exchange's -- read off a local clock: ``anchor + rate × elapsed``.

    The trader's market time must be the exchange's: against a simulator at ``--speed 20`` a market
    closes twenty times sooner than the wall clock says. Something that watches the exchange's own
    timestamps (``exchange.exchange_clock``) tells this clock where it is and how fast it runs
    (``follow``); until then, or once it finds the two coincide (real Kalshi), it is the local clock
    itself (``follow_local``). ``now_ms`` never goes backwards once the first estimate is in (the
    exchange's first reading may be behind the provisional local time: a simulator started in the
    past); when a later correction would, time holds until the estimate catches up. A new exchange
    session (``new_session``: a restarted simulator whose clock starts earlier) is the exception:
    its time is read at once, since holding would freeze every timer of the trader until the new
    clock caught up, minutes of wall time under ``--speed``. ``sleep`` waits the local time the
    estimated rate takes.

    ``local`` stays the wall clock everything signs requests with (``signing_clock``): signature
    freshness is about real time, whatever the market's.
    """

    def __init__(self, local: Clock) -> None:
        self.local = local
        self.rate = 1.0
        self.following = False  # False: the local clock's time
        self._anchor_ms = 0
        self._anchor_local_ms = 0
        self._last_ms = 0
        self._provisional = True  # no estimate yet: the local time read so far binds nothing
        self.sessions = 1  # exchange sessions followed so far (a restarted simulator is a new one)

    def _estimated(self) -> None:
        if self._provisional:  # the exchange's first reading replaces the provisional local time
            self._provisional = False
            self._last_ms = 0

    def follow(self, anchor_ms: int, anchor_local_ms: int, rate: float) -> None:
        """From now on, time is ``anchor_ms`` at local ``anchor_local_ms``, running ``rate`` times as fast."""
        if rate <= 0:
            raise ValueError("a followed clock must run forwards")
        self._estimated()
        self._anchor_ms, self._anchor_local_ms, self.rate = anchor_ms, anchor_local_ms, rate
        self.following = True

    def new_session(self) -> None:
        """The exchange's clock started again, earlier than the time read so far: the next estimate
        replaces that time (it may go back) instead of holding until it catches up."""
        self._provisional = True
        self.sessions += 1

    def follow_local(self) -> None:
        self._estimated()
        self.rate = 1.0
        self.following = False

    def now_ms(self) -> int:
        local = self.local.now_ms()
        now = (
            self._anchor_ms + round(self.rate * (local - self._anchor_local_ms)) if self.following else local
        )
        if now < self._last_ms:
            return self._last_ms
        self._last_ms = now
        return now

    async def sleep(self, seconds: float) -> None:
        await self.local.sleep(seconds / self.rate)


def signing_clock(clock: Clock) -> Clock:
    """The clock request signatures are stamped with: the local (wall) clock behind a followed one."""
    return clock.local if isinstance(clock, FollowingClock) else clock
