"""``kalshiflow run`` end to end against the embedded simulator, and ``kalshiflow status`` after it.

The trader runs as a real subprocess (the command a person types), on a simulator clock ten times
faster than wall time, until ``--duration`` ends it; it must reach ``trading``, calibrate, stop
cleanly with exit code 0, and leave a store that ``status`` reads back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.clock import SystemClock
from kalshiflow.store.trader_repo import TraderStore

KALSHIFLOW = [sys.executable, "-c", "from kalshiflow.cli import app; app()"]


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHIFLOW")}
    return subprocess.run(
        [*KALSHIFLOW, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_run_trades_the_embedded_simulator_then_stops_cleanly_and_status_reads_the_store(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'trader.db'}"
    result = _run(
        [
            "run",
            "--db",
            db,
            "--duration",
            "12",
            "--no-view",
            "--live",
            "--policy",
            "rules:signal",
            "--speed",
            "10",
            "--sim-markets",
            "6",
            "--top",
            "6",
            "--dashboard-port",
            "0",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "dashboard http://127.0.0.1:" in out
    [token_line] = [line for line in out.splitlines() if line.startswith("dashboard token: ")]
    token = token_line.removeprefix("dashboard token: ")
    assert len(token) >= 24
    assert (
        token not in (tmp_path / ".kalshiflow" / "kalshiflow.log").read_text()
    )  # printed once, never logged
    assert "trading" in out
    assert "calibrating -> syncing state" in out
    assert "stopping" in out
    # Without the live view each status line is printed once, as it happens, the stop's own last:
    # no repeated lines, "stopping" before "stopped" (the live view's newest-first tail is not reprinted).
    status_lines = [line for line in out.splitlines() if re.match(r"\d\d:\d\d:\d\d [AP]M  ", line)]
    assert len(status_lines) == len(set(status_lines)), status_lines
    states = [line.split()[2] for line in status_lines]
    assert states[-2:] == ["stopping", "stopped"], states
    [decisions] = [line for line in out.splitlines() if re.match(r"[\d,]+ decisions: ", line)]
    assert re.search(r"decisions: [\d,]+ hold, [\d,]+ orders? sent, \d+ denied", decisions), (
        decisions
    )  # live: no paper
    log_file = tmp_path / ".kalshiflow" / "kalshiflow.log"  # in the data directory
    assert log_file.exists()  # structured log lines
    log_lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert all(entry["logger"].startswith("kalshiflow") for entry in log_lines)
    actions = [entry for entry in log_lines if entry["event"] == "trader_action"]
    assert actions, "every decision is logged as a trader_action"
    observation = json.loads(actions[0]["observation"])
    assert len(observation) == 52  # the named schema v1 observation
    assert {"ticker", "action", "price", "size", "result", "reason"} <= set(actions[0])

    status = _run(["status", "--db", db, "--json"], tmp_path)
    assert status.returncode == 0, status.stderr
    snapshot = json.loads(status.stdout)
    assert snapshot["status"]["status"] == "stopped"
    assert snapshot["cash_dollars"] is not None
    assert snapshot["last_calibration"]["ok"] is True
    for position in snapshot["positions"]:
        assert set(position) >= {"ticker", "position_fp"}
    assert snapshot["resting_orders"] == [] or all(o["purpose"] != "open" for o in snapshot["resting_orders"])


def test_run_by_default_trades_the_simulator_with_the_shipped_network(tmp_path: Path) -> None:
    """No --policy, no --paper/--live: the shipped PPO network (the best held-out P&L after fees)
    trades the embedded simulator, where no real money is at stake; nothing says paper."""
    result = _run(
        [
            "run",
            "--duration",
            "6",
            "--no-view",
            "--speed",
            "10",
            "--sim-markets",
            "4",
            "--top",
            "4",
            "--dashboard-port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "paper" not in result.stdout, result.stdout
    [decisions] = [line for line in result.stdout.splitlines() if re.match(r"[\d,]+ decisions: ", line)]
    assert re.search(r"decisions: [\d,]+ hold, [\d,]+ orders? sent, \d+ denied", decisions), decisions
    log_lines = [json.loads(line) for line in (tmp_path / "data" / "kalshiflow.log").read_text().splitlines()]
    [chosen] = [entry for entry in log_lines if entry["event"] == "run.policy"]
    assert (chosen["spec"], chosen["exchange"], chosen["paper"]) == ("ppo", "sim", "False")
    assert chosen["name"] == "mlp:ppo-mid-g95-s3"  # the network shipped in the package


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--exchange", "demo"], "--key-id"),
        (["--config", "/nonexistent/kf.toml"], "--config /nonexistent/kf.toml: file not found"),
        (["--policy", "bogus"], "unknown policy spec 'bogus'"),
        (["--exchange", "sim", "--url", "http://127.0.0.1:1/trade-api/v2", "--key-id", "k"], "key"),
    ],
)
def test_run_refuses_bad_settings_with_one_line_naming_the_setting(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHIFLOW")}
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(app, ["run", "--db", db, "--no-view", "--duration", "5", *args], env=env)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_status_before_any_run_says_so(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    TraderStore(db, SystemClock()).close()  # a database that exists, with no run in it
    result = CliRunner().invoke(app, ["status", "--db", db])
    assert result.exit_code == 0, result.output
    assert "never ran" in result.output
