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

Hooks, for a caller that accounts for loss itself (the market-data recorder, ``marketdata/recorder.py``,
turns drops and refused batches into numbered ``recording_gaps`` rows); without them the writer
behaves as above:

* ``on_overflow(dropped, marker)`` runs under the buffer lock for every item dropped for a full
  buffer and returns the run's marker item (``marker`` is None when the drop starts a run). The
  marker is queued ahead of the next item accepted, or at the next drain, whichever comes first. The
  overflow is then not logged here: the marker is the record of it.
* ``put_always(item)`` queues an item a full buffer never drops (it still counts in the buffer).
* ``on_failed(chunk)`` runs on the writer thread for a chunk given up and returns items to carry to
  the front of the next chunk (written at the next wake even if nothing new arrives); what is still
  carried when the writer stops is ``unwritten``. The give-up is then not logged here.
* ``on_written(chunk)`` runs on the writer thread after a chunk commits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
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

    items_accepted: int  # put() returned True, or put_always()
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
        on_overflow: Callable[[T, T | None], T] | None = None,
        on_failed: Callable[[list[T]], list[T]] | None = None,
        on_written: Callable[[list[T]], None] | None = None,
        thread_name: str | None = None,
        log_extra: Mapping[str, object] | None = None,
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
        self._on_overflow = on_overflow
        self._on_failed = on_failed
        self._on_written = on_written
        self._log_extra = dict(log_extra or {})
        # Shared with the writer; guarded by _lock.
        self._lock = threading.Lock()
        self._buffer: list[T] = []
        self._put_seq = 0  # every put() call, accepted or dropped
        self._accepted = 0
        self._dropped = 0
        self._overflow_run = 0  # drops since the buffer last had room
        self._marker: T | None = None  # on_overflow's marker of the current drop run
        self._closing = False
        # Written by the writer thread only; read racily (ints) by metrics().
        self._high_water = 0
        self._written = 0
        self._write_failed = 0
        self._batches = 0
        self._write_errors = 0
        self._latency_last_ns = 0
        self._latency_max_ns = 0
        self._latency_total_ns = 0
        self._unwritten: list[T] = []  # on_failed's carry when the writer stopped
        self._wake = threading.Event()
        self._progress = threading.Condition()
        self._handled_seq = 0  # every put <= this is written, given up or dropped
        self._thread = threading.Thread(target=self._run, name=thread_name or name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> bool:
        """Queue one item; False (and counted) when the buffer is full or the writer is closed."""
        with self._lock:
            self._put_seq += 1
            if self._closing or len(self._buffer) >= self._max_buffer:
                self._dropped += 1
                if self._on_overflow is not None and not self._closing:
                    self._marker = self._on_overflow(item, self._marker)
                    return False
                self._overflow_run += 1
                if self._overflow_run == 1:
                    log.warning(
                        "%s.overflow_started",
                        self._name,
                        extra={**self._log_extra, "max_buffer": self._max_buffer},
                    )
                return False
            buffer = self._buffer
            if self._marker is not None:  # the drops came first: keep the order
                buffer.append(self._marker)
                self._marker = None
            buffer.append(item)  # inline rather than _append(): this is every producer's hot path
            self._accepted += 1
            size = len(buffer)
            if size > self._high_water:
                self._high_water = size
        if size == self._batch_size:
            self._wake.set()
        return True

    def put_always(self, item: T) -> None:
        """Queue one item even when the buffer is full; RuntimeError when the writer is closed."""
        with self._lock:
            if self._closing:
                raise RuntimeError(f"{self._name}: put_always() after close()")
            self._put_seq += 1
            size = self._append(item)
        if size == self._batch_size:
            self._wake.set()

    def _append(self, item: T) -> int:
        """Queue ``item`` behind a pending overflow marker (caller holds ``_lock``); the new length."""
        buffer = self._buffer
        if self._marker is not None:  # the drops came first: keep the order
            buffer.append(self._marker)
            self._marker = None
        buffer.append(item)
        self._accepted += 1
        size = len(buffer)
        if size > self._high_water:
            self._high_water = size
        return size

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

    @property
    def unwritten(self) -> list[T]:
        """``on_failed``'s carry that the writer still held when it stopped (empty until then)."""
        return self._unwritten

    @property
    def latency_total_ns(self) -> int:
        """Sum of the committed chunks' latencies (for a mean over ``batches_written``)."""
        return self._latency_total_ns

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
        carry: list[T] = []  # on_failed's items for the next chunk
        try:
            while True:
                self._wake.wait(self._flush_interval_s)
                self._wake.clear()
                if self._writer_gate is not None:
                    self._writer_gate.wait()
                with self._lock:
                    items, self._buffer = self._buffer, []
                    if self._marker is not None:  # the run is complete: the buffer has room again
                        items.append(self._marker)
                        self._marker = None
                    handled_upto = self._put_seq
                    closing = self._closing
                    overflow_run, self._overflow_run = self._overflow_run, 0
                if overflow_run:
                    log.error("%s.overflow", self._name, extra={**self._log_extra, "dropped": overflow_run})
                for start in range(0, max(len(items), 1), self._batch_size):
                    chunk = carry + items[start : start + self._batch_size]
                    if not chunk:
                        continue
                    connection, carry = self._write_chunk(connection, chunk)
                with self._progress:
                    self._handled_seq = handled_upto
                    self._progress.notify_all()
                if closing:
                    self._unwritten = carry
                    return
        finally:
            if connection is not None:
                connection.close()

    def _write_chunk(
        self, connection: Connection | None, chunk: list[T]
    ) -> tuple[Connection | None, list[T]]:
        """Commit ``chunk`` in one transaction, retried up to ``max_attempts``; the connection to use
        next and, for a chunk given up, ``on_failed``'s carry."""
        for attempt in range(1, self._max_attempts + 1):
            started_ns = time.perf_counter_ns()
            try:
                if connection is None:
                    connection = self._engine.connect()
                with connection.begin():
                    self._write(connection, chunk)
            except Exception:
                self._write_errors += 1
                log.exception(
                    "%s.batch_failed",
                    self._name,
                    extra={**self._log_extra, "items": len(chunk), "attempt": attempt},
                )
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
            self._latency_total_ns += elapsed_ns
            self._batches += 1
            self._written += len(chunk)
            if self._on_written is not None:
                self._on_written(chunk)
            return connection, []
        self._write_failed += len(chunk)
        if self._on_failed is not None:
            return connection, self._on_failed(chunk)
        log.error("%s.batch_given_up", self._name, extra={**self._log_extra, "items": len(chunk)})
        return connection, []
