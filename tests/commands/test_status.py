"""``kalshiflow status`` tells running, stopped and crashed apart (issue 8, new user item 5).

A run records a heartbeat while it runs and a final ``stopped`` state; after ``kill -9`` status
says "not running since T (crashed)" instead of the last state it saw. A database that does not
exist is reported, not created. Each test drives the real command in a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from tests.commands.cli_kit import FAST_SIM, kf, kf_background, wait_for
from tests.train.recorded_kit import recorded_session

from kalshiflow.commands.heartbeat import STALE_AFTER_S
from kalshiflow.commands.status import format_status, trader_clock_ahead
from kalshiflow.store import db
from kalshiflow.store.trader_reads import read_status_history
from kalshiflow.store.trader_runs import StoredRun, read_last_run


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_clean_stop_prints_a_summary_and_status_says_stopped(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "trader.db")
    result = kf(["run", "--db", db, "--duration", "2", *FAST_SIM], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cancelled 0 orders" in result.stdout
    assert "P&L realized" in result.stdout

    status = kf(["status", "--db", db], tmp_path)
    assert status.returncode == 0, status.stderr
    assert "stopped at" in status.stdout
    snapshot = json.loads(kf(["status", "--db", db, "--json"], tmp_path).stdout)
    assert snapshot["run"]["state"] == "stopped"
    assert snapshot["status"]["status"] == "stopped"
    assert snapshot["cash"].startswith("$")


def test_status_after_kill_9_says_not_running_since(tmp_path: Path) -> None:
    db_path = tmp_path / "trader.db"
    db = sqlite_url(db_path)
    trader = kf_background(["run", "--db", db, *FAST_SIM], tmp_path)
    try:

        def trading() -> bool:
            if not db_path.exists():
                return False
            engine = create_engine(db)
            try:
                history = read_status_history(engine, 1)
                return read_last_run(engine) is not None and bool(history) and history[0].status == "trading"
            except Exception:
                return False  # not migrated yet
            finally:
                engine.dispose()

        wait_for(trading, "trading", trader)
        running = json.loads(kf(["status", "--db", db, "--json"], tmp_path).stdout)
        assert running["run"]["state"] == "running"
        os.kill(trader.pid, signal.SIGKILL)
        trader.wait(timeout=30)
    finally:
        if trader.poll() is None:
            trader.kill()
        trader.communicate()
    status = kf(["status", "--db", db], tmp_path)
    assert status.returncode == 0, status.stderr
    assert "not running since" in status.stdout
    assert "crashed" in status.stdout
    snapshot = json.loads(kf(["status", "--db", db, "--json"], tmp_path).stdout)
    assert snapshot["run"]["state"] == "crashed"


def run_recorded(db_path: Path) -> bool:
    """Whether a ``run`` on ``db_path`` has written its row (and heartbeat) yet."""
    if not db_path.exists():
        return False
    engine = create_engine(sqlite_url(db_path))
    try:
        return read_last_run(engine) is not None
    except Exception:
        return False  # not migrated yet
    finally:
        engine.dispose()


def test_status_of_a_hung_trader_says_not_responding_not_crashed(tmp_path: Path) -> None:
    """A process alive whose heartbeat went stale (stopped with SIGSTOP: hung, swapped out) did not
    crash: status says it is not responding, with its pid and the heartbeat's age."""
    db_path = tmp_path / "trader.db"
    db = sqlite_url(db_path)
    trader = kf_background(["run", "--db", db, *FAST_SIM], tmp_path)
    try:
        wait_for(lambda: run_recorded(db_path), "a heartbeat", trader)
        os.kill(trader.pid, signal.SIGSTOP)
        time.sleep(STALE_AFTER_S + 2)
        status = kf(["status", "--db", db], tmp_path)
        snapshot = json.loads(kf(["status", "--db", db, "--json"], tmp_path).stdout)
    finally:
        os.kill(trader.pid, signal.SIGCONT)
        trader.kill()
        trader.communicate()
    assert status.returncode == 0, status.stderr
    assert f"not responding (pid {trader.pid} alive, last heartbeat " in status.stdout, status.stdout
    assert "s ago" in status.stdout
    assert "crashed" not in status.stdout
    assert snapshot["run"]["state"] == "not responding"
    assert snapshot["run"]["heartbeat_age_s"] >= STALE_AFTER_S


