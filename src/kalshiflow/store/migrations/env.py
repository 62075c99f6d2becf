"""Alembic environment: migrate the engine that ``kalshiflow.store.db.migrate`` hands over.

There is no ``alembic.ini`` and no URL in here on purpose: the database is whatever ``--db`` named,
opened by ``store.db.open_engine`` (so SQLite gets its pragmas and PostgreSQL its psycopg driver).
Only online migrations are supported; offline SQL generation has no user.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import kalshiflow.store.trader_models  # noqa: F401  (registers the trader tables on Base.metadata)
from kalshiflow.store.models import Base


def run_migrations_online() -> None:
    engine = context.config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("run migrations through kalshiflow.store.db.migrate(engine)")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
