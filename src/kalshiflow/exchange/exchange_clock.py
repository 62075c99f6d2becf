"""Market time from the exchange's own timestamps: offset and rate of its clock against ours.

Against real Kalshi the exchange's clock is the wall clock. Against a simulator run at ``--speed
20`` in another process it runs twenty times as fast from wherever it started, and every time rule
of the trader (max hold, market closing, cash recovery), every rolling feature and every "closes
in" must follow *that* clock, while requests are still signed with the wall clock (signature
freshness is about real time). The trader's market clock is a ``FollowingClock`` on the wall
clock; this module tells it where the exchange's time is and how fast it runs.

Samples are (exchange time, local time) pairs: the exchange stamps ``as_of_time`` on
``GET /exchange/user_data_timestamp`` (a public read the real API and the simulator both serve, the
simulator with its simulated time), taken at the midpoint of the round trip. A least-squares line
through the last ``WINDOW`` samples gives the rate (1 until two samples are ``MIN_SPAN_MS`` apart)
and the offset. When every sample in the window is within ``WALL_TOLERANCE_MS`` of the wall clock,
the exchange *is* on the wall clock and the clock reads the wall clock exactly: real Kalshi then
behaves as before, without the estimate's jitter (``as_of_time`` may trail the exchange's clock by
its read lag, seconds at most). A faster simulator leaves the tolerance within seconds of wall time
(ten at ``--speed 2``, half a second at ``--speed 20``), and is followed from the next sample.

An exchange's clock never reads earlier than it did: a reading more than ``NEW_SESSION_BACK_MS``
before the previous one is a new exchange session (a simulator started again, its clock from the
wall time of its start). The samples of the old session are dropped, the clock takes the new
session's time at once (``FollowingClock.new_session``) and ``on_new_session`` is told (the trader
recalibrates: whatever it knew about orders and positions was the old exchange's).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from kalshiflow.clock import FollowingClock
from kalshiflow.exchange.errors import ExchangeError, poll_log_level
from kalshiflow.exchange.models_wire import WireFormatError

log = logging.getLogger(__name__)

WINDOW: Final = 12
MIN_SPAN_MS: Final = 1_000  # local time two samples need between them before a rate is fitted
WALL_TOLERANCE_MS: Final = 10_000
SYNC_EVERY_S: Final = 5.0  # of local (wall) time
# How far a reading may fall behind the previous one before it is a new session: ``as_of_time``
# trails the exchange's clock by its read lag, which varies by a second or two, never by this.
NEW_SESSION_BACK_MS: Final = 10_000


@dataclass(frozen=True, slots=True)
class SessionJump:
    """The exchange's clock went back: the trader's time before (``from_ms``), the new session's."""

    from_ms: int
    to_ms: int

    def describe(self) -> str:
        return (
            f"the exchange's clock went back {(self.from_ms - self.to_ms) / 1000:,.0f} s "
            f"(from {_utc(self.from_ms)} to {_utc(self.to_ms)} UTC): a new exchange session "
            "(a restarted simulator?)"
        )


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


class ExchangeClockEstimator:
    """Fits exchange time against local time and points ``clock`` at the fit."""

    def __init__(self, clock: FollowingClock) -> None:
        self.clock = clock
        self.samples: deque[tuple[int, int]] = deque(maxlen=WINDOW)  # (local ms, exchange ms)

    def observe(
        self, exchange_ms: int, sent_local_ms: int, received_local_ms: int | None = None
    ) -> SessionJump | None:
        """One exchange timestamp, stamped between ``sent_local_ms`` and ``received_local_ms``;
        returns the jump when it starts a new exchange session."""
        received = sent_local_ms if received_local_ms is None else received_local_ms
        local_ms = (sent_local_ms + received) // 2
        jump = None
        if self.samples and exchange_ms < self.samples[-1][1] - NEW_SESSION_BACK_MS:
            jump = SessionJump(self.clock.now_ms(), exchange_ms)
            self.samples.clear()  # the old session's line says nothing about the new one's
            self.clock.new_session()
        if self.samples and local_ms <= self.samples[-1][0]:
            self.samples.pop()  # the same local instant (a manual clock): the latest reading wins
        self.samples.append((local_ms, exchange_ms))
        self._fit()
        return jump

    def _fit(self) -> None:
        local_last, exchange_last = self.samples[-1]
        if all(abs(exchange - local) <= WALL_TOLERANCE_MS for local, exchange in self.samples):
            self.clock.follow_local()
            return
        rate = fitted_rate(self.samples)
        if len(self.samples) >= 2:  # the line at the latest sample: averages the readings' jitter
            mean_local = sum(s[0] for s in self.samples) / len(self.samples)
            mean_exchange = sum(s[1] for s in self.samples) / len(self.samples)
            exchange_last = round(mean_exchange + rate * (local_last - mean_local))
        self.clock.follow(exchange_last, local_last, rate)


def fitted_rate(samples: deque[tuple[int, int]]) -> float:
    """Least-squares slope of exchange time on local time; 1 until the samples span ``MIN_SPAN_MS``."""
    if len(samples) < 2 or samples[-1][0] - samples[0][0] < MIN_SPAN_MS:
        return 1.0
    n = len(samples)
    mean_local = sum(s[0] for s in samples) / n
    mean_exchange = sum(s[1] for s in samples) / n
    var = sum((s[0] - mean_local) ** 2 for s in samples)
    cov = sum((s[0] - mean_local) * (s[1] - mean_exchange) for s in samples)
    rate = cov / var
    return rate if rate > 0 else 1.0


class ExchangeClockSync:
    """Samples the exchange's clock through ``read_exchange_ms`` (``rest.user_data_timestamp``)."""

    def __init__(
        self,
        clock: FollowingClock,
        read_exchange_ms: Callable[[], Awaitable[int]],
        on_new_session: Callable[[SessionJump], None] | None = None,
    ) -> None:
        self.clock = clock
        self.estimator = ExchangeClockEstimator(clock)
        self._read = read_exchange_ms
        self._on_new_session = on_new_session

    async def sync_once(self) -> bool:
        """One sample; False (and the estimate unchanged) when the exchange did not answer."""
        local = self.clock.local
        sent = local.now_ms()
        try:
            exchange_ms = await self._read()
        except (ExchangeError, WireFormatError, OSError) as exc:
            log.log(poll_log_level(exc), "exchange_clock.sample_failed error=%s", exc)
            return False
        jump = self.estimator.observe(exchange_ms, sent, local.now_ms())
        if jump is not None:
            if self._on_new_session is None:
                log.warning("exchange_clock.new_session %s; market time follows it", jump.describe())
            else:  # the caller logs it, with what it does about it
                self._on_new_session(jump)
        return True

    async def run(self, every_s: float = SYNC_EVERY_S) -> None:
        """Sample every ``every_s`` of local (wall) time, for as long as the task runs."""
        while True:
            await self.sync_once()
            await self.clock.local.sleep(every_s)


async def follow_exchange(
    clock: FollowingClock,
    read_exchange_ms: Callable[[], Awaitable[int]],
    on_new_session: Callable[[SessionJump], None] | None = None,
) -> tuple[ExchangeClockSync, asyncio.Task[None]]:
    """Take a first sample now (so startup already runs on the exchange's time), then keep sampling
    in a task the caller cancels when it stops; the sync is returned too, for a sample on demand
    (``run`` takes one before each calibration: a restarted exchange is found before it is read)."""
    sync = ExchangeClockSync(clock, read_exchange_ms, on_new_session)
    await sync.sync_once()
    return sync, asyncio.create_task(sync.run(), name="exchange-clock")
