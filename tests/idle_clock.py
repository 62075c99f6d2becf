"""A ``ManualClock`` that moves only when the program has nothing left to do at the current time.

Why: a scenario that runs a whole program (trader, simulator, sockets between them) for hours of
simulated time cannot advance the clock from a script of fixed steps (it would not know when a
request's answer has arrived), and a wall-time-scaled clock makes the outcome depend on how fast
the machine is at that moment: under load the trader falls behind the market it trades. Here time
is a discrete-event simulation: ``IdleClockDriver`` lets every ready callback, socket read and
worker-thread job finish at the current time, then moves the clock to the next deadline a task
sleeps for (the simulator's next market event, the calibration tick, a pacer wait, ...). Work takes
no simulated time, however long it takes on the wall.

"Idle" is read from the event loop itself (private attributes of asyncio's selector loop; this is a
test tool): no ready callback, no readable/writable socket, no job in the default executor, no wall
timer due within ``wall_horizon_s`` (short waits such as the simulator's injected latency are
work), and ``busy()`` false (a predicate the test adds, e.g. "the stream is reconnecting").
Periodic wall-time pollers (watchdogs) are longer than the horizon and do not hold time still.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from kalshiflow.clock import ManualClock


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor (``asyncio.to_thread``), counting the jobs not finished yet."""

    def __init__(self) -> None:
        super().__init__(max_workers=4, thread_name_prefix="idle-clock")
        self._lock = threading.Lock()
        self.pending = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        with self._lock:
            self.pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self.pending -= 1


class IdleClockDriver:
    """Advances ``clock`` to its next sleeper's deadline each time the event loop is idle."""

    def __init__(
        self,
        clock: ManualClock,
        *,
        max_step_s: float = 1.0,
        wall_horizon_s: float = 0.01,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        self.clock = clock
        self.max_step_ms = round(max_step_s * 1000)
        self.wall_horizon_s = wall_horizon_s
        self.busy = busy
        self.loop = asyncio.get_running_loop()
        self.executor = CountingExecutor()
        self.loop.set_default_executor(self.executor)
        self.steps = 0
        self.on_step: list[Callable[[], None]] = []  # run at every idle point (samplers)

    # ------------------------------------------------------------------ idle
    def _work_now(self) -> bool:
        """Something runnable right now: a ready callback or a socket with data."""
        loop: Any = self.loop
        return bool(loop._ready) or bool(loop._selector.select(0))

    def _work_soon(self) -> bool:
        """A thread job in flight, a short wall timer, or the test's own ``busy``."""
        if self.executor.pending or self.busy():
            return True
        horizon = self.loop.time() + self.wall_horizon_s
        loop: Any = self.loop
        return any(t.when() <= horizon and not t.cancelled() for t in loop._scheduled)

    async def settle(self) -> None:
        """Return once the loop stayed idle over two consecutive passes."""
        quiet = 0
        while quiet < 2:
            await asyncio.sleep(0)
            if self._work_now():
                quiet = 0
            elif self._work_soon():
                quiet = 0
                await asyncio.sleep(self.wall_horizon_s / 5)
            else:
                quiet += 1

    # ------------------------------------------------------------------ time
    async def step(self, limit_ms: int) -> None:
        """Settle, then move the clock to the next deadline (at most ``max_step_s``, never past
        ``limit_ms``)."""
        await self.settle()
        for hook in self.on_step:
            hook()
        now = self.clock.now_ms()
        target = min(limit_ms, now + self.max_step_ms)
        due = self.clock.next_deadline_ms()
        if due is not None:
            target = min(target, due)
        if target > now:
            self.clock.set_ms(target)
        self.steps += 1

    async def run_until(self, condition: Callable[[], bool], within_s: float, what: str) -> None:
        """Drive time until ``condition()`` holds at an idle point; fail naming ``what`` when
        ``within_s`` of *simulated* time pass first (a deterministic bound, not a wall budget)."""
        limit_ms = self.clock.now_ms() + round(within_s * 1000)
        while True:
            await self.settle()
            if condition():
                return
            if self.clock.now_ms() >= limit_ms:
                raise AssertionError(f"{what} not reached within {within_s:g} simulated seconds")
            await self.step(limit_ms)

    async def wall_until(self, condition: Callable[[], bool], wall_guard_s: float, what: str) -> None:
        """Drive time until ``condition()`` for work that waits on the wall (closing sockets and
        servers); ``wall_guard_s`` is a hang guard, not a measurement."""
        deadline = self.loop.time() + wall_guard_s
        while not condition():
            if self.loop.time() > deadline:
                raise AssertionError(f"{what} not reached within {wall_guard_s:g} wall seconds (hang guard)")
            await self.step(self.clock.now_ms() + self.max_step_ms)
            await asyncio.sleep(self.wall_horizon_s)

    async def run_for(self, seconds: float) -> None:
        target = self.clock.now_ms() + round(seconds * 1000)
        await self.run_until(lambda: self.clock.now_ms() >= target, seconds + 1, "the clock")
