"""Read a recorded session back as the same typed messages the stream produced, in recording order.

``ReplayReader`` yields ``OrderbookSnapshot`` and ``OrderbookDelta`` values equal to the ones handed
to the recorder (exact ``Price``/``Count`` ints, every field), a ``RecordedMarket`` where the feed
registered a market (with its price grid; always before that market's first snapshot), a
``RecordedInvalidation`` where the stream stopped trusting books, and a ``RecordingGap`` where
messages were lost. The last three sit right after the message they followed (``seq_no`` /
``after_seq_no``; 0 = before the first message); at one position markets come first, then
invalidations, then a gap.

``replay_into(books, reader)`` applies a whole session to a ``BookStore`` -- registering every market
with its recorded grid, applying snapshots and deltas, invalidating where the live store was
invalidated and invalidating every book of the session at a gap (the lost messages may have changed
any of them; each book is trusted again from its next snapshot). No grid or book from outside is
needed: the rebuilt books, and whether each is valid, follow the live store message for message.

Reading is streamed: each table is paged by ``(session_id, seq_no)`` keyset queries of
``chunk_size`` rows and the three pages are merged, so a session of any length replays in bounded
memory and without holding a transaction open against the recorder's writer.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Self

from sqlalchemy import ColumnElement, Engine, Row, select, tuple_

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import Level, OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.bookstore import BookStore
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
    decode_levels,
)

DEFAULT_CHUNK_SIZE: Final = 5_000


@dataclass(frozen=True, slots=True)
class RecordingGap:
    """Messages ``after_seq_no + 1 .. after_seq_no + dropped_count`` were not recorded."""

    after_seq_no: int
    dropped_count: int
    reason: GapReason
    at_ms: int


@dataclass(frozen=True, slots=True)
class RecordedMarket:
    """The feed registered ``ticker``'s book with ``grid`` after message ``seq_no`` (0: before any).

    The feed registers a market only when it (re)subscribes it, so its book starts empty and invalid
    here and becomes valid with its next snapshot.
    """

    ticker: str
    grid: PriceGrid
    seq_no: int


@dataclass(frozen=True, slots=True)
class RecordedInvalidation:
    """The stream stopped trusting the books of ``tickers`` after message ``seq_no`` (0: before any)."""

    tickers: tuple[str, ...]
    reason: str
    seq_no: int


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    """What ``replay_into`` applied: items of each kind, in the session's order."""

    markets: int
    snapshots: int
    deltas: int
    invalidations: int
    gaps: int

    @property
    def messages(self) -> int:
        """Snapshots + deltas: the session's stored messages."""
        return self.snapshots + self.deltas


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    started_at_ms: int
    ended_at_ms: int | None
    exchange: str
    source_url: str
    markets: tuple[str, ...]
    status: SessionStatus
    notes: str | None
    messages_seen: int  # totals written at close; 0 while recording or after a crash
    messages_dropped: int


ReplayItem = OrderbookSnapshot | OrderbookDelta | RecordedMarket | RecordedInvalidation | RecordingGap

# Order of the items stored at one position (after the same message).
_MESSAGE, _MARKET, _INVALIDATION, _GAP = range(4)


def _open(database: str | Engine) -> tuple[Engine, bool]:
    if isinstance(database, Engine):
        return database, False
    return db.open_engine(database), True


_SESSIONS = Base.metadata.tables[RecordingSession.__tablename__]


def _session_info(row: Row[Any]) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        started_at_ms=row.started_at_ms,
        ended_at_ms=row.ended_at_ms,
        exchange=row.exchange,
        source_url=row.source_url,
        markets=tuple(row.markets),
        status=SessionStatus(row.status),
        notes=row.notes,
        messages_seen=row.messages_seen,
        messages_dropped=row.messages_dropped,
    )


def list_sessions(database: str | Engine) -> list[SessionInfo]:
    """Every recorded session, oldest first."""
    engine, owned = _open(database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(_SESSIONS).order_by(_SESSIONS.c.id)).all()
        return [_session_info(row) for row in rows]
    finally:
        if owned:
            engine.dispose()


def _levels(text: str) -> tuple[Level, ...]:
    return tuple((Price(price), Count(count)) for price, count in decode_levels(text))


