"""Structured logs: one JSON object per line, written off the event loop, to a rotating file.

Why it is shaped this way (issue 8):

* **Fields, not formatting.** Records carry their ``extra`` fields as top-level keys
  (``log.info("order.placed", extra={"ticker": ..., "price": ...})``); the message is the event name.
* **Off the event loop.** Loggers only put records on a queue (``QueueHandler``); a listener thread
  (``QueueListener``) formats and writes them. A slow disk never stalls the actor.
* **Bounded on disk.** The file rotates at ``max_bytes`` and keeps ``backups`` old files.
* **A person reads stderr.** With ``stderr_level`` set (no live view on the terminal), warnings and
  errors also go to stderr as one short human line each.

The private key never reaches a log record (it is only ever held by ``RequestSigner``), and
request headers are never logged.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}
ROOT: Final = "kalshiflow"
_RESERVED: Final = frozenset({"ts", "level", "logger", "event", "message", "exception"})


def fields(record: logging.LogRecord) -> dict[str, object]:
    """The record's ``extra`` fields, as JSON-ready values."""
    found: dict[str, object] = {}
    for key, value in vars(record).items():
        if key not in _STANDARD and not key.startswith("_"):
            found[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    return found


# A key starts the text or follows a space; a value runs to the next space, comma or semicolon, or
# over one parenthesised group (``read=BucketSpec(refill_per_s=200, capacity=400)``).
_KEY_VALUE: Final = re.compile(r"(?:^|(?<=\s))([a-z_][a-z0-9_]*)=([^\s,;(]*\([^)]*\)|[^\s,;]+)")


def text_fields(text: str) -> dict[str, str]:
    """``key=value`` pairs written into a message's text, as fields (values stay strings)."""
    return {key: value for key, value in _KEY_VALUE.findall(text)}


class JsonFormatter(logging.Formatter):
    """``event`` is the event name only (the message's first word); the rest of the text is
    ``message``, and the ``key=value`` pairs in it are fields too.

    Why: many call sites log ``log.info("calibration.failed reason=%s", reason)``, and the queue
    handler formats the message before this formatter sees it; with the whole text in ``event``,
    ``jq 'select(.event == "calibration.failed")'`` found nothing and ``reason`` was no field.
    ``extra`` fields win over parsed ones of the same name.
    """

    def format(self, record: logging.LogRecord) -> str:
        event, _, text = record.getMessage().partition(" ")
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": event,
        }
        if text:
            entry["message"] = text
            for key, value in text_fields(text).items():
                if key not in _RESERVED:
                    entry[key] = value
        entry.update(fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class HumanFormatter(logging.Formatter):
    """``23:14:05 warning calibration.failed reason=timed out`` -- one short line for a person."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        message = record.getMessage()
        extra = " ".join(f"{k}={v}" for k, v in fields(record).items() if f"{k}=" not in message)
        return f"{stamp} {record.levelname.lower()} {message}{' ' + extra if extra else ''}"


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Where and how much: ``path`` (the JSON lines file), ``max_bytes`` (10 MB) and ``backups`` (5)
    of the rotation, ``level`` (INFO), ``stderr_level`` (None: nothing on stderr)."""

    path: Path
    max_bytes: int = 10_000_000
    backups: int = 5
    level: int = logging.INFO
    stderr_level: int | None = None


class _FileHandler(logging.handlers.RotatingFileHandler):
    def __init__(self, config: LogConfig, on_write: Callable[[], Callable[[], None] | None]) -> None:
        super().__init__(config.path, maxBytes=config.max_bytes, backupCount=config.backups, encoding="utf-8")
        self._on_write = on_write

    def emit(self, record: logging.LogRecord) -> None:
        hook = self._on_write()
        if hook is not None:
            hook()
        super().emit(record)


class LogHandle:
    """The running log pipeline; ``close()`` drains the queue and detaches it."""

    def __init__(self, config: LogConfig) -> None:
        self.on_write: Callable[[], None] | None = None  # test hook: runs on the writer thread
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        file_handler = _FileHandler(config, lambda: self.on_write)
        file_handler.setFormatter(JsonFormatter())
        handlers: list[logging.Handler] = [file_handler]
        if config.stderr_level is not None:
            human = logging.StreamHandler(sys.stderr)
            human.setLevel(config.stderr_level)
            human.setFormatter(HumanFormatter())
            handlers.append(human)
        self._handlers = handlers
        self._queue_handler = logging.handlers.QueueHandler(records)
        self._listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
        root = logging.getLogger(ROOT)
        root.setLevel(config.level)
        root.addHandler(self._queue_handler)
        root.propagate = False
        self._listener.start()

    def close(self) -> None:
        root = logging.getLogger(ROOT)
        root.removeHandler(self._queue_handler)
        self._listener.stop()  # writes everything still queued
        for handler in self._handlers:
            handler.close()


def start_logging(config: LogConfig) -> LogHandle:
    """Send every ``kalshiflow`` log record through a queue to the rotating JSON file (and stderr)."""
    return LogHandle(config)


def log_to_file(path: str | Path, level: int = logging.INFO) -> LogHandle:
    """``start_logging`` with the default rotation (kept for callers that only name a file)."""
    return start_logging(LogConfig(path=Path(path), level=level))
