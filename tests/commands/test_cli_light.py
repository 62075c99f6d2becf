"""The command line is built without importing any command's body.

Why: the backtest report pulls in matplotlib, the simulator its server and ``run`` the whole trader;
imported up front they cost every ``--help``, ``status`` and ``ctl`` about two seconds, and a Ctrl-C
in that window printed an import traceback instead of stopping.
"""

from __future__ import annotations

import subprocess
import sys

from kalshiflow.cli import sim_commands
from kalshiflow.cli.app import split_tickers
from kalshiflow.commands.simulator import ACCOUNT_FORMAT
from kalshiflow.sim.market.report import ReportOptions

HEAVY = (
    "matplotlib",
    "kalshiflow.trader",
    "kalshiflow.sim.engine",
    "kalshiflow.commands.backtest",
    "pydantic",
)


def test_building_the_command_line_imports_no_command_body() -> None:
    probe = "import sys, kalshiflow.cli; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert [m for m in loaded if m.startswith(HEAVY)] == []


def test_the_spelled_out_defaults_are_the_commands_own() -> None:
    assert sim_commands.ACCOUNT_FORMAT == ACCOUNT_FORMAT
    assert ReportOptions().hours == sim_commands.DEFAULT_REPORT_HOURS
    assert ReportOptions().markets == sim_commands.DEFAULT_REPORT_MARKETS


def test_split_tickers_accepts_commas_and_repeats_and_drops_duplicates() -> None:
    assert split_tickers(["A,B", " C ", "A", ""]) == ("A", "B", "C")
    assert split_tickers(None) == ()


def test_help_at_80_columns_keeps_every_environment_variable_whole() -> None:
    """Rich's boxed help cut ``KALSHIFLOW_DATA_DIR`` to ``KALSHIFLOW_DATA_DI…`` in an 80-column terminal."""
    env = {"COLUMNS": "80", "PATH": ""}
    probe = "from kalshiflow.cli import app; app()"
    text = subprocess.run(
        [sys.executable, "-c", probe, "run", "--help"], capture_output=True, text=True, env=env, check=False
    ).stdout
    for name in (
        "KALSHIFLOW_EXCHANGE",
        "KALSHIFLOW_DATA_DIR",
        "KALSHIFLOW_DASHBOARD_HOST",
        "KALSHI_PRIVATE_KEY",
    ):
        assert name in text
    assert "…" not in text
