"""Running the real ``kalshiflow`` command in a subprocess, as a person types it.

The environment is the test's minus every ``KALSHIFLOW*`` variable, the working directory is the
test's ``tmp_path``: nothing a test runs can write into the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

KALSHIFLOW = [sys.executable, "-c", "from kalshiflow.cli import app; app()"]
# The embedded simulator on a fast clock, few markets: a run is ready in about a second.
FAST_SIM = ["--no-view", "--no-dashboard", "--speed", "20", "--sim-markets", "4", "--top", "4"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHIFLOW")}
    env.update(extra)
    return env


def kf(args: list[str], cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KALSHIFLOW, *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def kf_background(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*KALSHIFLOW, *args],
        cwd=cwd,
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(
    condition: Callable[[], bool], what: str, process: subprocess.Popen[str], within_s: float = 60
) -> None:
    """Wait (bounded) for a child process to reach a state it reports through its files."""
    deadline = time.monotonic() + within_s
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"process exited {process.returncode} before {what}: {err[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {within_s}s")
        time.sleep(0.1)
