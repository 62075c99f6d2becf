"""A bounded buffer drained by one writer thread: persistence that never makes the event loop wait.

Producers (ledger listeners, lifecycle hooks) run on the event loop and must not do I/O. They hand
items to ``BatchWriter.put`` -- an append under a lock that the writer holds only long enough to swap
the buffer for an empty one. A daemon thread with its own connection wakes every
``flush_interval_s`` (or as soon as ``batch_size`` items wait), and hands the items, at most
``batch_size`` at a time, to a ``write`` callback that runs inside one transaction per chunk.

Invariants:

* **Bounded.** At most ``max_buffer`` items wait; beyond that ``put`` drops the item and returns
  False. Drops are counted (``metrics().items_dropped``) and logged once per overflow run with the
  run's size, so loss is never silent. The caller decides what a drop means for it.
* **A refused chunk is retried, then given up loudly.** The transaction rolled back, so retrying is
  safe for any ``write``; after ``max_attempts`` failures the chunk is counted as write-failed and
  logged at error level.
* ``flush()`` returns once every item put so far is written or given up; ``close()`` drains, stops
  the thread and returns the final metrics.

The market-data recorder (``marketdata/recorder.py``) predates this helper and keeps its own copy of
the same loop, because it turns drops into numbered ``recording_gaps`` rows; moving it onto this
class needs an ``on_overflow`` hook that can append a gap marker when room returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BATCH_SIZE: Final = 2_000
DEFAULT_FLUSH_INTERVAL_S: Final = 0.2
DEFAULT_MAX_BUFFER: Final = 100_000
DEFAULT_MAX_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True)
class BatchWriterMetrics:
    """Counters since the writer was created; latencies are per committed chunk."""

    items_accepted: int  # put() returned True
    items_dropped: int  # buffer full
    items_written: int  # committed
    items_write_failed: int  # in chunks given up after max_attempts
    batches_written: int
    write_errors: int  # failed attempts, retried or not
    buffer_len: int
    buffer_high_water: int
    write_latency_last_us: int
    write_latency_max_us: int


class BatchWriter(Generic[T]):
    """``put`` from any thread (O(1), no I/O); ``write(connection, chunk)`` runs on the writer thread.

    ``write`` is called inside ``connection.begin()``; it must not commit itself. ``writer_gate`` is a
    test hook: when given, the writer waits for it before every drain, so a test can hold the writer
    and prove producers still return at once.
    """

    def __init__(
        self,
        engine: Engine,
        write: Callable[[Connection, list[T]], None],
        *,
        name: str,
        batch_size: int = DEFAULT_BATCH_SIZE,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        writer_gate: threading.Event | None = None,
    ) -> None:
        if batch_size < 1 or max_buffer < 1 or max_attempts < 1 or flush_interval_s <= 0:
            raise ValueError("batch_size, max_buffer, max_attempts must be >= 1 and flush_interval_s > 0")
        self._engine = engine
        self._write = write
        self._name = name
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._max_buffer = max_buffer
        self._max_attempts = max_attempts
        self._writer_gate = writer_gate
        # Shared with the writer; guarded by _lock.
        self._lock = threading.Lock()
        self._buffer: list[T] = []
        self._put_seq = 0  # every put() call, accepted or dropped
        self._accepted = 0
        self._dropped = 0
        self._overflow_run = 0  # drops since the buffer last had room
        self._closing = False
        # Written by the writer thread only; read racily (ints) by metrics().
        self._high_water = 0
        self._written = 0
        self._write_failed = 0
        self._batches = 0
        self._write_errors = 0
        self._latency_last_ns = 0
        self._latency_max_ns = 0
        self._wake = threading.Event()
        self._progress = threading.Condition()
        self._handled_seq = 0  # every put <= this is written, given up or dropped
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> bool:
        """Queue one item; False (and counted) when the buffer is full or the writer is closed."""
        with self._lock:
            self._put_seq += 1
            if self._closing or len(self._buffer) >= self._max_buffer:
                self._dropped += 1
                self._overflow_run += 1
                if self._overflow_run == 1:
                    log.warning("%s.overflow_started", self._name, extra={"max_buffer": self._max_buffer})
                return False
            self._buffer.append(item)
            self._accepted += 1
            size = len(self._buffer)
            if size > self._high_water:
                self._high_water = size
        if size == self._batch_size:
            self._wake.set()
        return True

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything put so far is written or given up (blocking). False on timeout."""
        with self._lock:
            target = self._put_seq
        self._wake.set()
        with self._progress:
            return self._progress.wait_for(lambda: self._handled_seq >= target, timeout_s)

    def close(self) -> BatchWriterMetrics:
        """Refuse new items, drain the buffer and stop the writer thread (blocking)."""
        with self._lock:
            self._closing = True
        self._wake.set()
        self._thread.join()
        return self.metrics()

    @property
    def closed(self) -> bool:
        return self._closing

    def metrics(self) -> BatchWriterMetrics:
        return BatchWriterMetrics(
            items_accepted=self._accepted,
            items_dropped=self._dropped,
            items_written=self._written,
            items_write_failed=self._write_failed,
            batches_written=self._batches,
            write_errors=self._write_errors,
            buffer_len=len(self._buffer),
            buffer_high_water=self._high_water,
            write_latency_last_us=self._latency_last_ns // 1000,
            write_latency_max_us=self._latency_max_ns // 1000,
        )

    # -- writer thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        connection: Connection | None = None
        try:
            while True:
                self._wake.wait(self._flush_interval_s)
                self._wake.clear()
                if self._writer_gate is not None:
                    self._writer_gate.wait()
                with self._lock:
                    items, self._buffer = self._buffer, []
                    handled_upto = self._put_seq
                    closing = self._closing
                    overflow_run, self._overflow_run = self._overflow_run, 0
                if overflow_run:
                    log.error("%s.overflow", self._name, extra={"dropped": overflow_run})
                for start in range(0, len(items), self._batch_size):
                    connection = self._write_chunk(connection, items[start : start + self._batch_size])
                with self._progress:
                    self._handled_seq = handled_upto
                    self._progress.notify_all()
                if closing:
                    return
        finally:
            if connection is not None:
                connection.close()

    def _write_chunk(self, connection: Connection | None, chunk: list[T]) -> Connection | None:
        for attempt in range(1, self._max_attempts + 1):
            started_ns = time.perf_counter_ns()
            try:
                if connection is None:
                    connection = self._engine.connect()
                with connection.begin():
                    self._write(connection, chunk)
            except Exception:
                self._write_errors += 1
                log.exception("%s.batch_failed", self._name, extra={"items": len(chunk), "attempt": attempt})
                if connection is not None:
                    connection.invalidate()
                    connection.close()
                    connection = None
                if attempt < self._max_attempts:
                    time.sleep(self._flush_interval_s * attempt)
                continue
            elapsed_ns = time.perf_counter_ns() - started_ns
            self._latency_last_ns = elapsed_ns
            self._latency_max_ns = max(self._latency_max_ns, elapsed_ns)
            self._batches += 1
            self._written += len(chunk)
            return connection
        self._write_failed += len(chunk)
        log.error("%s.batch_given_up", self._name, extra={"items": len(chunk)})
        return connection
