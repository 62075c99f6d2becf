"""What a new user hit with ``kalshiflow run`` (issue 8), each driven through the real command.

* ``--top 0`` means "only the named tickers": with none named there is nothing to trade (an error,
  not every open market);
* a ticker in ``--markets`` that the exchange does not list stops startup, naming it;
* a bad ``--policy`` (unknown, missing or corrupt ``mlp:`` file) is refused before anything starts:
  no database, no simulator, no connection;
* a negative ``--duration`` is refused; ``--duration 0`` stops cleanly and leaves no order
  ``pending`` in the store;
* a log file in a missing directory, a file where the data directory should be, or a data
  directory that cannot be written: one line naming the setting, exit code 2, no traceback;
* with no ``--db``, everything the run writes is under the data directory (``./.kalshiflow`` by
  default): nothing else appears in the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from tests.commands.cli_kit import FAST_SIM, kf

from kalshiflow.store.trader_models import TraderOrderRow

USAGE = 2


def assert_usage_error(result: object, *needles: str) -> None:
    returncode = result.returncode  # type: ignore[attr-defined]
    output = result.stdout + result.stderr  # type: ignore[attr-defined]
    assert returncode == USAGE, output[-3000:]
    for needle in needles:
        assert needle in output, output[-3000:]
    assert "Traceback" not in output


def test_top_zero_without_named_markets_is_refused(tmp_path: Path) -> None:
    result = kf(
        ["run", "--data-dir", str(tmp_path / "d"), *FAST_SIM, "--top", "0", "--duration", "5"], tmp_path
    )
    assert_usage_error(result, "no markets", "--top 0")


def test_unknown_ticker_in_markets_is_refused_by_name(tmp_path: Path) -> None:
    args = [
        "run",
        "--data-dir",
        str(tmp_path / "d"),
        *FAST_SIM,
        "--markets",
        "NOPE-26JAN01-T1",
        "--duration",
        "5",
    ]
    result = kf(args, tmp_path)
    assert_usage_error(result, "NOPE-26JAN01-T1: not listed", "(from --markets)")


@pytest.mark.parametrize("source", ["env", "config"])
def test_unknown_ticker_from_the_environment_or_config_names_where_it_came_from(
    tmp_path: Path, source: str
) -> None:
    """The tickers did not come from ``--markets``: the error names the variable or the file."""
    config = tmp_path / "kf.toml"
    config.write_text('[markets]\ntickers = ["NOPE-26JAN01-T1"]\n')
    args = ["run", "--data-dir", str(tmp_path / "d"), *FAST_SIM, "--duration", "5"]
    if source == "env":
        result = kf(args, tmp_path, KALSHIFLOW_MARKETS__TICKERS='["NOPE-26JAN01-T1"]')
        assert_usage_error(result, "NOPE-26JAN01-T1: not listed", "(from KALSHIFLOW_MARKETS__TICKERS)")
    else:
        result = kf([*args, "--config", str(config)], tmp_path)
        assert_usage_error(result, "NOPE-26JAN01-T1: not listed", f"(from [markets] tickers in {config})")
    assert "--markets" not in result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["missing", "corrupt", "unknown"])
def test_bad_policy_is_refused_before_anything_starts(tmp_path: Path, kind: str) -> None:
    corrupt = tmp_path / "model"
    corrupt.mkdir()
    (corrupt / "manifest.json").write_text("{not json")
    spec = {"missing": f"mlp:{tmp_path / 'absent'}", "corrupt": f"mlp:{corrupt}", "unknown": "bogus"}[kind]
    data_dir = tmp_path / "d"
    result = kf(
        ["run", "--data-dir", str(data_dir), *FAST_SIM, "--policy", spec, "--duration", "5"], tmp_path
    )
    assert_usage_error(result, "policy")
    assert not (data_dir / "kalshiflow.db").exists()  # the store was never opened
    assert not (data_dir / "sim").exists()  # no simulator was started


def test_negative_duration_is_refused(tmp_path: Path) -> None:
    result = kf(["run", "--data-dir", str(tmp_path / "d"), *FAST_SIM, "--duration", "-5"], tmp_path)
    assert_usage_error(result, "--duration")


def test_duration_zero_stops_cleanly_with_no_pending_order(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    result = kf(["run", "--db", f"sqlite:///{db}", *FAST_SIM, "--duration", "0"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            states = set(connection.execute(select(TraderOrderRow.state)).scalars())
    finally:
        engine.dispose()
    assert "pending" not in states


def test_log_file_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "kf.toml"
    config.write_text(f'[run]\nlog_file = "{tmp_path / "no" / "such" / "dir" / "x.log"}"\n')
    result = kf(["run", "--data-dir", str(tmp_path / "d"), "--config", str(config), *FAST_SIM], tmp_path)
    assert_usage_error(result, "log_file", "does not exist")


def test_a_file_where_the_data_directory_should_be_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "d"
    blocker.write_text("not a directory")
    result = kf(["run", "--data-dir", str(blocker), *FAST_SIM, "--duration", "1"], tmp_path)
    assert_usage_error(result, "--data-dir", "not a directory")


def test_an_unwritable_data_directory_is_one_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes through file modes; /proc refuses everyone
        locked, reason = Path("/proc/kalshiflow-data"), "cannot be used"
    else:
        locked, reason = tmp_path / "locked", "not writable"
        locked.mkdir(mode=0o500)
    result = kf(["run", "--data-dir", str(locked), *FAST_SIM, "--duration", "1"], tmp_path)
    assert_usage_error(result, "--data-dir", reason)


def test_everything_goes_into_the_data_directory(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = kf(["run", *FAST_SIM, "--duration", "1"], work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in work.iterdir()) == [".kalshiflow"]
    data = work / ".kalshiflow"
    assert (data / "kalshiflow.db").exists()
    assert (data / "kalshiflow.log").exists()
    assert (data / "sim").is_dir()
    status = kf(["status"], work)  # status finds the same database the same way
    assert status.returncode == 0, status.stderr
    assert "stopped at" in status.stdout
