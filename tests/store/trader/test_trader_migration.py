"""Migration 0002 (trader journal) on SQLite and PostgreSQL: on an empty database, on top of 0001
with recordings in it, again and again, and down and up."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, insert, inspect, select

from kalshiflow.store import db, trader_models
from kalshiflow.store.models import Base, RecordingSession

TRADER_TABLES = {
    "trader_orders",
    "trader_order_events",
    "trader_fills",
    "trader_position_snapshots",
    "trader_cash",
    "trader_settlements",
    "calibration_reports",
    "drift_events",
    "trader_status_history",
}
RECORDING_TABLES = {"recording_sessions", "book_snapshots", "book_deltas", "recording_gaps"}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _schema(engine: Engine) -> dict[str, object]:
    inspector = inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted(str(ix["name"]) for ix in inspector.get_indexes(table)),
            inspector.get_pk_constraint(table)["constrained_columns"],
            [fk["referred_table"] for fk in inspector.get_foreign_keys(table)],
        )
        for table in sorted(TRADER_TABLES)
    }


def test_0002_applies_on_an_empty_database(db_url: str) -> None:
    engine = db.open_engine(db_url)
    try:
        assert db.current_revision(engine) is None
        db.migrate(engine)
        assert _tables(engine) >= TRADER_TABLES | RECORDING_TABLES
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()


def test_0002_applies_on_top_of_0001_and_keeps_recordings(db_url: str) -> None:
    engine = db.open_engine(db_url)
    try:
        db.migrate(engine, "0001")
        assert not TRADER_TABLES & _tables(engine)
        with engine.begin() as connection:
            connection.execute(
                insert(RecordingSession).values(
                    started_at_ms=1,
                    exchange="sim",
                    source_url="http://sim",
                    markets=["KXTEST"],
                    status="ended",
                    messages_seen=0,
                    messages_dropped=0,
                )
            )
        db.migrate(engine)
        assert db.current_revision(engine) == db.head_revision()
        assert _tables(engine) >= TRADER_TABLES
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(RecordingSession)).scalar_one() == 1
    finally:
        engine.dispose()


def test_migrating_again_changes_nothing(engine: Engine) -> None:
    before = _schema(engine)
    db.migrate(engine)
    db.migrate(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert _schema(engine) == before


def test_downgrade_to_0001_drops_only_the_trader_tables_and_upgrade_restores_them(engine: Engine) -> None:
    before = _schema(engine)
    command.downgrade(db.alembic_config(engine), "0001")
    assert db.current_revision(engine) == "0001"
    assert not TRADER_TABLES & _tables(engine)
    assert _tables(engine) >= RECORDING_TABLES
    db.migrate(engine)
    assert _schema(engine) == before
    command.downgrade(db.alembic_config(engine), "base")
    assert not (TRADER_TABLES | RECORDING_TABLES) & _tables(engine)


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert trader_models.TraderOrderRow.__tablename__ in Base.metadata.tables
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
