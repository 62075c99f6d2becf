"""The session test's clock driver holds time still while work is pending, and only then jumps to
the next deadline (so a green two-hour session means work took no simulated time)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from tests.idle_clock import IdleClockDriver

from kalshiflow.clock import ManualClock


async def test_time_jumps_to_each_sleeper_deadline_in_order() -> None:
    clock = ManualClock(0)
    driver = IdleClockDriver(clock, max_step_s=60)
    woke: list[tuple[str, int]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now_ms()))

    tasks = [asyncio.create_task(sleeper("b", 7)), asyncio.create_task(sleeper("a", 3))]
    await driver.run_until(lambda: len(woke) == 2, 10, "both sleepers")
    assert woke == [("a", 3_000), ("b", 7_000)]
    await asyncio.gather(*tasks)


async def test_a_worker_thread_job_holds_the_clock_still() -> None:
    clock = ManualClock(0)
    driver = IdleClockDriver(clock, max_step_s=60)
    release = threading.Event()
    seen_ms: list[int] = []

    async def work_then_note() -> None:
        await asyncio.to_thread(release.wait, 5)
        seen_ms.append(clock.now_ms())

    async def ticker() -> None:
        while True:
            await clock.sleep(1)

    tasks = [asyncio.create_task(work_then_note()), asyncio.create_task(ticker())]
    driving = asyncio.create_task(driver.run_until(lambda: bool(seen_ms), 100, "the job"))
    await asyncio.sleep(0.05)  # wall time passes; the job is still in its thread
    assert clock.now_ms() == 0
    release.set()
    await driving
    assert seen_ms == [0]  # the job's result is seen at the time it started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_bound_is_in_simulated_seconds() -> None:
    clock = ManualClock(0)
    driver = IdleClockDriver(clock)
    with pytest.raises(AssertionError, match="never not reached within 30 simulated seconds"):
        await driver.run_until(lambda: False, 30, "never")
    assert clock.now_ms() == 30_000