def test_a_second_run_on_the_store_of_a_running_trader_is_refused(tmp_path: Path) -> None:
    """Two ``run``s on one data directory both traded: the second restored the first one's resting
    orders as its own (and, on its exchange, reported them 'still resting' at its stop, exit 1; on a
    shared account it would cancel them), and ``status`` then said 'stopped' -- the second run's row
    -- while the first was still trading."""
    db_path = tmp_path / "trader.db"
    db = sqlite_url(db_path)
    first = kf_background(["run", "--db", db, *FAST_SIM], tmp_path)
    try:
        wait_for(lambda: run_recorded(db_path), "the first run's heartbeat", first)
        second = kf(["run", "--db", db, "--duration", "2", *FAST_SIM], tmp_path)
        assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-2000:]
        assert f"another trader is running on {db} (pid {first.pid}" in second.stderr
        assert "dashboard token" not in second.stdout  # refused before anything started
        assert json.loads(kf(["status", "--db", db, "--json"], tmp_path).stdout)["run"]["state"] == "running"
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGINT)
        try:
            first.wait(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
            first.communicate()
    again = kf(["run", "--db", db, "--duration", "1", *FAST_SIM], tmp_path)  # stopped: a new run may start
    assert again.returncode == 0, again.stderr[-3000:]


def test_status_on_a_missing_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = kf(["status", "--db", sqlite_url(missing)], tmp_path)
    assert result.returncode == 1
    assert "no database" in result.stdout + result.stderr
    assert str(missing) in result.stdout + result.stderr
    assert not missing.exists()
    assert "Traceback" not in result.stderr


def test_a_database_from_a_newer_kalshiflow_is_one_line_in_status_run_and_record(tmp_path: Path) -> None:
    """A store whose schema revision this code does not know (a newer version wrote it, or another
    branch) is named in one line with exit 2 -- not Alembic's traceback -- and left as it was."""
    path = tmp_path / "newer.db"
    engine = db.open_engine(sqlite_url(path))
    db.migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfacef00d'"))
    engine.dispose()
    for args in (
        ["status", "--db", sqlite_url(path)],
        ["run", "--db", sqlite_url(path), "--duration", "0", *FAST_SIM],
        ["record", "--exchange", "sim", "--db", sqlite_url(path), "--duration", "1"],
    ):
        result = kf(args, tmp_path)
        assert result.returncode == 2, (args, result.stderr[-2000:])
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr[-2000:])
        assert "revision 'f00dfacef00d'" in lines[0]
        assert args[0] == "status" or "does not know" in lines[0]
    engine = db.open_engine(sqlite_url(path))
    assert db.current_revision(engine) == "f00dfacef00d"
    engine.dispose()


