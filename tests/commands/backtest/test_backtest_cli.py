"""``kalshiflow backtest`` end to end: flags, the table, the report files (written to tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.commands.backtest.runner import seed_count
from kalshiflow.config import Settings


def test_backtest_writes_the_report_and_prints_each_policy(tmp_path: Path) -> None:
    out = tmp_path / "bt"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--policy",
            "hold,random",
            "--seeds",
            "1-2",
            "--hours",
            "0.03",
            "--markets",
            "4",
            "--jobs",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "hold" in result.output
    assert "random" in result.output
    for name in ("report.json", "report.html", "equity.png", "markouts.png"):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "report.json").read_text())
    assert [p["policy"] for p in report["policies"]] == ["hold", "random"]
    assert report["policies"][0]["pnl_dollars"] == [0.0, 0.0]


def test_without_policy_the_baselines_meet_runs_default(tmp_path: Path) -> None:
    """No --policy: hold, random and rules against the policy ``run`` trades by default."""
    out = tmp_path / "bt"
    argv = ["backtest", "--seeds", "1", "--hours", "0.02", "--markets", "3", "--jobs", "1", "--out", str(out)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert [p["policy"] for p in report["policies"]] == ["hold", "random", "rules", Settings().run.policy]


def test_unknown_policy_is_a_usage_error_naming_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", "--policy", "hold,nope", "--seeds", "1", "--hours", "0.01"])
    assert result.exit_code == 2
    assert "--policy" in result.output


@pytest.mark.parametrize("sessions", [False, True])
def test_an_out_path_that_cannot_be_used_stops_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sessions: bool
) -> None:
    """The report is written after the last run: a --out blocked by a file used to end hours of runs
    in a FileExistsError traceback, their results lost. Now it is one line naming --out, up front."""
    from kalshiflow.commands.backtest import recorded, runner

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run started although --out cannot be used")

    monkeypatch.setattr(runner, "run_all", no_run)
    monkeypatch.setattr(recorded, "run_recorded", no_run)
    blocker = tmp_path / "report"
    blocker.write_text("a file where the report directory should go")
    source = ["--sessions", str(tmp_path / "none.db")] if sessions else ["--seeds", "1", "--hours", "0.01"]
    result = CliRunner().invoke(app, ["backtest", "--policy", "hold", *source, "--out", str(blocker)])
    assert result.exit_code == 2, result.output
    assert f"--out {blocker}: not a directory" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_infinite_number_of_hours_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", "--policy", "hold", "--seeds", "1", "--hours", "inf"])
    assert result.exit_code == 2, result.output
    assert "--hours inf" in result.output


def test_run_settings_a_backtest_cannot_use_are_named_not_dropped(tmp_path: Path) -> None:
    """The file `run` reads may choose a policy, paper mode and markets; a backtest passed the same
    file uses its exits, risk and sizes but not those: it says so instead of ignoring them."""
    config = tmp_path / "run.toml"
    config.write_text('[run]\npolicy = "hold"\npaper = true\n[markets]\ntop_n = 3\n')
    args = ["backtest", "--policy", "hold", "--seeds", "1", "--hours", "0.01", "--jobs", "1"]
    result = CliRunner().invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    note = result.output.splitlines()[0]
    assert note.startswith("note: [run] policy, [run] paper, [markets] top_n of the settings do not apply"), (
        note
    )
    plain = CliRunner().invoke(app, args)
    assert plain.exit_code == 0, plain.output
    assert "note:" not in plain.output


@pytest.mark.parametrize(
    ("flags", "size"),
    [
        (["--seeds", "1-1000000"], "1,000,000 runs (1 policy x 1,000,000 seeds) of 2 simulated h"),
        (["--seeds", "1", "--hours", "100000"], "1 run (1 policy x 1 seed) of 100000 simulated h"),
        (["--seeds", "1-999999999999999"], "999,999,999,999,999 runs"),
    ],
)
def test_a_backtest_of_days_is_refused_naming_its_size_and_time(flags: list[str], size: str) -> None:
    """``--seeds 1-1000000`` started a run of weeks without a word (and a range of 10^15 seeds
    filled the memory before the first run)."""
    result = CliRunner().invoke(app, ["backtest", "--policy", "hold", "--jobs", "2", *flags])
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert size in line, line
    assert "days of wall time with 2 jobs" in line, line
    assert "--yes" in line, line


def test_seed_counts_merge_overlapping_ranges() -> None:
    assert seed_count("1-5,3-7,7,20") == 8
    assert seed_count("9-12,1,4") == 6


@pytest.mark.parametrize(
    "command", [["backtest", "--seeds", "1", "--hours", "0.01", "--jobs"], ["train", "--envs"]]
)
def test_a_thousand_worker_processes_are_refused_in_one_line(command: list[str], tmp_path: Path) -> None:
    """``--jobs 1000`` (or ``train --envs 1000``) started a process per run or environment."""
    extra = ["--out", str(tmp_path / "model"), "--timesteps", "1"] if command[0] == "train" else []
    result = CliRunner().invoke(app, [*command, "1000", *extra])
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert "less than or equal to 64" in line, line
