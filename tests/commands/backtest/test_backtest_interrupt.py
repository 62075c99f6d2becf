"""Ctrl-C or SIGTERM during ``kalshiflow backtest``: it stops at once, says how far it got, writes no
report, and leaves no worker process behind.

The terminal sends SIGINT to the whole process group -- the command and its worker processes --
so the test does the same (the command in its own session, ``killpg``) once the workers exist.
"""

from __future__ import annotations

import contextlib
import multiprocessing.process
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from tests.commands.cli_kit import KALSHIFLOW, clean_env

from kalshiflow.commands.backtest.runner import BacktestInterrupted, run_calls

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


def _sleep_run(seconds: float) -> None:
    time.sleep(seconds)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker pids from /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("to", ["main thread", "another thread"])
def test_a_signal_while_the_workers_start_leaves_no_worker_behind(
    monkeypatch: pytest.MonkeyPatch, signum: signal.Signals, to: str
) -> None:
    """Ctrl-C in the instant a worker was forked but not yet registered with the pool: the
    KeyboardInterrupt came out of the pool's own code, the half-started worker was not stopped, kept
    the caller's pipes open (the command "hung" for its caller) or printed a multiprocessing traceback.
    The signal is sent right after each fork, the worst moment, every time: to the main thread, or to
    another thread (the kernel hands a Ctrl-C to any thread that does not block it -- the progress
    bar's -- and Python then runs the handler in the main thread, wherever it is)."""
    started: list[multiprocessing.process.BaseProcess] = []
    real_start = multiprocessing.process.BaseProcess.start
    release = threading.Event()
    other = threading.Thread(target=release.wait, name="other")
    other.start()
    target = threading.main_thread() if to == "main thread" else other

    def start_then_signal(self: multiprocessing.process.BaseProcess) -> None:
        real_start(self)
        started.append(self)
        signal.pthread_kill(target.ident or 0, signum)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start_then_signal)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        calls = [(_sleep_run, (30.0,)) for _ in range(4)]
        with pytest.raises(BacktestInterrupted, match=r"^interrupted: 0 of 4 runs finished"):
            run_calls(calls, jobs=2)  # type: ignore[arg-type]
    finally:
        signal.signal(signal.SIGINT, previous)
        release.set()
        other.join()
    assert len(started) == 2
    # Stopped: gone, or a zombie the pool's manager thread is about to reap (its join and the
    # stop's race for the exit status, so ``is_alive`` may still say True for an instant).
    assert [p.pid for p in started if _running(p.pid)] == []


def _running(pid: int | None) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
