"""Opening the ``--db`` database and migrating its schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import kalshiflow
import kalshiflow.store.trader_models
from kalshiflow.store import db
from kalshiflow.store.models import Base

RECORDING_TABLES = {"recording_sessions", "book_snapshots", "book_deltas", "recording_gaps"}


def test_migrations_create_the_schema_on_an_empty_database(db_url: str) -> None:
    engine = db.open_engine(db_url)
    try:
        assert db.current_revision(engine) is None
        assert not RECORDING_TABLES & set(inspect(engine).get_table_names())
        db.migrate(engine)
        assert set(inspect(engine).get_table_names()) >= RECORDING_TABLES
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def _columns(engine: Engine) -> dict[str, list[tuple[str, str, bool]]]:
    inspector = inspect(engine)
    return {
        table: [(col["name"], str(col["type"]), col["nullable"]) for col in inspector.get_columns(table)]
        for table in sorted(RECORDING_TABLES)
    }


def test_migrating_again_changes_nothing(engine: Engine) -> None:
    before = _columns(engine)
    db.migrate(engine)
    db.migrate(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert _columns(engine) == before


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_removes_the_recording_tables(engine: Engine) -> None:
    from alembic import command

    command.downgrade(db.alembic_config(engine), "base")
    assert not RECORDING_TABLES & set(inspect(engine).get_table_names())
    db.migrate(engine)
    assert set(inspect(engine).get_table_names()) >= RECORDING_TABLES


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = db.open_engine(f"sqlite:///{tmp_path}/wal.db")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_migrations_ship_inside_the_package() -> None:
    package_dir = Path(kalshiflow.__file__).resolve().parent
    assert db.MIGRATIONS_DIR.is_relative_to(package_dir)
    assert (db.MIGRATIONS_DIR / "env.py").is_file()
    assert (db.MIGRATIONS_DIR / "versions" / "0001_recordings.py").is_file()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://user@localhost/kalshiflow",
        "postgresql+psycopg2://user@localhost/kalshiflow",
        "sqlite://",
        "sqlite:///:memory:",
        "not a url",
    ],
)
def test_unsupported_url_is_refused_naming_the_db_setting(url: str) -> None:
    with pytest.raises(db.DatabaseConfigError, match="--db"):
        db.open_engine(url)


def test_unreachable_sqlite_file_names_the_db_setting(tmp_path: Path) -> None:
    with pytest.raises(db.DatabaseUnavailableError, match=r"--db sqlite:///.*missing-dir"):
        db.open_engine(f"sqlite:///{tmp_path}/missing-dir/kalshiflow.db")


def test_unreachable_postgres_names_the_db_setting_and_hides_the_password() -> None:
    # Port 1 on loopback refuses at once: no timeout to wait for.
    url = "postgresql://trader:s3cret@127.0.0.1:1/kalshiflow?connect_timeout=2"
    with pytest.raises(db.DatabaseUnavailableError, match="--db") as raised:
        db.open_engine(url)
    assert "s3cret" not in str(raised.value)
    assert "***" in str(raised.value)


def test_plain_postgresql_url_uses_psycopg() -> None:
    assert db.normalize_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert db.normalize_url("postgres://u@h/d").drivername == "postgresql+psycopg"
    assert db.normalize_url("sqlite:///x.db").drivername == "sqlite"
