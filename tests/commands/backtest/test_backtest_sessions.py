"""``kalshiflow backtest --sessions``: the same runs over a recorded session (made by the ``record``
library path from the in-process simulator, into tmp_path), the report, bad paths, determinism."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from tests.store.store_kit import BACKENDS
from tests.train.recorded_kit import Recorded, recorded_session
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.commands.backtest.recorded import (
    FILL_MODEL_NOTES,
    RecordedBacktestSession,
    parse_sessions,
)
from kalshiflow.commands.backtest.runner import BacktestUsageError
from kalshiflow.commands.backtest.session import FillRecord, RunRecord
from kalshiflow.config import Settings
from kalshiflow.store import db
from kalshiflow.train.venue import TRADER_ACCOUNT


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    with recorded_session("sqlite", str(tmp_path_factory.mktemp("rec"))) as rec:
        yield rec


def _sqlite_file(rec: Recorded) -> str:
    return rec.url.removeprefix("sqlite:///")


def test_backtest_over_a_recorded_session_writes_its_report(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "bt"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "--policy",
            "hold,rules",
            "--sessions",
            _sqlite_file(recorded),
            "--jobs",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "hold" in result.output
    assert "rules" in result.output
    assert "marked to the last mid" in result.output
    for name in ("report.json", "report.html", "equity.png", "markouts.png", "fill_model.txt"):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "report.json").read_text())
    assert "recorded sessions" in report["title"]
    assert [p["policy"] for p in report["policies"]] == ["hold", "rules"]
    assert report["policies"][0]["pnl_dollars"] == [0.0]  # hold: one session, no trade
    page = (out / "report.html").read_text()
    assert "recorded sessions" in page
    assert "fill model assumptions" in page
    assert (out / "fill_model.txt").read_text().count("\n") == len(FILL_MODEL_NOTES)


@pytest.mark.parametrize(
    "args",
    [
        ["--sessions", "{tmp}/missing.db"],
        ["--sessions", "{tmp}/not-a-db.txt"],
        ["--sessions", "{file}#99"],
        ["--sessions", "{file}", "--session-ids", "x"],
        ["--session-ids", "1"],
    ],
)
def test_a_bad_sessions_path_is_one_line_and_exit_2(
    recorded: Recorded, tmp_path: Path, args: list[str]
) -> None:
    (tmp_path / "not-a-db.txt").write_text("hello\n")
    argv = [a.format(tmp=tmp_path, file=_sqlite_file(recorded)) for a in args]
    result = CliRunner().invoke(app, ["backtest", "--policy", "hold", *argv])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "--session" in result.output


@pytest.mark.parametrize(
    ("selection", "session_ids", "named"),
    [("#99", None, "--sessions {file}#99"), ("#x", None, "--sessions {file}#x"), ("", "99", "--session-ids")],
)
def test_a_bad_session_selection_names_the_flag_it_came_from(
    recorded: Recorded, selection: str, session_ids: str | None, named: str
) -> None:
    """``--sessions PATH#7`` selects with the fragment: an error about it names ``--sessions``, not
    ``--session-ids``, which the user never typed."""
    file = _sqlite_file(recorded)
    with pytest.raises(BacktestUsageError) as raised:
        parse_sessions(file + selection, session_ids)
    message = str(raised.value)
    assert message.startswith(named.format(file=file) + ":"), message
    if session_ids is None:
        assert "--session-ids" not in message


def test_an_unknown_session_id_names_the_sessions_there_are(recorded: Recorded) -> None:
    """ "no session 9 in FILE" left the user guessing which ids the recording holds: it names them."""
    file = _sqlite_file(recorded)
    with pytest.raises(BacktestUsageError) as raised:
        parse_sessions(file, "99")
    assert str(raised.value).endswith(f"(it holds session {recorded.session_id})"), str(raised.value)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["backtest", "--hours", "0.5"], "--hours"),
        (["backtest", "--seeds", "1-2", "--markets", "3"], "--seeds, --markets"),
        (["train", "--out", "{tmp}/model", "--markets", "3"], "--markets"),
    ],
)
def test_simulator_flags_with_sessions_are_refused_not_ignored(
    recorded: Recorded, tmp_path: Path, args: list[str], named: str
) -> None:
    """``--hours 0.5`` does not shorten a replay (a session is replayed whole): typed with
    ``--sessions`` it is a usage error naming it, before any run, rather than silently dropped."""
    out = tmp_path / "bt"
    argv = [a.format(tmp=tmp_path) for a in args]
    result = CliRunner().invoke(app, [*argv, "--sessions", _sqlite_file(recorded), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {named}: "), result.output
    assert "not used with --sessions" in result.output
    assert not out.exists()


def test_a_missing_sqlite_url_is_reported_and_not_created(tmp_path: Path) -> None:
    """``--sessions sqlite:///typo.db`` names the missing file, as a plain path does, and leaves no
    empty database behind (SQLite creates the file it is asked to open)."""
    missing = tmp_path / "typo.db"
    for path in (f"sqlite:///{missing}", f"sqlite:///{missing}#1"):
        with pytest.raises(BacktestUsageError, match="no such file"):
            parse_sessions(path)
    assert not missing.exists()
    result = CliRunner().invoke(
        app, ["train", "--out", str(tmp_path / "m"), "--sessions", f"sqlite:///{missing}"]
    )
    assert result.exit_code == 2, result.output
    assert "no such file" in result.output
    assert not missing.exists()


def test_a_database_without_recordings_is_a_usage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"
    (tmp_path / "empty.db").touch()
    with pytest.raises(BacktestUsageError, match="not a recording database"):
        parse_sessions(url)
    engine = db.open_engine(url)
    db.migrate(engine)
    engine.dispose()
    with pytest.raises(BacktestUsageError, match="no recorded session"):
        parse_sessions(url)


def _run(rec: Recorded, spec: str) -> tuple[RunRecord, RecordedBacktestSession]:
    source = parse_sessions(rec.url)
    ((session_id, duration_ms),) = source.sessions
    session = RecordedBacktestSession(spec, source.url, session_id, duration_ms, Settings())
    return asyncio.run(session.run()), session


def _comparable(record: RunRecord) -> list[FillRecord]:
    return [replace(f, client_order_id=None) for f in record.fills]


@pytest.fixture(params=BACKENDS)
def recorded_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Recorded]:
    with recorded_session(request.param, str(tmp_path)) as rec:
        yield rec


def test_same_recording_same_result_through_the_real_trader_core(recorded_any: Recorded) -> None:
    first, session = _run(recorded_any, "random")
    second, _ = _run(recorded_any, "random")
    assert first.fills  # the random policy traded: orders, fills and fees through the core
    assert first.fees_paid > 0
    assert _comparable(first) == _comparable(second)  # client order ids are random uuids
    assert first.equity == second.equity
    assert first.end_equity == second.end_equity
    assert first.exit_reasons == second.exit_reasons
    # The trader's ledger equals the exchange's account: cash and every position, to the unit.
    core, venue = session.core, session.venue
    assert core is not None
    assert venue is not None
    account = venue.engine.accounts[TRADER_ACCOUNT]
    assert int(core.ledger.cash) == account.balance
    for ticker, position in account.positions.items():
        held = core.ledger.positions.get(ticker)
        assert (int(held.position) if held is not None else 0) == position.position
    assert sum(int(f.fee) for f in first.fills) == int(first.fees_paid)
