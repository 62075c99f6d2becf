"""``run --no-view`` prints one line per status entry for the whole run, the stop's lines included.

Soak run (20 wall minutes at --speed 60): the history is bounded (500 entries) and the printer counted
what it had printed by the history's length, which stops at 500 -- the console went silent after
about 2 minutes and never showed "stopping" or "stopped", only the summary.
"""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from kalshiflow.clock import ManualClock
from kalshiflow.commands.app_state import AppState
from kalshiflow.commands.run import _show
from kalshiflow.events.bus import EventBus
from kalshiflow.trader.lifecycle.init_tracker import InitTracker
from kalshiflow.trader.lifecycle.states import Lifecycle


async def test_lines_keep_coming_after_the_bounded_history_is_full() -> None:
    clock = ManualClock()
    bus = EventBus()
    lifecycle = Lifecycle(clock, history_size=3, bus=bus)  # "initializing: starting" is entry 1
    state = AppState(lifecycle, InitTracker(clock, bus))
    for n in range(2, 6):
        lifecycle.note(f"entry {n}")
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    stop = asyncio.Event()
    shown = asyncio.create_task(_show(state, console, stop, asyncio.Event(), view=False))
    await asyncio.sleep(0)  # the first round prints what the full history holds: entries 3 to 5
    lifecycle.note("entry 6")
    lifecycle.note("entry 7")
    stop.set()
    printed = await shown
    assert printed == 5, "entries 6 and 7 are still to print, not counted as printed"
    stop_lines = [entry.result_text for entry in lifecycle.entries_after(printed)]
    assert stop_lines == ["entry 6", "entry 7"]
    assert [line.split()[-1] for line in out.getvalue().splitlines()] == ["3", "4", "5"]


def test_entries_after_a_count_are_the_newest_the_history_holds() -> None:
    lifecycle = Lifecycle(ManualClock(), history_size=3)
    for n in range(2, 8):
        lifecycle.note(f"entry {n}")
    assert lifecycle.recorded == 7
    assert [e.result_text for e in lifecycle.entries_after(5)] == ["entry 6", "entry 7"]
    assert [e.result_text for e in lifecycle.entries_after(0)] == ["entry 5", "entry 6", "entry 7"]
    assert lifecycle.entries_after(7) == []
