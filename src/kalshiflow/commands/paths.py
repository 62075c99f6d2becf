"""Where a command keeps its files: one data directory, and the database resolved the same way
by ``run``, ``status`` and ``record``.

The data directory (``--data-dir``, else ``KALSHIFLOW_DATA_DIR``, else ``./.kalshiflow``) holds the
default database (``kalshiflow.db``), the logs, the embedded simulator's files (``sim/``) and the
realism report (``sim-report/``), so a command writes nothing else into the working directory. The database is, in this order: the
``--db`` flag, ``KALSHIFLOW_DB``, the settings file's ``[run] db``, ``sqlite:///<data dir>/kalshiflow.db``.
A data directory that cannot be used is one ``DataDirError`` line naming ``--data-dir``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from kalshiflow.store.db import DB_ENV

DEFAULT_DATA_DIR: Final = Path(".kalshiflow")
DATA_DIR_ENV: Final = "KALSHIFLOW_DATA_DIR"
DB_FILE: Final = "kalshiflow.db"
LOG_FILE: Final = "kalshiflow.log"
SIM_DIR: Final = "sim"
SIM_REPORT_DIR: Final = "sim-report"  # ``sim-report``'s default --out, inside the data directory


class DataDirError(ValueError):
    """A directory a command writes into cannot be used; the message names the flag (``--data-dir``,
    ``--out``) and what is wrong."""


def data_dir(flag: str | None, environ: Mapping[str, str]) -> Path:
    """The data directory the flag or the environment names (not created here)."""
    return Path(flag or environ.get(DATA_DIR_ENV, "").strip() or DEFAULT_DATA_DIR)


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory if needed and prove it is writable."""
    return prepare_dir(path, "--data-dir")


def prepare_dir(path: Path, flag: str) -> Path:
    """Create a directory a command writes into if needed and prove it is writable; ``DataDirError``
    naming ``flag`` otherwise. Commands that write their files only at the end (``backtest --out``,
    ``sim-report --out``) call it before the work, so a path that cannot be used costs no run."""
    if path.exists() and not path.is_dir():
        raise DataDirError(f"{flag} {path}: not a directory (a file is in the way)")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = "not writable" if isinstance(exc, PermissionError) else f"cannot be used ({exc.strerror})"
        raise DataDirError(f"{flag} {path}: {reason}") from None
    return path


def db_url(flag: str | None, settings_db: str | None, environ: Mapping[str, str], directory: Path) -> str:
    """The database URL: flag, then ``KALSHIFLOW_DB``, then the settings file, then the data dir."""
    for candidate in (flag, environ.get(DB_ENV), settings_db):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    return f"sqlite:///{directory / DB_FILE}"


def log_path(settings_log: str | None, directory: Path) -> Path:
    """The log file: the settings file's ``[run] log_file`` or ``<data dir>/kalshiflow.log``; its
    directory must exist (``DataDirError`` naming ``log_file`` otherwise)."""
    path = Path(settings_log) if settings_log else directory / LOG_FILE
    if not path.parent.is_dir():
        raise DataDirError(f"log_file {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise DataDirError(f"log_file {path}: is a directory")
    if not os.access(path.parent, os.W_OK):
        raise DataDirError(f"log_file {path}: directory {path.parent} is not writable")
    return path
