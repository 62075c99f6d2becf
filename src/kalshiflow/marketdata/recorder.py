"""Record the order-book stream into the database without ever slowing the stream down.

The stream calls ``Recorder.record(msg)`` for every snapshot and delta on the event loop. That call
only numbers the message and appends it to a bounded in-memory buffer (O(1), no I/O, no await); a
writer thread with its own connection (a ``store.batch_writer.BatchWriter``) drains the buffer and
inserts it in batches, one transaction per batch (rows built by ``store.recording_rows``). Invariants:

* **Every message gets a number.** ``seq_no`` counts every message handed to ``record`` in this
  session (1, 2, 3 ...), stored or not.
* **No silent loss.** When the buffer is full the message is dropped and counted, and the drop run
  becomes one ``recording_gaps`` row (``after_seq_no``, ``dropped_count``) written as soon as the
  writer catches up. A batch the database refuses becomes ``write_failed`` gaps the same way. So
  every ``seq_no`` of a session is either a stored message or inside a gap.
* **Ingestion never waits for the database.** The only lock ``record`` takes is held by the writer
  just long enough to swap the buffer for an empty one.
* **A recording is self-contained.** ``record_market(ticker, grid)`` (every market the feed
  registers, with its price grid) and ``record_invalidation(tickers, reason)`` (every set of books the
  stream stops trusting) go through the same buffer and writer, in order with the messages: each is
  stored at its position after the last message handed over (``recording_markets.added_at_seq_no``,
  ``recording_invalidations.after_seq_no``) and takes no ``seq_no``. They are rare and small, so they
  are never dropped for a full buffer, and a batch the database refuses keeps them to be written
  again with the next one (like its gaps). A replay can therefore register every book with its grid
  before its first snapshot and invalidate books where the live store did.

``close()`` (blocking; ``await aclose()`` from the event loop) drains everything, writes the session's
end and totals, and stops the writer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, Engine, insert, update

from kalshiflow.clock import Clock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.store import db
from kalshiflow.store.batch_writer import BatchWriter, BatchWriterMetrics
from kalshiflow.store.models import GapReason, RecordingSession, SessionStatus
from kalshiflow.store.recording_rows import (
    BookMessage,
    Gap,
    Invalidation,
    Item,
    MarketMark,
    build_rows,
    insert_rows,
    kept_after_failure,
)

__all__ = ["BookMessage", "Recorder", "RecorderMetrics", "public_url"]

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE: Final = 5_000
DEFAULT_FLUSH_INTERVAL_S: Final = 0.2
DEFAULT_MAX_BUFFER: Final = 200_000

_NOTHING_WRITTEN: Final = BatchWriterMetrics(*(0,) * len(fields(BatchWriterMetrics)))


@dataclass(frozen=True, slots=True)
class RecorderMetrics:
    """Counters since the recorder was created; latencies are per batch transaction."""

    messages_seen: int  # handed to record() (== the last seq_no)
    messages_dropped: int  # buffer overflow
    messages_write_failed: int  # in batches the database refused
    rows_written: int  # message, gap, market and invalidation rows committed
    batches_written: int
    gaps_written: int
    markets_written: int
    invalidations_written: int
    write_errors: int
    buffer_len: int
    buffer_high_water: int
    write_latency_last_us: int
    write_latency_max_us: int
    write_latency_mean_us: int


def public_url(url: str) -> str:
    """``url`` without credentials, query string or fragment (API keys sometimes ride there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class Recorder:
    """One recording session: ``start_session`` -> ``record`` ... -> ``close``.

    ``database`` is a ``--db`` URL (the recorder opens, migrates and finally disposes that engine) or
    an ``Engine`` whose schema the caller has already migrated. ``batch_size`` is the most messages
    per transaction, ``flush_interval_s`` the longest a message waits before the writer wakes, and
    ``max_buffer`` the most messages waiting for the writer before new ones are dropped into a gap.
    ``writer_gate`` is a test hook: when given, the writer waits for the event before every drain,
    so a test can hold the writer and watch the buffer overflow. Markets and invalidations wait in
    the same buffer and count in its length, but a full buffer still takes them: only messages are
    ever dropped.
    """

    def __init__(
        self,
        database: str | Engine,
        clock: Clock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        writer_gate: threading.Event | None = None,
    ) -> None:
        if batch_size < 1 or max_buffer < 1 or flush_interval_s <= 0:
            raise ValueError("batch_size and max_buffer must be >= 1 and flush_interval_s > 0")
        self._owns_engine = isinstance(database, str)
        if isinstance(database, str):
            self._engine = db.open_engine(database)
            db.migrate(self._engine)
        else:
            self._engine = database
        self._clock = clock
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._max_buffer = max_buffer
        self._writer_gate = writer_gate
        self._session_id: int | None = None
        # Numbering and the hand-over to the writer; guarded by _lock (never taken by the writer).
        self._lock = threading.Lock()
        self._seq_no = 0
        self._accepting = False
        self._closing = False
        # Written by the writer thread's hooks only; read racily (ints) by metrics().
        self._write_failed = 0
        self._gaps_written = 0
        self._markets_written = 0
        self._invalidations_written = 0
        self._writer: BatchWriter[Item] | None = None  # started by start_session
        self._put: Callable[[Item], bool] = self._refuse  # the writer's put() once started

    @property
    def session_id(self) -> int | None:
        return self._session_id

    @property
    def engine(self) -> Engine:
        return self._engine

    def start_session(self, exchange: str, url: str, markets: Sequence[str], notes: str | None = None) -> int:
        """Insert the session row (a blocking write, once at startup) and start the writer."""
        if self._session_id is not None or self._closing:
            raise RuntimeError("a Recorder records one session; create another for the next")
        values = {
            "started_at_ms": self._clock.now_ms(),
            "exchange": exchange,
            "source_url": public_url(url),
            "markets": list(markets),
            "status": SessionStatus.RECORDING.value,
            "notes": notes,
            "messages_seen": 0,
            "messages_dropped": 0,
        }
        with self._engine.begin() as connection:
            primary_key = connection.execute(insert(RecordingSession).values(values)).inserted_primary_key
        if primary_key is None:
            raise RuntimeError("the database returned no id for the new recording session")
        session_id = int(primary_key[0])
        self._session_id = session_id

        def write(connection: Connection, chunk: list[Item]) -> None:
            insert_rows(connection, build_rows(session_id, chunk))

        # No retry inside the writer: a refused batch becomes write_failed gaps, which ride (with its
        # markets and invalidations) at the front of the next batch.
        self._writer = BatchWriter(
            self._engine,
            write,
            name="recorder",
            thread_name=f"recorder-{session_id}",
            batch_size=self._batch_size,
            flush_interval_s=self._flush_interval_s,
            max_buffer=self._max_buffer,
            max_attempts=1,
            writer_gate=self._writer_gate,
            on_overflow=self._overflow_gap,
            on_failed=self._failed_batch,
            on_written=self._written_batch,
            log_extra={"session_id": session_id},
        )
        self._put = self._writer.put
        with self._lock:
            self._accepting = True
        return session_id

    def record(self, msg: BookMessage) -> bool:
        """Hand one message to the writer: O(1), never blocks on I/O. False when it was dropped."""
        with self._lock:
            if not self._accepting:
                raise RuntimeError("record() needs a started, not yet closed session")
            self._seq_no += 1
            return self._put((self._seq_no, msg))

    def record_market(self, ticker: str, grid: PriceGrid) -> None:
        """Note that ``ticker``'s book was registered with ``grid`` here: O(1), never blocks on I/O.

        Stored after the last message handed over; never dropped, even when the buffer is full.
        """
        self._hand_over(lambda after_seq_no: MarketMark(after_seq_no, ticker, grid))

    def record_invalidation(self, tickers: Iterable[str], reason: str) -> None:
        """Note that the books of ``tickers`` stopped being trusted here: O(1) per ticker, no I/O.

        Stored after the last message handed over; never dropped, even when the buffer is full.
        """
        names = tuple(tickers)  # a copy: the caller may reuse its list
        now_ms = self._clock.now_ms()
        self._hand_over(lambda after_seq_no: Invalidation(after_seq_no, names, reason, now_ms))

    def _hand_over(self, make: Callable[[int], MarketMark | Invalidation]) -> None:
        with self._lock:
            if not self._accepting or self._writer is None:
                raise RuntimeError("record_market/record_invalidation need a started, not yet closed session")
            self._writer.put_always(make(self._seq_no))

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything handed over so far is stored or covered by a gap (blocking)."""
        writer = self._writer
        return True if writer is None else writer.flush(timeout_s)

    def close(self) -> None:
        """Drain the buffer, stop the writer and mark the session ended with its totals (blocking)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._accepting = False
        writer = self._writer
        if writer is not None:
            writer.close()
            if writer.unwritten:
                log.error(
                    "recorder.gaps_unwritten",
                    extra={"session_id": self._session_id, "items": len(writer.unwritten)},
                )
        if self._session_id is not None:
            self._end_session(self._session_id)
        if self._owns_engine:
            self._engine.dispose()

    async def aclose(self) -> None:
        """``close`` from the event loop, off the loop thread."""
        await asyncio.to_thread(self.close)

    def metrics(self) -> RecorderMetrics:
        writer = self._writer
        counts = writer.metrics() if writer is not None else _NOTHING_WRITTEN  # before start_session
        total_ns = writer.latency_total_ns if writer is not None else 0
        batches = counts.batches_written
        return RecorderMetrics(
            messages_seen=self._seq_no,
            messages_dropped=counts.items_dropped,
            messages_write_failed=self._write_failed,
            rows_written=counts.items_written,
            batches_written=batches,
            gaps_written=self._gaps_written,
            markets_written=self._markets_written,
            invalidations_written=self._invalidations_written,
            write_errors=counts.write_errors,
            buffer_len=counts.buffer_len,
            buffer_high_water=counts.buffer_high_water,
            write_latency_last_us=counts.write_latency_last_us,
            write_latency_max_us=counts.write_latency_max_us,
            write_latency_mean_us=total_ns // 1000 // batches if batches else 0,
        )

    @staticmethod
    def _refuse(item: Item) -> bool:
        raise RuntimeError("record() needs a started, not yet closed session")

    # -- BatchWriter hooks ---------------------------------------------------------------------------

    def _overflow_gap(self, dropped: Item, gap: Item | None) -> Item:
        """Under the writer's lock: the dropped message starts or extends the overflow gap."""
        if gap is None:
            assert isinstance(dropped, tuple)  # only messages are ever put() (and so dropped)
            return Gap(dropped[0] - 1, 1, GapReason.BUFFER_OVERFLOW, self._clock.now_ms())
        assert isinstance(gap, Gap)
        gap.dropped_count += 1
        return gap

    def _failed_batch(self, chunk: list[Item]) -> list[Item]:
        """On the writer thread: a refused batch's messages become gaps; all of it rides again."""
        self._write_failed += sum(1 for item in chunk if isinstance(item, tuple))
        return kept_after_failure(chunk, self._clock.now_ms())

    def _written_batch(self, chunk: list[Item]) -> None:
        for item in chunk:
            if isinstance(item, tuple):
                continue
            if isinstance(item, Gap):
                self._gaps_written += 1
            elif isinstance(item, MarketMark):
                self._markets_written += 1
            else:
                self._invalidations_written += 1

    def _end_session(self, session_id: int) -> None:
        dropped = self._writer.metrics().items_dropped if self._writer is not None else 0
        values = {
            "ended_at_ms": self._clock.now_ms(),
            "status": SessionStatus.ENDED.value,
            "messages_seen": self._seq_no,
            "messages_dropped": dropped + self._write_failed,
        }
        with self._engine.begin() as connection:
            connection.execute(
                update(RecordingSession).where(RecordingSession.id == session_id).values(values)
            )
