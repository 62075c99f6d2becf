"""The batched writer under failure: a refused chunk is retried in a fresh transaction, and a chunk
that keeps failing is given up and counted -- flush() still returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from kalshiflow.store import db
from kalshiflow.store.batch_writer import BatchWriter


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.open_engine(f"sqlite:///{tmp_path}/writer.db")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE items (n INTEGER PRIMARY KEY)"))
    yield engine
    engine.dispose()


def _stored(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [int(n) for n in connection.execute(text("SELECT n FROM items ORDER BY n")).scalars()]


def test_a_refused_chunk_is_retried_and_rolled_back_between_attempts(sqlite_engine: Engine) -> None:
    attempts: list[int] = []

    def write(connection: Connection, chunk: list[int]) -> None:
        connection.execute(text("INSERT INTO items (n) VALUES (:n)"), [{"n": n} for n in chunk])
        attempts.append(len(chunk))
        if len(attempts) == 1:
            raise RuntimeError("database went away")

    writer: BatchWriter[int] = BatchWriter(sqlite_engine, write, name="test_writer", flush_interval_s=0.01)
    for n in range(5):
        assert writer.put(n)
    assert writer.flush(10)
    metrics = writer.close()
    assert _stored(sqlite_engine) == [0, 1, 2, 3, 4]  # once each: the failed attempt rolled back
    assert (metrics.write_errors, metrics.items_written, metrics.items_write_failed) == (1, 5, 0)


def test_a_chunk_that_keeps_failing_is_given_up_and_counted(sqlite_engine: Engine) -> None:
    def write(connection: Connection, chunk: list[int]) -> None:
        raise RuntimeError("disk full")

    writer: BatchWriter[int] = BatchWriter(
        sqlite_engine, write, name="test_writer", flush_interval_s=0.01, max_attempts=2
    )
    writer.put(1)
    assert writer.flush(10)
    metrics = writer.close()
    assert (metrics.write_errors, metrics.items_written, metrics.items_write_failed) == (2, 0, 1)
    assert writer.put(2) is False  # closed: refused and counted
    assert writer.metrics().items_dropped == 1
