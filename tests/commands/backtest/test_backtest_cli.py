"""``kalshiflow backtest`` end to end: flags, the table, the report files (written to tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kalshiflow.cli import app


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


def test_unknown_policy_is_a_usage_error_naming_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", "--policy", "hold,nope", "--seeds", "1", "--hours", "0.01"])
    assert result.exit_code == 2
    assert "--policy" in result.output
