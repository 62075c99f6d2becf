"""The injectable clock: a manual clock that tests move by hand, and a scaled clock for the simulator.

No test here waits on real time for luck: sleepers run as tasks, the test advances the clock and then
lets the event loop run its ready callbacks a bounded number of times.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

import kalshiflow.clock as clock_module
from kalshiflow.clock import Clock, ManualClock, ScaledClock, SystemClock

START_MS = 1_800_000_000_000


async def run_ready_callbacks(rounds: int = 50) -> None:
    """Let every task that can make progress without time passing do so."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def test_clocks_satisfy_the_clock_protocol() -> None:
    clocks: list[Clock] = [SystemClock(), ScaledClock(), ManualClock()]
    assert all(isinstance(c.now_ms(), int) for c in clocks)


# --- ManualClock ----------------------------------------------------------------------------------


def test_manual_clock_starts_where_it_is_told() -> None:
    assert ManualClock(START_MS).now_ms() == START_MS
    assert ManualClock().now_ms() == 1_790_000_000_000


def test_manual_clock_stands_still_until_moved() -> None:
    clock = ManualClock(START_MS)
    assert clock.now_ms() == clock.now_ms() == START_MS


@pytest.mark.parametrize(
    ("seconds", "moved_ms"), [(1, 1000), (1.5, 1500), (0, 0), (0.001, 1), (3600, 3_600_000), (0.0004, 0)]
)
def test_advance_moves_by_whole_milliseconds(seconds: float, moved_ms: int) -> None:
    clock = ManualClock(START_MS)
    clock.advance(seconds)
    assert clock.now_ms() == START_MS + moved_ms


def test_advances_add_up() -> None:
    clock = ManualClock(START_MS)
    for _ in range(10):
        clock.advance(0.25)
    assert clock.now_ms() == START_MS + 2500


def test_set_ms_moves_forward_or_stays() -> None:
    clock = ManualClock(START_MS)
    clock.set_ms(START_MS + 42)
    assert clock.now_ms() == START_MS + 42
    clock.set_ms(START_MS + 42)
    assert clock.now_ms() == START_MS + 42


def test_set_ms_never_moves_backwards() -> None:
    clock = ManualClock(START_MS)
    with pytest.raises(ValueError, match="backwards"):
        clock.set_ms(START_MS - 1)
    assert clock.now_ms() == START_MS


def test_advance_never_moves_backwards() -> None:
    clock = ManualClock(START_MS)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    assert clock.now_ms() == START_MS


async def test_sleep_wakes_only_when_the_clock_reaches_the_deadline() -> None:
    clock = ManualClock(START_MS)
    sleeper = asyncio.create_task(clock.sleep(10))
    await run_ready_callbacks()
    assert not sleeper.done()

    clock.advance(9.999)
    await run_ready_callbacks()
    assert not sleeper.done()

    clock.advance(0.001)
    await run_ready_callbacks()
    assert sleeper.done()
    await sleeper


async def test_sleep_wakes_when_the_clock_jumps_past_the_deadline() -> None:
    clock = ManualClock(START_MS)
    sleeper = asyncio.create_task(clock.sleep(5))
    await run_ready_callbacks()
    clock.set_ms(START_MS + 3_600_000)
    await run_ready_callbacks()
    assert sleeper.done()
    await sleeper


async def test_sleepers_wake_in_deadline_order() -> None:
    clock = ManualClock(START_MS)
    woke: list[int] = []

    async def sleep_then_record(seconds: int) -> None:
        await clock.sleep(seconds)
        woke.append(seconds)

    tasks = [asyncio.create_task(sleep_then_record(s)) for s in (30, 10, 20)]
    await run_ready_callbacks()
    for expected in ([10], [10, 20], [10, 20, 30]):
        clock.advance(10)
        await run_ready_callbacks()
        assert woke == expected
    await asyncio.gather(*tasks)


async def test_zero_or_past_sleep_returns_without_the_clock_moving() -> None:
    clock = ManualClock(START_MS)
    await clock.sleep(0)
    await clock.sleep(-5)
    assert clock.now_ms() == START_MS


async def test_another_task_can_drive_the_clock_for_a_sleeper() -> None:
    clock = ManualClock(START_MS)
    ticks: list[int] = []

    async def timer() -> None:
        for _ in range(3):
            await clock.sleep(60)
            ticks.append(clock.now_ms())

    async def driver() -> None:
        for _ in range(180):
            clock.advance(1)
            await run_ready_callbacks(5)

    await asyncio.gather(timer(), driver())
    assert ticks == [START_MS + 60_000, START_MS + 120_000, START_MS + 180_000]


def test_manual_clock_made_outside_an_event_loop_works_inside_one() -> None:
    clock = ManualClock(START_MS)
    clock.advance(1)  # no loop yet: nothing to wake

    async def scenario() -> bool:
        sleeper = asyncio.create_task(clock.sleep(2))
        await run_ready_callbacks()
        clock.advance(2)
        await run_ready_callbacks()
        return sleeper.done()

    assert asyncio.run(scenario())
    assert clock.now_ms() == START_MS + 3000


# --- ScaledClock ----------------------------------------------------------------------------------


class FakeTime:
    """Stands in for the ``time`` module inside kalshiflow.clock."""

    def __init__(self, wall_ms: int) -> None:
        self.monotonic = 5_000_000_000  # arbitrary origin: only differences count
        self.wall_ms = wall_ms

    def monotonic_ns(self) -> int:
        return self.monotonic

    def time_ns(self) -> int:
        return self.wall_ms * 1_000_000

    def pass_seconds(self, seconds: float) -> None:
        self.monotonic += round(seconds * 1e9)
        self.wall_ms += round(seconds * 1000)


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime(wall_ms=START_MS)
    monkeypatch.setattr(clock_module, "time", fake)
    return fake


@pytest.mark.parametrize(
    ("speed", "after_one_second_ms"), [(1.0, 1000), (60.0, 60_000), (0.5, 500), (1000, 1_000_000)]
)
def test_scaled_clock_runs_speed_times_faster_than_wall_time(
    fake_time: FakeTime, speed: float, after_one_second_ms: int
) -> None:
    clock = ScaledClock(speed=speed, start_ms=START_MS)
    assert clock.now_ms() == START_MS
    fake_time.pass_seconds(1)
    assert clock.now_ms() == START_MS + after_one_second_ms


def test_scaled_clock_starts_at_wall_time_by_default(fake_time: FakeTime) -> None:
    clock = ScaledClock(speed=10)
    assert clock.now_ms() == START_MS
    fake_time.pass_seconds(2)
    assert clock.now_ms() == START_MS + 20_000


def test_scaled_clock_can_start_in_the_past(fake_time: FakeTime) -> None:
    clock = ScaledClock(speed=3600, start_ms=1_700_000_000_000)
    fake_time.pass_seconds(1)
    assert clock.now_ms() == 1_700_000_000_000 + 3_600_000


@pytest.mark.parametrize("speed", [0, 0.0, -1, -0.5])
def test_scaled_clock_speed_must_be_positive(speed: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(speed=speed)


async def test_scaled_clock_sleeps_wall_time_divided_by_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(clock_module, "asyncio", SimpleNamespace(sleep=fake_sleep))
    await ScaledClock(speed=60).sleep(120)
    await ScaledClock(speed=0.5).sleep(1)
    assert slept == [2.0, 2.0]


# --- SystemClock ----------------------------------------------------------------------------------


def test_system_clock_reads_wall_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    now = SystemClock().now_ms()
    after = time.time_ns() // 1_000_000
    assert before <= now <= after
