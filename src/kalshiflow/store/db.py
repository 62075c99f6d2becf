"""Open the database named by the ``--db`` setting and bring its schema to the newest migration.

Everything the trader persists (recordings now; orders, fills, positions, calibration reports and
drift events later) lives in one SQLAlchemy database chosen by URL:

* ``sqlite:///path/to/file.db`` (the default: ``KALSHIFLOW_DB`` when set, else
  ``sqlite:///kalshiflow.db``; see ``default_db_url``) -- opened in WAL mode with
  ``synchronous=NORMAL`` and foreign keys on, so the recorder's writer thread and a replay reader
  can work at the same time and a commit costs no fsync of the main file;
* ``postgresql://...`` or ``postgresql+psycopg://...`` -- always through psycopg 3.

The schema is owned by Alembic migrations shipped inside this package (``store/migrations``); the
Alembic configuration is built here in code, so no ``alembic.ini`` is needed at run time. A bad or
unreachable URL fails at startup with a message that names the ``--db`` setting instead of a driver
traceback deep inside the first write.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicCommandError
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

log = logging.getLogger(__name__)

DEFAULT_DB_URL: Final = "sqlite:///kalshiflow.db"
SETTING_NAME: Final = "--db"  # how the operator names the database (CLI flag / KALSHIFLOW_DB)
DB_ENV: Final = "KALSHIFLOW_DB"  # the variable that sets the default of --db
MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
PG_CONNECT_TIMEOUT_S: Final = 10
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000  # a reader's checkpoint may briefly hold the write lock


class DatabaseConfigError(ValueError):
    """The ``--db`` URL names a backend or form this store does not support."""


class DatabaseUnavailableError(RuntimeError):
    """The ``--db`` URL is well formed but the database cannot be opened or reached."""


def default_db_url(environ: Mapping[str, str]) -> str:
    """The ``--db`` URL when no flag names one: ``KALSHIFLOW_DB`` of ``environ`` (the variables the
    composition layer read) if set and not blank, else ``DEFAULT_DB_URL``; the URL is not checked."""
    return environ.get(DB_ENV, "").strip() or DEFAULT_DB_URL


def redact_url(url: str | URL) -> str:
    """The URL as it may appear in logs and errors: the password is replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pin the driver: ``sqlite`` (pysqlite) or ``postgresql+psycopg``.

    An in-memory SQLite database is refused: every connection would see its own empty database, so
    the recorder's writer thread would write where no reader can look.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseConfigError(
            f"{SETTING_NAME} {url!r} is not a database URL; use e.g. {DEFAULT_DB_URL} or "
            "postgresql+psycopg://user@host:5432/dbname"
        ) from exc
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if parsed.database in (None, "", ":memory:") or (parsed.query.get("mode") == "memory"):
            raise DatabaseConfigError(
                f"{SETTING_NAME} {redact_url(parsed)} is an in-memory SQLite database; "
                f"use a file URL such as {DEFAULT_DB_URL}"
            )
        return parsed.set(drivername="sqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise DatabaseConfigError(
        f"{SETTING_NAME} {redact_url(parsed)} uses {parsed.drivername!r}; supported are sqlite:///FILE "
        "and postgresql+psycopg://... (psycopg 3)"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # Per connection, before SQLAlchemy's first BEGIN: journal_mode is persistent in the file, the
    # others are not, so every pooled connection sets them again.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def open_engine(url: str | URL = DEFAULT_DB_URL, *, check: bool = True, **engine_kwargs: Any) -> Engine:
    """Create the engine for ``url`` and, with ``check``, prove it answers by opening a connection.

    ``engine_kwargs`` go to ``sqlalchemy.create_engine`` (tests pass ``connect_args`` to pin a
    PostgreSQL ``search_path``). Raises ``DatabaseConfigError`` for an unsupported URL and
    ``DatabaseUnavailableError`` when the database cannot be reached; both name ``--db``.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        # Without it an unreachable host hangs startup for the OS's TCP timeout (minutes).
        connect_args = dict(engine_kwargs.pop("connect_args", {}))
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        engine_kwargs["connect_args"] = connect_args
    try:
        engine = create_engine(parsed, **engine_kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseConfigError(
            f"{SETTING_NAME} {redact_url(parsed)} needs a driver that is not installed "
            "(for PostgreSQL: pip install 'kalshiflow[postgres]')"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if check:
        try:
            with engine.connect():
                pass
        except SQLAlchemyError as exc:
            engine.dispose()
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise DatabaseUnavailableError(
                f"cannot open the database {SETTING_NAME} {redact_url(parsed)}: {reason}"
            ) from exc
    return engine


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic's configuration built in code; ``env.py`` takes the engine from ``attributes``.

    Without an engine the config still serves to inspect the scripts (heads, history).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (default: the newest). Safe to run on every start.

    A database at a revision these migrations do not know (written by a newer kalshiflow, or by
    another branch) raises ``DatabaseUnavailableError`` naming ``--db`` -- not Alembic's traceback.
    An upgrade from an older revision says so in the log (from which revision to which). One that
    fails leaves the database as it was (every step runs in one transaction; see ``migrations/env.py``)
    and raises ``DatabaseUnavailableError``: one line naming ``--db``, both revisions and the reason.
    """
    current = current_revision(engine)
    if current is not None:
        try:
            ScriptDirectory.from_config(alembic_config()).get_revision(current)
        except AlembicCommandError:
            raise DatabaseUnavailableError(
                f"{SETTING_NAME} {redact_url(engine.url)}: its schema is at revision {current!r}, which "
                "this version of kalshiflow does not know (written by a newer one?); upgrade kalshiflow "
                "or use another database"
            ) from None
    target = head_revision() if revision == "head" else revision
    if current == target:
        return
    try:
        command.upgrade(alembic_config(engine), revision)
    except (SQLAlchemyError, AlembicCommandError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseUnavailableError(
            f"{SETTING_NAME} {redact_url(engine.url)}: upgrading the schema from revision "
            f"{current or '(empty)'} to {target} failed: {reason}; the database was left as it was"
        ) from exc
    if current is not None:  # a new database is created, not upgraded: nothing to report
        log.info("store.schema_upgraded %s: from revision %s to %s", redact_url(engine.url), current, target)


def head_revision() -> str | None:
    """The newest migration shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