def test_status_reads_a_store_and_never_creates_or_upgrades_its_schema(tmp_path: Path) -> None:
    """status is a reader: a database no trader wrote is "never ran" and stays without tables, and
    a store at an older revision (a trader of the older version may be running on it) is named in
    one line, exit 2, and left at its revision -- not migrated under that trader."""
    empty = tmp_path / "empty.db"
    engine = db.open_engine(sqlite_url(empty))
    engine.dispose()
    result = kf(["status", "--db", sqlite_url(empty)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "never ran" in result.stdout
    engine = db.open_engine(sqlite_url(empty))
    assert db.current_revision(engine) is None
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0
    engine.dispose()

    older = tmp_path / "older.db"
    engine = db.open_engine(sqlite_url(older))
    db.migrate(engine, "0003")
    engine.dispose()
    result = kf(["status", "--db", sqlite_url(older)], tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "revision '0003'" in result.stderr
    assert "never migrates" in result.stderr
    engine = db.open_engine(sqlite_url(older))
    assert db.current_revision(engine) == "0003"
    engine.dispose()


def test_status_after_a_failed_startup_says_why_with_the_commands_exit_code(tmp_path: Path) -> None:
    """A run stopped by a usage error found at startup (a ticker the exchange does not list) exits 2;
    status said "exit code 1" with a last state of "initializing (starting)"."""
    db = sqlite_url(tmp_path / "trader.db")
    result = kf(["run", "--db", db, *FAST_SIM, "--markets", "NOPE-1"], tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    snapshot = json.loads(kf(["status", "--db", db, "--json"], tmp_path).stdout)
    assert snapshot["run"]["state"] == "stopped"
    assert snapshot["run"]["exit_code"] == 2
    assert snapshot["status"]["status"] == "stopped"
    assert snapshot["status"]["result"].startswith("startup failed: NOPE-1: not listed")


def _stopped_run(started_ms: int, stopped_ms: int) -> StoredRun:
    return StoredRun(1, 4242, "host", started_ms, stopped_ms, stopped_ms, 0)


def _snapshot(run: StoredRun, history_ts_ms: int) -> dict[str, Any]:
    return {
        "run": {
            "state": "stopped",
            "pid": run.pid,
            "started_ms": run.started_ms,
            "heartbeat_ms": run.heartbeat_ms,
            "stopped_ms": run.stopped_ms,
            "exit_code": 0,
            "clock": "wall clock",
        },
        "status": {
            "status": "stopped",
            "result": "stopped by operator",
            "ts_ms": history_ts_ms,
            "clock": "trader clock",
            "trader_clock_ahead_of_wall": trader_clock_ahead(run, history_ts_ms),
        },
        "cash": "$10,000.00",
        "positions": [],
        "resting_orders": [],
        "last_calibration": None,
    }


def test_status_names_the_clock_of_each_stamp_after_a_sped_up_run() -> None:
    # --speed 20 for 10 wall minutes: the history's stop stamp is 200 minutes after the start.
    started_ms = 1_790_000_000_000
    run = _stopped_run(started_ms, started_ms + 10 * 60_000)
    text = format_status(_snapshot(run, started_ms + 200 * 60_000))
    assert "trader (wall clock): stopped at 2026-09-21 14:23:20 UTC" in text
    assert "last state (trader clock): stopped at 2026-09-21 17:33:20 UTC" in text
    assert "ran ahead of the wall clock" in text


def test_status_at_wall_speed_names_the_clocks_without_a_lead() -> None:
    started_ms = 1_790_000_000_000
    run = _stopped_run(started_ms, started_ms + 10 * 60_000)
    text = format_status(_snapshot(run, started_ms + 10 * 60_000 - 5))
    assert "(wall clock)" in text
    assert "(trader clock)" in text
    assert "ahead" not in text


def test_trader_clock_lead_is_judged_against_the_last_wall_stamp() -> None:
    crashed = StoredRun(1, 4242, "host", 0, 60_000, None, None)
    assert not trader_clock_ahead(crashed, 60_000 + 10_000)  # within heartbeat slack
    assert trader_clock_ahead(crashed, 60_000 + 60_000)
    assert not trader_clock_ahead(None, 60_000)
    assert not trader_clock_ahead(crashed, None)


def test_status_says_what_positions_and_resting_orders_are_in() -> None:
    """``-1.00  cost $0.14`` and ``bid 1.00 @ 0.8000``: a new user could not tell a NO position from
    a short, or the price's unit; each line now says contracts, the side held and the dollar price."""
    started_ms = 1_790_000_000_000
    snapshot = _snapshot(_stopped_run(started_ms, started_ms + 60_000), started_ms + 60_000)
    snapshot["positions"] = [
        {"ticker": "KX-A", "position_fp": "-3.00", "cost_basis_dollars": "1.2000"},
        {"ticker": "KX-B", "position_fp": "2.00", "cost_basis_dollars": "0.8800"},
    ]
    snapshot["resting_orders"] = [
        {
            "ticker": "KX-B",
            "side": "ask",
            "remaining_fp": "1.00",
            "yes_price_dollars": "0.4500",
            "state": "resting",
        }
    ]
    text = format_status(snapshot)
    assert "  KX-A  -3.00 (3.00 contracts NO)  cost $1.20" in text
    assert "  KX-B  2.00 (2.00 contracts YES)  cost $0.88" in text
    assert "  KX-B  ask 1.00 contracts @ $0.4500 (YES price)  resting" in text


def test_status_of_a_recording_database_lists_its_sessions(tmp_path: Path) -> None:
    """After ``record --db FILE``, ``status --db FILE`` said only "never ran" and "cash: unknown": the
    sessions the file holds (what ``backtest --sessions FILE#ID`` needs) were nowhere to be seen."""
    with recorded_session("sqlite", str(tmp_path), minutes=1.0) as rec:
        result = kf(["status", "--db", rec.url], tmp_path)
        assert result.returncode == 0, result.stderr
        assert "recorded sessions: 1" in result.stdout, result.stdout
        [line] = [line for line in result.stdout.splitlines() if line.strip().startswith("session ")]
        assert line.strip().startswith(f"session {rec.session_id}  sim  4 markets  from "), line
        assert "ended" in line, line
        snapshot = json.loads(kf(["status", "--db", rec.url, "--json"], tmp_path).stdout)
        [session] = snapshot["recordings"]
        assert session["session_id"] == rec.session_id
        assert session["markets"] == 4


def test_status_says_since_when_the_trader_has_been_trading() -> None:
    """The last entry of a trading run is a calibration's end every minute: "trading at T" read as
    if it had just begun. The start of the stretch of trading is said, with the last entry."""
    started_ms = 1_790_000_000_000
    run = _stopped_run(started_ms, started_ms + 60 * 60_000)
    snapshot = _snapshot(run, started_ms + 30 * 60_000)
    snapshot["status"].update(status="trading", result="calibration ok", since_ms=started_ms + 60_000)
    text = format_status(snapshot)
    assert (
        "last state (trader clock): trading since 2026-09-21 14:14:20 UTC;"
        " last entry at 2026-09-21 14:43:20 UTC (calibration ok)"
    ) in text
