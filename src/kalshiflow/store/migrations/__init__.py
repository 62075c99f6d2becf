"""Alembic migrations of the kalshiflow store; run them with ``kalshiflow.store.db.migrate``."""
