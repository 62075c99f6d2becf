"""Alembic environment: migrate the engine that ``kalshiflow.store.db.migrate`` hands over.

There is no ``alembic.ini`` and no URL in here on purpose: the database is whatever ``--db`` named,
opened by ``store.db.open_engine`` (so SQLite gets its pragmas and PostgreSQL its psycopg driver).
Only online migrations are supported; offline SQL generation has no user.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine

import kalshiflow.store.trader_models  # noqa: F401  (registers the trader tables on Base.metadata)
from kalshiflow.store.models import Base


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("run migrations through kalshiflow.store.db.migrate(engine)")
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":  # PostgreSQL: every step in one transaction
            _configure(connection, sqlite=False)
            with context.begin_transaction():
                context.run_migrations()
            return
        # pysqlite opens a transaction only before INSERT/UPDATE/DELETE, and Alembic commits each
        # step on a backend it does not take for transactional: a CREATE committed on its own, and
        # an upgrade that failed half way left the file half upgraded. Here the driver's transaction
        # handling is off and one explicit BEGIN covers every step (SQLite's DDL is transactional).
        driver = connection.connection.driver_connection
        previous = driver.isolation_level  # type: ignore[union-attr]
        driver.isolation_level = None  # type: ignore[union-attr]
        try:
            with connection.begin():
                connection.exec_driver_sql("BEGIN")
                _configure(connection, sqlite=True)  # inside the transaction: Alembic adds none
                context.run_migrations()
        finally:
            driver.isolation_level = previous  # type: ignore[union-attr]


def _configure(connection: Connection, *, sqlite: bool) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=sqlite,  # SQLite cannot ALTER most things
        compare_type=True,
    )


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
