"""``TraderStore`` (opened by ``run``) upgrades a database an older kalshiflow wrote: the log says
from which revision to which; an upgrade that fails leaves the database as it was, and the error
is one line naming ``--db`` (it was a driver traceback, with the SQLite file half upgraded)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, inspect, text

from kalshiflow.clock import ManualClock
from kalshiflow.store import db
from kalshiflow.store.trader_repo import TraderStore

OLDER = "0002"  # before recording_markets (0003) and trader_runs (0004)


def at_older_revision(db_url: str) -> Engine:
    engine = db.open_engine(db_url)
    db.migrate(engine, OLDER)
    return engine


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_an_older_database_is_upgraded_and_the_log_says_from_which_revision(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = at_older_revision(db_url)
    engine.dispose()
    with caplog.at_level(logging.INFO, logger="kalshiflow.store.db"):
        store = TraderStore(db_url, ManualClock())
    try:
        assert db.current_revision(store.engine) == db.head_revision()
    finally:
        store.close()
    [line] = [r.getMessage() for r in caplog.records if "upgraded" in r.getMessage()]
    assert f"from revision {OLDER} to {db.head_revision()}" in line, line
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="kalshiflow.store.db"):
        TraderStore(db_url, ManualClock()).close()
    assert not [r for r in caplog.records if "upgraded" in r.getMessage()], "nothing to say at head"


def test_a_failed_upgrade_leaves_the_database_as_it_was_with_a_one_line_error(db_url: str) -> None:
    engine = at_older_revision(db_url)
    try:
        with engine.begin() as connection:  # 0003 would succeed, then 0004 cannot create its table
            connection.execute(text("CREATE TABLE trader_runs (id INTEGER PRIMARY KEY)"))
        before = tables(engine)
        with pytest.raises(db.DatabaseUnavailableError) as raised:
            TraderStore(db_url, ManualClock())
        message = str(raised.value)
        assert "\n" not in message
        assert message.startswith("--db "), message
        assert f"upgrading the schema from revision {OLDER} to {db.head_revision()} failed" in message
        assert "left as it was" in message
        assert db.current_revision(engine) == OLDER
        assert tables(engine) == before, "no step of the upgrade stayed (recording_markets of 0003)"
    finally:
        engine.dispose()
