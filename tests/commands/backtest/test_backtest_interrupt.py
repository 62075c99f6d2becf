"""Ctrl-C or SIGTERM during ``kalshiflow backtest``: it stops at once, says how far it got, writes no
report, and leaves no worker process behind.

The terminal sends SIGINT to the whole process group -- the command and its worker processes --
so the test does the same (the command in its own session, ``killpg``) once the workers exist.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.commands.cli_kit import KALSHIFLOW, clean_env

pytestmark = pytest.mark.timeout(120)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker pids from /proc")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_every_worker_at_once_and_writes_no_report(tmp_path: Path, how: str) -> None:
    """SIGTERM (``kill``, a supervisor) goes to the command alone: it used to die by itself and
    leave its workers waiting for work forever, holding the pipes of whoever started it."""
    out = tmp_path / "bt"
    # 40 runs of an hour each over two processes: a few minutes of work if Ctrl-C let them finish.
    args = ["backtest", "--policy", "random,rules", "--seeds", "1-20", "--hours", "1", "--jobs", "2"]
    process = subprocess.Popen(
        [*KALSHIFLOW, *args, "--out", str(out)],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_children(process.pid)) < 2:  # the pool's workers: the runs have started
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no worker processes within 60 s"
            time.sleep(0.05)
        workers = _children(process.pid)
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)  # the terminal signals the whole group
        else:
            process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        left_running = [pid for pid in workers if Path(f"/proc/{pid}").exists()]  # before the cleanup
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the group, workers included
            os.killpg(process.pid, signal.SIGKILL)
        if process.poll() is None:
            process.communicate()
    assert process.returncode == 130, err
    assert re.fullmatch(r"interrupted: \d+ of 40 runs finished; no report written\n", err), err
    assert not left_running
    assert not out.exists() or not any(out.iterdir())
