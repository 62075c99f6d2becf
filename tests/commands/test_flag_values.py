"""Flag values that parse but cannot be used: one line naming the flag, exit code 2, before any work.

``float`` flags accept ``nan`` and ``inf``: ``run --speed nan`` and ``sim --speed inf`` ended in an
``OverflowError``/``ValueError`` traceback, ``backtest``/``sim-report --hours inf`` likewise, and
``run``/``record --duration nan`` never stopped (no comparison with NaN is ever true). A ``--out`` that
cannot be a directory was found only when the report was written, after the whole run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kalshiflow.cli import app


def _invoke(args: list[str]) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHIFLOW")}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--speed", "nan"),
        ("--speed", "inf"),
        ("--speed", "-inf"),
        ("--duration", "nan"),
        ("--duration", "inf"),
    ],
)
def test_run_refuses_a_speed_or_duration_that_is_not_a_finite_number(
    tmp_path: Path, flag: str, value: str
) -> None:
    code, output = _invoke(
        ["run", "--data-dir", str(tmp_path), "--no-view", "--no-dashboard", "--duration", "3", flag, value]
    )
    assert code == 2, output
    assert f"{flag} {value}" in output
    assert not (tmp_path / "kalshiflow.db").exists()  # refused before the store was opened


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("flag", "value"), [("--duration", "nan"), ("--duration", "inf"), ("--refresh", "nan")]
)
def test_record_refuses_a_duration_or_refresh_that_is_not_a_finite_number(
    tmp_path: Path, flag: str, value: str
) -> None:
    db = f"sqlite:///{tmp_path / 'rec.db'}"
    code, output = _invoke(
        ["record", "--exchange", "sim", "--top", "1", "--db", db, "--duration", "3", flag, value]
    )
    assert code == 2, output
    assert f"{flag} {value}" in output


@pytest.mark.timeout(60)
def test_sim_refuses_an_infinite_speed(tmp_path: Path) -> None:
    code, output = _invoke(["sim", "--port", "0", "--data-dir", str(tmp_path), "--speed", "inf"])
    assert code == 2, output
    assert "--speed inf" in output


@pytest.mark.timeout(60)
def test_sim_report_refuses_infinite_hours(tmp_path: Path) -> None:
    code, output = _invoke(["sim-report", "--hours", "inf", "--markets", "2", "--out", str(tmp_path / "r")])
    assert code == 2, output
    assert "--hours inf" in output


def test_sim_report_checks_its_out_directory_before_running_the_market(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kalshiflow.sim.market import report_cmd

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the market ran although --out cannot be used")

    monkeypatch.setattr(report_cmd, "run_market", no_run)
    blocker = tmp_path / "report"
    blocker.write_text("a file where the report directory should go")
    code, output = _invoke(["sim-report", "--hours", "0.01", "--markets", "2", "--out", str(blocker)])
    assert code == 2, output
    assert f"--out {blocker}: not a directory" in output


@pytest.mark.parametrize("flag", ["--episode-s", "--learning-rate", "--clip-range", "--ent-coef"])
def test_train_refuses_an_infinite_number_before_the_rl_extra_is_needed(tmp_path: Path, flag: str) -> None:
    code, output = _invoke(["train", "--out", str(tmp_path / "m"), "--timesteps", "10", flag, "inf"])
    assert code == 2, output
    assert f"{flag} inf: must be a finite number" in output
    assert not (tmp_path / "m").exists()
