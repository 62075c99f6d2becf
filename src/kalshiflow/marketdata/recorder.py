"""Record the order-book stream into the database without ever slowing the stream down.

The stream calls ``Recorder.record(msg)`` for every snapshot and delta on the event loop. That call
only numbers the message and appends it to a bounded in-memory buffer (O(1), no I/O, no await); a
writer thread with its own connection drains the buffer and inserts it in batches, one transaction
per batch. Invariants:

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
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection, Engine, insert, update

from kalshiflow.clock import Clock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.store import db
from kalshiflow.store.models import (
    Base,
    BookDeltaRow,
    BookSnapshotRow,
    GapReason,
    RecordingGapRow,
    RecordingInvalidationRow,
    RecordingMarketRow,
    RecordingSession,
    SessionStatus,
    encode_levels,
)

log = logging.getLogger(__name__)

BookMessage = OrderbookSnapshot | OrderbookDelta

DEFAULT_BATCH_SIZE: Final = 5_000
DEFAULT_FLUSH_INTERVAL_S: Final = 0.2
DEFAULT_MAX_BUFFER: Final = 200_000

_SNAPSHOTS = Base.metadata.tables[BookSnapshotRow.__tablename__]
_DELTAS = Base.metadata.tables[BookDeltaRow.__tablename__]
_GAPS = Base.metadata.tables[RecordingGapRow.__tablename__]
_MARKETS = Base.metadata.tables[RecordingMarketRow.__tablename__]
_INVALIDATIONS = Base.metadata.tables[RecordingInvalidationRow.__tablename__]


@dataclass(slots=True)
class _Gap:
    """A run of lost messages: ``after_seq_no + 1 .. after_seq_no + dropped_count``."""

    after_seq_no: int
    dropped_count: int
    reason: GapReason
    at_ms: int


@dataclass(frozen=True, slots=True)
class _Market:
    """``ticker`` was registered with ``grid`` after message ``after_seq_no``."""

    after_seq_no: int
    ticker: str
    grid: PriceGrid


@dataclass(frozen=True, slots=True)
class _Invalidation:
    """The books of ``tickers`` stopped being trusted after message ``after_seq_no``."""

    after_seq_no: int
    tickers: tuple[str, ...]
    reason: str
    at_ms: int


# What a refused batch keeps for the next one: its gaps, markets and invalidations.
_Kept = _Gap | _Market | _Invalidation
_Item = tuple[int, BookMessage] | _Kept


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
        # Shared with the writer; guarded by _lock.
        self._lock = threading.Lock()
        self._buffer: list[_Item] = []
        self._pending_gap: _Gap | None = None
        self._seq_no = 0
        self._accepting = False
        self._closing = False
        # Counters written by one side only; read racily (ints) by metrics().
        self._dropped = 0
        self._high_water = 0
        self._write_failed = 0
        self._rows_written = 0
        self._batches = 0
        self._gaps_written = 0
        self._markets_written = 0
        self._invalidations_written = 0
        self._write_errors = 0
        self._latency_last_ns = 0
        self._latency_max_ns = 0
        self._latency_total_ns = 0
        self._wake = threading.Event()
        self._progress = threading.Condition()
        # Items (messages, markets, invalidations) handed over, and how many of the first the writer
        # has stored or accounted for (a gap; a refused market/invalidation waits for the next batch).
        self._handed = 0
        self._handled = 0
        self._writer: threading.Thread | None = None

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
        self._accepting = True
        self._writer = threading.Thread(target=self._run_writer, name=f"recorder-{session_id}", daemon=True)
        self._writer.start()
        return session_id

    def record(self, msg: BookMessage) -> bool:
        """Hand one message to the writer: O(1), never blocks on I/O. False when it was dropped."""
        with self._lock:
            if not self._accepting:
                raise RuntimeError("record() needs a started, not yet closed session")
            self._seq_no += 1
            self._handed += 1
            buffer = self._buffer
            if len(buffer) >= self._max_buffer:
                self._dropped += 1
                gap = self._pending_gap
                if gap is None:
                    self._pending_gap = _Gap(
                        self._seq_no - 1, 1, GapReason.BUFFER_OVERFLOW, self._clock.now_ms()
                    )
                else:
                    gap.dropped_count += 1
                return False
            if self._pending_gap is not None:
                buffer.append(self._pending_gap)
                self._pending_gap = None
            buffer.append((self._seq_no, msg))
            size = len(buffer)
            if size > self._high_water:
                self._high_water = size
        if size == self._batch_size:
            self._wake.set()
        return True

    def record_market(self, ticker: str, grid: PriceGrid) -> None:
        """Note that ``ticker``'s book was registered with ``grid`` here: O(1), never blocks on I/O.

        Stored after the last message handed over; never dropped, even when the buffer is full.
        """
        self._hand_over(lambda after_seq_no: _Market(after_seq_no, ticker, grid))

    def record_invalidation(self, tickers: Iterable[str], reason: str) -> None:
        """Note that the books of ``tickers`` stopped being trusted here: O(1) per ticker, no I/O.

        Stored after the last message handed over; never dropped, even when the buffer is full.
        """
        names = tuple(tickers)  # a copy: the caller may reuse its list
        now_ms = self._clock.now_ms()
        self._hand_over(lambda after_seq_no: _Invalidation(after_seq_no, names, reason, now_ms))

    def _hand_over(self, make: Callable[[int], _Market | _Invalidation]) -> None:
        with self._lock:
            if not self._accepting:
                raise RuntimeError("record_market/record_invalidation need a started, not yet closed session")
            self._handed += 1
            buffer = self._buffer
            if self._pending_gap is not None:  # the gap came first: keep the order
                buffer.append(self._pending_gap)
                self._pending_gap = None
            buffer.append(make(self._seq_no))
            size = len(buffer)
            if size > self._high_water:
                self._high_water = size
        if size == self._batch_size:
            self._wake.set()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything handed over so far is stored or covered by a gap (blocking)."""
        with self._lock:
            target = self._handed
        self._wake.set()
        with self._progress:
            return self._progress.wait_for(lambda: self._handled >= target, timeout_s)

    def close(self) -> None:
        """Drain the buffer, stop the writer and mark the session ended with its totals (blocking)."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._accepting = False
        if self._writer is not None:
            self._wake.set()
            self._writer.join()
        if self._session_id is not None:
            self._end_session(self._session_id)
        if self._owns_engine:
            self._engine.dispose()

    async def aclose(self) -> None:
        """``close`` from the event loop, off the loop thread."""
        await asyncio.to_thread(self.close)

    def metrics(self) -> RecorderMetrics:
        batches = self._batches
        return RecorderMetrics(
            messages_seen=self._seq_no,
            messages_dropped=self._dropped,
            messages_write_failed=self._write_failed,
            rows_written=self._rows_written,
            batches_written=batches,
            gaps_written=self._gaps_written,
            markets_written=self._markets_written,
            invalidations_written=self._invalidations_written,
            write_errors=self._write_errors,
            buffer_len=len(self._buffer),
            buffer_high_water=self._high_water,
            write_latency_last_us=self._latency_last_ns // 1000,
            write_latency_max_us=self._latency_max_ns // 1000,
            write_latency_mean_us=self._latency_total_ns // 1000 // batches if batches else 0,
        )

    # -- writer thread -------------------------------------------------------------------------------

    def _run_writer(self) -> None:
        connection: Connection | None = None
        retry: list[_Kept] = []  # gaps, markets, invalidations of refused batches, for the next batch
        try:
            while True:
                self._wake.wait(self._flush_interval_s)
                self._wake.clear()
                if self._writer_gate is not None:
                    self._writer_gate.wait()
                with self._lock:
                    items, self._buffer = self._buffer, []
                    if self._pending_gap is not None:  # complete: the buffer has room again
                        items.append(self._pending_gap)
                        self._pending_gap = None
                    handled_upto = self._handed
                    closing = self._closing
                for start in range(0, max(len(items), 1), self._batch_size):
                    chunk = retry + items[start : start + self._batch_size]
                    if not chunk:
                        continue
                    retry = []
                    connection, retry = self._write_chunk(connection, chunk)
                with self._progress:
                    self._handled = handled_upto
                    self._progress.notify_all()
                if closing:
                    if retry:
                        log.error(
                            "recorder.gaps_unwritten",
                            extra={"session_id": self._session_id, "items": len(retry)},
                        )
                    return
        finally:
            if connection is not None:
                connection.close()

    def _write_chunk(
        self, connection: Connection | None, chunk: list[_Item]
    ) -> tuple[Connection | None, list[_Kept]]:
        """Insert one batch in one transaction; on failure return what to retry (messages as gaps)."""
        session_id = self._session_id
        assert session_id is not None
        rows = _rows(session_id, chunk)
        started_ns = time.perf_counter_ns()
        try:
            if connection is None:
                connection = self._engine.connect()
            with connection.begin():
                for table, table_rows in (
                    (_SNAPSHOTS, rows.snapshots),
                    (_DELTAS, rows.deltas),
                    (_GAPS, rows.gaps),
                    (_MARKETS, rows.markets),
                    (_INVALIDATIONS, rows.invalidations),
                ):
                    if table_rows:
                        connection.execute(insert(table), table_rows)
        except Exception:
            log.exception("recorder.batch_failed", extra={"session_id": session_id, "items": len(chunk)})
            self._write_errors += 1
            if connection is not None:
                connection.invalidate()
                connection.close()
            failed = _kept(chunk, self._clock.now_ms())
            self._write_failed += sum(1 for item in chunk if isinstance(item, tuple))
            return None, failed
        elapsed_ns = time.perf_counter_ns() - started_ns
        self._latency_last_ns = elapsed_ns
        self._latency_max_ns = max(self._latency_max_ns, elapsed_ns)
        self._latency_total_ns += elapsed_ns
        self._batches += 1
        self._rows_written += rows.count()
        self._gaps_written += len(rows.gaps)
        self._markets_written += len(rows.markets)
        self._invalidations_written += len(rows.invalidations)
        return connection, []

    def _end_session(self, session_id: int) -> None:
        values = {
            "ended_at_ms": self._clock.now_ms(),
            "status": SessionStatus.ENDED.value,
            "messages_seen": self._seq_no,
            "messages_dropped": self._dropped + self._write_failed,
        }
        with self._engine.begin() as connection:
            connection.execute(
                update(RecordingSession).where(RecordingSession.id == session_id).values(values)
            )


@dataclass(slots=True)
class _Rows:
    """One batch as insert parameters, per table."""

    snapshots: list[dict[str, Any]] = field(default_factory=list)
    deltas: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    markets: list[dict[str, Any]] = field(default_factory=list)
    invalidations: list[dict[str, Any]] = field(default_factory=list)

    def count(self) -> int:
        return (
            len(self.snapshots)
            + len(self.deltas)
            + len(self.gaps)
            + len(self.markets)
            + len(self.invalidations)
        )


def _rows(session_id: int, chunk: list[_Item]) -> _Rows:
    rows = _Rows()
    snapshots, deltas = rows.snapshots, rows.deltas
    for item in chunk:
        if isinstance(item, _Gap):
            rows.gaps.append(
                {
                    "session_id": session_id,
                    "after_seq_no": item.after_seq_no,
                    "dropped_count": item.dropped_count,
                    "reason": item.reason.value,
                    "at_ms": item.at_ms,
                }
            )
            continue
        if isinstance(item, _Market):
            rows.markets.append(
                {
                    "session_id": session_id,
                    "added_at_seq_no": item.after_seq_no,
                    "ticker": item.ticker,
                    "price_level_structure": item.grid.structure,
                    "price_ranges_json": json.dumps(item.grid.to_wire(), separators=(",", ":")),
                }
            )
            continue
        if isinstance(item, _Invalidation):
            rows.invalidations.append(
                {
                    "session_id": session_id,
                    "after_seq_no": item.after_seq_no,
                    "tickers": list(item.tickers),
                    "reason": item.reason,
                    "at_ms": item.at_ms,
                }
            )
            continue
        seq_no, msg = item
        if isinstance(msg, OrderbookDelta):
            deltas.append(
                {
                    "session_id": session_id,
                    "seq_no": seq_no,
                    "sid": msg.sid,
                    "seq": msg.seq,
                    "ticker": msg.ticker,
                    "side": msg.side.value,
                    "price_e4": int(msg.price),
                    "delta_e2": int(msg.delta),
                    "ts_ms": msg.ts_ms,
                    "client_order_id": msg.client_order_id,
                    "received_ns": msg.received_ns,
                }
            )
        else:
            snapshots.append(
                {
                    "session_id": session_id,
                    "seq_no": seq_no,
                    "sid": msg.sid,
                    "seq": msg.seq,
                    "ticker": msg.ticker,
                    "received_ns": msg.received_ns,
                    "yes_levels_e4_e2": encode_levels(msg.yes),
                    "no_levels_e4_e2": encode_levels(msg.no),
                }
            )
    return rows


def _kept(chunk: list[_Item], now_ms: int) -> list[_Kept]:
    """What a refused batch leaves to retry: its gaps, markets and invalidations as they were, and
    each run of consecutive messages as one ``write_failed`` gap."""
    kept: list[_Kept] = []
    run: _Gap | None = None  # the gap of the message run being extended
    for item in chunk:
        if not isinstance(item, tuple):
            kept.append(item)
            run = None  # messages after it are a new gap, so replay keeps the order exact
            continue
        seq_no = item[0]
        if run is not None and run.after_seq_no + run.dropped_count + 1 == seq_no:
            run.dropped_count += 1  # one gap per run, so a long outage does not pile up rows
        else:
            run = _Gap(seq_no - 1, 1, GapReason.WRITE_FAILED, now_ms)
            kept.append(run)
    return kept
