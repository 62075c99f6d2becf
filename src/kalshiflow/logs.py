"""Structured logs: one JSON object per line, to a file, never with key material.

Records carry their ``extra`` fields as top-level keys. The private key never reaches a log
record (it is only ever held by ``RequestSigner``), and request headers are never logged.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def log_to_file(path: str | Path, level: int = logging.INFO) -> logging.Handler:
    """Send every ``kalshiflow`` log record to ``path`` as JSON lines (appending)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("kalshiflow")
    root.setLevel(level)
    root.addHandler(handler)
    root.propagate = False
    return handler
