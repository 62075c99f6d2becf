"""Fixtures for the trader-store tests: every test that asks for ``db_url`` runs once per backend
(SQLite always, PostgreSQL when ``KALSHIFLOW_TEST_PG_URL`` is set), each on an empty database of its
own; the helpers are the recorder tests' (tests/store/store_kit.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.store.store_kit import BACKENDS, START_MS, fresh_database_url

from kalshiflow.clock import ManualClock
from kalshiflow.store import db


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(request.param, str(tmp_path)) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test database with the schema migrated to head."""
    opened = db.open_engine(db_url)
    try:
        db.migrate(opened)
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)
