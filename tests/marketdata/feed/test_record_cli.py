"""``kalshiflow record``: a real run against the embedded simulator, and settings errors that exit 2
with one line naming the setting, before any network connection is attempted."""

from __future__ import annotations

import io
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console
from tests.paths import REPO
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.commands.record import RecordOptions, RecordUsageError, run_record
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.replay import RecordedMarket, ReplayReader, list_sessions
from kalshiflow.store.models import SessionStatus

CONNECTION_VARS = ("KALSHIFLOW_EXCHANGE", "KALSHIFLOW_URL", "KALSHIFLOW_KEY_ID", "KALSHIFLOW_KEY_FILE")


def _command() -> list[str]:
    script = Path(sys.executable).parent / "kalshiflow"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from kalshiflow.cli import app; app()"]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*CONNECTION_VARS, "KALSHI_PRIVATE_KEY")}
    env["PYTHONPATH"] = str(REPO / "src")
    env.update(extra)
    return env


def _record(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``kalshiflow record ARGS`` in a subprocess, in ``cwd`` (its default data directory there)."""
    command = [*_command(), "record", *args]
    return subprocess.run(command, capture_output=True, text=True, env=_clean_env(**env), cwd=cwd, timeout=60)


def test_record_against_the_embedded_simulator_exits_zero_with_progress_and_a_session(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/r.db"
    proc = _record(tmp_path, "--exchange", "sim", "--top", "3", "--duration", "3", "--db", db_url)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "msg/s" in proc.stdout, proc.stdout
    assert "recording 3 markets" in proc.stdout
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("session 1 "), summary
    for field in ("messages", "rows", "gaps", "duration"):
        assert field in summary
    (session,) = list_sessions(db_url)
    assert session.status is SessionStatus.ENDED
    assert len(session.markets) == 3
    with ReplayReader(db_url, session.id) as reader:
        items = list(reader)
    messages = [item for item in items if isinstance(item, OrderbookSnapshot | OrderbookDelta)]
    assert len(messages) == session.messages_seen >= 3  # at least one snapshot per market
    assert {item.ticker for item in messages} == set(session.markets)
    markets = [item for item in items if isinstance(item, RecordedMarket)]
    assert sorted(item.ticker for item in markets) == sorted(session.markets)
    assert all(item.seq_no == 0 for item in markets)  # registered before the subscription
    assert not (tmp_path / ".kalshiflow-sim").exists(), "the embedded simulator's key lives in a temp dir"


def test_ctrl_c_flushes_the_session_and_exits_zero(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/r.db"
    proc = subprocess.Popen(
        [*_command(), "record", "--top", "2", "--db", db_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        seen: list[str] = []
        while not any("msg/s" in line for line in seen):
            try:
                seen.append(lines.get(timeout=30))
            except queue.Empty:
                pytest.fail(f"no progress line within 30 s; got {seen!r}")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (session,) = list_sessions(db_url)
    assert session.status is SessionStatus.ENDED
    assert session.messages_seen >= 2


def test_no_named_ticker_left_exits_2_with_one_line_before_recording(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/r.db"
    proc = _record(tmp_path, "--markets", "NOPE-1,NOPE-2", "--duration", "30", "--db", db_url, COLUMNS="300")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "NOPE-1" in lines[0], lines
    assert "NOPE-2" in lines[0], lines
    assert "Traceback" not in proc.stderr
    assert "recording" not in proc.stdout
    assert list_sessions(db_url) == [], "nothing is recorded when no market is left"


def test_filters_that_leave_no_market_are_named(tmp_path: Path) -> None:
    """``--series NOPE``: the error names the filter the user typed, not only 'no open market'."""
    db_url = f"sqlite:///{tmp_path}/r.db"
    proc = _record(
        tmp_path, "--series", "NOPE", "--event", "NOPE-E", "--duration", "30", "--db", db_url, COLUMNS="300"
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: nothing to record: no open market on the exchange at "), line
    assert line.endswith(" matches --series NOPE and --event NOPE-E"), line
    assert list_sessions(db_url) == []


def test_an_unknown_ticker_beside_others_is_warned_about_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite:///{tmp_path}/r.db"
    options = RecordOptions(
        exchange="sim", markets=("NOPE-1",), series=("KXBTCD",), top=1, db_url=db_url, duration_s=1
    )
    summary = run_record(options, Console(file=io.StringIO()), environ={})
    assert summary.markets == 1
    assert "warning: --markets NOPE-1: not listed" in capsys.readouterr().err
    (session,) = list_sessions(db_url)
    assert "NOPE-1" not in session.markets


def test_demo_without_a_key_is_a_usage_error_in_a_subprocess(tmp_path: Path) -> None:
    proc = _record(tmp_path, "--exchange", "demo", "--db", f"sqlite:///{tmp_path}/r.db")
    assert proc.returncode == 2
    assert "--key-id" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "r.db").exists(), "settings are checked before anything is opened"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name lookup or outgoing connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    for name in (*CONNECTION_VARS, "KALSHI_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--exchange", "demo"], "--key-id"),
        (["--exchange", "prod", "--key-id", "abc"], "--key-file"),
        (["--exchange", "demo", "--key-id", "abc", "--key-file", "/nonexistent/key.pem"], "--key-file"),
        (["--exchange", "bogus"], "--exchange"),
        (["--exchange", "demo", "--url", "https://example.com"], "--url"),
        (["--exchange", "sim", "--url", "ftp://127.0.0.1"], "--url"),
        (["--duration", "0"], "--duration"),
        (["--top", "0"], "--top"),
        (["--db", "mysql://localhost/x"], "--db"),
    ],
)
def test_bad_settings_exit_2_with_one_line_naming_the_setting(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["record", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


@pytest.mark.usefixtures("no_network")
def test_db_defaults_to_kalshiflow_db_and_an_error_names_the_variable() -> None:
    console = Console(file=io.StringIO())
    with pytest.raises(RecordUsageError, match=r"--db .*mysql.*\(taken from KALSHIFLOW_DB\)"):
        run_record(RecordOptions(exchange="sim"), console, environ={"KALSHIFLOW_DB": "mysql://localhost/x"})
    # The flag wins over the variable, and its error does not blame the variable.
    with pytest.raises(RecordUsageError, match="--db") as raised:
        run_record(
            RecordOptions(exchange="sim", db_url="sqlite://"),
            console,
            environ={"KALSHIFLOW_DB": "mysql://localhost/x"},
        )
    assert "KALSHIFLOW_DB" not in str(raised.value)
    assert "in-memory" in str(raised.value)


def test_out_of_range_flag_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["record", "--top", "-1"])
    assert result.exit_code == 2
    assert "--top" in result.output
