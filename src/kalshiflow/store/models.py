"""The database schema as typed SQLAlchemy 2 models: one ``Base`` for everything the trader stores.

This module describes tables; migrations (``store/migrations/versions``) create them. Later issues add
orders, fills, positions, calibration reports and drift events here and in a new migration each.

Invariants every table keeps:

* Prices, counts and money are integers in the domain units and the column name says the unit:
  ``_e4`` is $0.0001 (``Price``), ``_e2`` is 0.01 contract (``Count``), ``_e6`` is $0.000001
  (``Money``). Times are ``_ms`` (epoch milliseconds, the API's unit) or ``_ns`` (local monotonic).
* Recordings are ordered by ``seq_no``: the recorder numbers every message it is handed, 1, 2, 3 ...
  within a session, across snapshots and deltas. A message that could not be stored leaves its
  number unused and a ``recording_gaps`` row covers it, so "every number is a message or inside a
  gap" proves nothing was lost silently. ``(session_id, seq_no)`` is the primary key of both message
  tables, which is also the index replay reads in.
* Market registrations (``recording_markets``) and book invalidations (``recording_invalidations``)
  take no ``seq_no`` of their own: each is stored at its position, after message ``N`` and before
  ``N + 1`` (``N = 0`` before the first message). They are never dropped, so a replay can rebuild
  the books (grids included) and their validity from the recording alone.
* Book levels of a snapshot are stored compactly as JSON text ``[[price_e4, count_e2], ...]``
  (ascending by price, exact ints) -- one row per snapshot, not one per level.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so later migrations can alter constraints on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-numbers an ``INTEGER PRIMARY KEY``; PostgreSQL gets a 64-bit identity.
BigIntPk = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SessionStatus(StrEnum):
    RECORDING = "recording"  # the recorder is (or was, if it crashed) writing this session
    ENDED = "ended"  # closed cleanly: everything handed to the recorder is stored or in a gap


class RecordingSession(Base):
    """One run of the recorder: where the messages came from and for which markets."""

    __tablename__ = "recording_sessions"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    started_at_ms: Mapped[int] = mapped_column(BigInteger)
    ended_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    exchange: Mapped[str] = mapped_column(String(64))  # e.g. "kalshi-prod", "kalshi-demo", "sim"
    source_url: Mapped[str] = mapped_column(Text)  # without credentials or query string
    markets: Mapped[list[str]] = mapped_column(JSON)  # tickers subscribed at the start
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.RECORDING.value)
    notes: Mapped[str | None] = mapped_column(Text)
    messages_seen: Mapped[int] = mapped_column(BigInteger, default=0)  # filled in at close
    messages_dropped: Mapped[int] = mapped_column(BigInteger, default=0)  # filled in at close


class BookSnapshotRow(Base):
    """An ``orderbook_snapshot`` as received: both bid ladders of one market."""

    __tablename__ = "book_snapshots"

    session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("recording_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    seq_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sid: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    ticker: Mapped[str] = mapped_column(String(128))
    received_ns: Mapped[int] = mapped_column(BigInteger)
    yes_levels_e4_e2: Mapped[str] = mapped_column(Text)  # JSON [[price_e4, count_e2], ...]
    no_levels_e4_e2: Mapped[str] = mapped_column(Text)  # NO bids in NO-leg prices


class BookDeltaRow(Base):
    """An ``orderbook_delta`` as received: one level of one ladder changed by ``delta_e2``."""

    __tablename__ = "book_deltas"

    session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("recording_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    seq_no: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sid: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(BigInteger)
    ticker: Mapped[str] = mapped_column(String(128))
    side: Mapped[str] = mapped_column(String(3))  # "yes" | "no": which bid ladder
    price_e4: Mapped[int] = mapped_column(Integer)  # in the side's own leg price
    delta_e2: Mapped[int] = mapped_column(BigInteger)  # signed
    ts_ms: Mapped[int | None] = mapped_column(BigInteger)
    client_order_id: Mapped[str | None] = mapped_column(Text)
    received_ns: Mapped[int] = mapped_column(BigInteger)


class RecordingGapRow(Base):
    """Messages ``after_seq_no + 1 .. after_seq_no + dropped_count`` were handed over but not stored."""

    __tablename__ = "recording_gaps"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("recording_sessions.id", ondelete="CASCADE"), index=True
    )
    after_seq_no: Mapped[int] = mapped_column(BigInteger)
    dropped_count: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(64))  # GapReason value
    at_ms: Mapped[int] = mapped_column(BigInteger)  # clock time of the first lost message


class RecordingMarketRow(Base):
    """A market the feed registered (at the start or on a refresh) and the price grid it registered.

    Written in order with the messages, after message ``added_at_seq_no`` (0: before any) and before
    the next: replay registers the market's book there, before its first snapshot, so a recording
    rebuilds books without any grid from outside. Markets are never dropped like messages.
    """

    __tablename__ = "recording_markets"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("recording_sessions.id", ondelete="CASCADE"), index=True
    )
    added_at_seq_no: Mapped[int] = mapped_column(BigInteger)  # after this message, before the next
    ticker: Mapped[str] = mapped_column(String(128))
    price_level_structure: Mapped[str] = mapped_column(String(64))  # PriceGrid.structure
    price_ranges_json: Mapped[str] = mapped_column(Text)  # PriceGrid.to_wire() as JSON text


class RecordingInvalidationRow(Base):
    """The stream stopped trusting these books (sequence gap, reconnect, unsubscribe ...).

    Written in order with the messages, after message ``after_seq_no`` (0: before any): replay
    invalidates the same books at the same point, so replayed validity follows the live store's.
    """

    __tablename__ = "recording_invalidations"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("recording_sessions.id", ondelete="CASCADE"), index=True
    )
    after_seq_no: Mapped[int] = mapped_column(BigInteger)
    tickers: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    at_ms: Mapped[int] = mapped_column(BigInteger)  # clock time it was handed to the recorder


class GapReason(StrEnum):
    BUFFER_OVERFLOW = "buffer_overflow"  # the writer fell behind and the bounded buffer was full
    WRITE_FAILED = "write_failed"  # the database refused a batch (disk full, connection lost, ...)


def encode_levels(levels: Iterable[tuple[int, int]]) -> str:
    """``[(price_e4, count_e2), ...]`` as compact JSON text; ints stay exact (no floats involved)."""
    return "[" + ",".join(f"[{int(price)},{int(count)}]" for price, count in levels) + "]"


def decode_levels(text: str) -> list[tuple[int, int]]:
    """Inverse of ``encode_levels``; refuses anything that is not a list of integer pairs."""
    decoded = json.loads(text)
    levels: list[tuple[int, int]] = []
    for level in decoded:
        price, count = level
        if type(price) is not int or type(count) is not int:
            raise ValueError(f"book level {level!r} is not a pair of integers")
        levels.append((price, count))
    return levels