class ReplayReader:
    """Iterate one recorded session: ``for item in ReplayReader(db, session_id): ...``.

    ``database`` is a ``--db`` URL (opened here, disposed by ``close``) or an ``Engine``. Iterating
    again starts again from the beginning.
    """

    def __init__(self, database: str | Engine, session_id: int, *, chunk_size: int = DEFAULT_CHUNK_SIZE):
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        self._engine, self._owns_engine = _open(database)
        self.session_id = session_id
        self._chunk_size = chunk_size

    def session(self) -> SessionInfo:
        with self._engine.connect() as connection:
            row = connection.execute(select(_SESSIONS).where(_SESSIONS.c.id == self.session_id)).one_or_none()
        if row is None:
            raise LookupError(f"no recording session {self.session_id}")
        return _session_info(row)

    def __iter__(self) -> Iterator[ReplayItem]:
        # Key (seq_no, rank): a market, invalidation or gap stored after message N follows it and
        # precedes message N + 1. At one position markets, then invalidations, then a gap: whatever
        # was handed over before a loss is stored ahead of the gap that starts there.
        merged = heapq.merge(
            ((key, _MESSAGE, item) for key, item in self._snapshots()),
            ((key, _MESSAGE, item) for key, item in self._deltas()),
            ((key, _MARKET, item) for key, item in self._markets()),
            ((key, _INVALIDATION, item) for key, item in self._invalidations()),
            ((key, _GAP, item) for key, item in self._gaps()),
            key=lambda entry: (entry[0], entry[1]),
        )
        for _, _, item in merged:
            yield item

    def close(self) -> None:
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _snapshots(self) -> Iterator[tuple[int, ReplayItem]]:
        table = Base.metadata.tables[BookSnapshotRow.__tablename__]
        for row in self._pages(table, table.c.seq_no):
            yield (
                row.seq_no,
                OrderbookSnapshot(
                    sid=row.sid,
                    seq=row.seq,
                    ticker=row.ticker,
                    yes=_levels(row.yes_levels_e4_e2),
                    no=_levels(row.no_levels_e4_e2),
                    received_ns=row.received_ns,
                ),
            )

    def _deltas(self) -> Iterator[tuple[int, ReplayItem]]:
        # The bulk of a recording: built positionally, the side looked up rather than constructed
        # (an enum call per row was a fifth of the row's cost).
        table = Base.metadata.tables[BookDeltaRow.__tablename__]
        sides = {side.value: side for side in OutcomeSide}
        for row in self._pages(table, table.c.seq_no):
            side = sides.get(row.side)
            yield (
                row.seq_no,
                OrderbookDelta(
                    row.sid,
                    row.seq,
                    row.ticker,
                    OutcomeSide(row.side) if side is None else side,  # an unknown side raises as before
                    Price(row.price_e4),
                    Count(row.delta_e2),
                    row.ts_ms,
                    row.client_order_id,
                    row.received_ns,
                ),
            )

    def _markets(self) -> Iterator[tuple[int, ReplayItem]]:
        table = Base.metadata.tables[RecordingMarketRow.__tablename__]
        for row in self._pages(table, table.c.added_at_seq_no, table.c.id):
            grid = PriceGrid.from_wire(row.price_level_structure, json.loads(row.price_ranges_json))
            yield row.added_at_seq_no, RecordedMarket(row.ticker, grid, row.added_at_seq_no)

    def _invalidations(self) -> Iterator[tuple[int, ReplayItem]]:
        table = Base.metadata.tables[RecordingInvalidationRow.__tablename__]
        for row in self._pages(table, table.c.after_seq_no, table.c.id):
            yield row.after_seq_no, RecordedInvalidation(tuple(row.tickers), row.reason, row.after_seq_no)

    def _gaps(self) -> Iterator[tuple[int, ReplayItem]]:
        table = Base.metadata.tables[RecordingGapRow.__tablename__]
        for row in self._pages(table, table.c.after_seq_no, table.c.id):
            yield (
                row.after_seq_no,
                RecordingGap(row.after_seq_no, row.dropped_count, GapReason(row.reason), row.at_ms),
            )

    def _pages(self, table: Any, *keys: ColumnElement[int]) -> Iterator[Row[Any]]:
        """Rows of ``table`` for this session in ``keys`` order, ``chunk_size`` rows per query."""
        last: tuple[int, ...] | None = None
        position = tuple_(*keys) if len(keys) > 1 else keys[0]
        while True:
            query = select(table).where(table.c.session_id == self.session_id)
            if last is not None:
                query = query.where(position > (tuple_(*last) if len(last) > 1 else last[0]))
            query = query.order_by(*keys).limit(self._chunk_size)
            with self._engine.connect() as connection:
                rows = connection.execute(query).all()
            yield from rows
            if len(rows) < self._chunk_size:
                return
            last = tuple(rows[-1]._mapping[key] for key in keys)


def replay_into(books: BookStore, reader: Iterable[ReplayItem]) -> ReplaySummary:
    """Apply a whole recorded session (a ``ReplayReader``) to ``books``, in order; no grids needed.

    * ``RecordedMarket``: the market gets a fresh book on its recorded grid (the feed registers a
      market only when it (re)subscribes it, so a book left from before starts over too).
    * ``OrderbookSnapshot`` / ``OrderbookDelta``: applied exactly as the live store applied them (a
      delta the live store refused breaks the replayed book at the same point).
    * ``RecordedInvalidation``: the same books are invalidated with the same reason.
    * ``RecordingGap``: every book of the session (each market registered or snapshotted so far) is
      invalidated, since the lost messages may have changed any of them; each is valid again from
      its next snapshot.

    ``books`` is normally a fresh ``BookStore``; its clock stamps the replayed updates.
    """
    session_tickers: dict[str, None] = {}  # ordered set: registered or snapshotted so far
    markets = snapshots = deltas = invalidations = gaps = 0
    apply_delta = books.apply_delta
    for item in reader:
        if isinstance(item, OrderbookDelta):
            apply_delta(item)
            deltas += 1
        elif isinstance(item, OrderbookSnapshot):
            session_tickers[item.ticker] = None
            books.apply_snapshot(item)
            snapshots += 1
        elif isinstance(item, RecordedMarket):
            session_tickers[item.ticker] = None
            books.unregister(item.ticker)
            books.register(item.ticker, item.grid)
            markets += 1
        elif isinstance(item, RecordedInvalidation):
            books.invalidate(item.tickers, item.reason)
            invalidations += 1
        else:
            books.invalidate(
                session_tickers,
                f"recording gap: {item.dropped_count} messages lost after seq_no {item.after_seq_no} "
                f"({item.reason.value})",
            )
            gaps += 1
    return ReplaySummary(markets, snapshots, deltas, invalidations, gaps)
