"""What the market-data recorder buffers, and how a batch of it becomes insert parameters.

The recorder (``marketdata/recorder.py``) hands its ``BatchWriter`` four kinds of item: a numbered
message ``(seq_no, snapshot | delta)``, a ``Gap`` (a run of lost messages), a ``MarketMark`` (a book
registered with its grid) and an ``Invalidation`` (books the stream stopped trusting). This module
turns a batch of them into rows (``build_rows``), inserts those rows in one transaction
(``insert_rows``) and, when the database refuses a batch, says what to carry into the next one
(``kept_after_failure``): the gaps, markets and invalidations as they were, and each run of
consecutive messages as one ``write_failed`` gap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.store.models import (
    Base,
    BookDeltaRow,
    BookSnapshotRow,
    GapReason,
    RecordingGapRow,
    RecordingInvalidationRow,
    RecordingMarketRow,
    encode_levels,
)

BookMessage = OrderbookSnapshot | OrderbookDelta

_SNAPSHOTS = Base.metadata.tables[BookSnapshotRow.__tablename__]
_DELTAS = Base.metadata.tables[BookDeltaRow.__tablename__]
_GAPS = Base.metadata.tables[RecordingGapRow.__tablename__]
_MARKETS = Base.metadata.tables[RecordingMarketRow.__tablename__]
_INVALIDATIONS = Base.metadata.tables[RecordingInvalidationRow.__tablename__]


@dataclass(slots=True)
class Gap:
    """A run of lost messages: ``after_seq_no + 1 .. after_seq_no + dropped_count``."""

    after_seq_no: int
    dropped_count: int
    reason: GapReason
    at_ms: int


@dataclass(frozen=True, slots=True)
class MarketMark:
    """``ticker`` was registered with ``grid`` after message ``after_seq_no``."""

    after_seq_no: int
    ticker: str
    grid: PriceGrid


@dataclass(frozen=True, slots=True)
class Invalidation:
    """The books of ``tickers`` stopped being trusted after message ``after_seq_no``."""

    after_seq_no: int
    tickers: tuple[str, ...]
    reason: str
    at_ms: int


# What a refused batch keeps for the next one: its gaps, markets and invalidations.
Kept = Gap | MarketMark | Invalidation
Item = tuple[int, BookMessage] | Kept


@dataclass(slots=True)
class Rows:
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


def build_rows(session_id: int, chunk: list[Item]) -> Rows:
    """``chunk`` as insert parameters for ``session_id``: one row per item."""
    rows = Rows()
    snapshots, deltas = rows.snapshots, rows.deltas
    for item in chunk:
        if isinstance(item, Gap):
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
        if isinstance(item, MarketMark):
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
        if isinstance(item, Invalidation):
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


def insert_rows(connection: Connection, rows: Rows) -> None:
    """Insert ``rows``, table by table, inside the caller's transaction."""
    for table, table_rows in (
        (_SNAPSHOTS, rows.snapshots),
        (_DELTAS, rows.deltas),
        (_GAPS, rows.gaps),
        (_MARKETS, rows.markets),
        (_INVALIDATIONS, rows.invalidations),
    ):
        if table_rows:
            connection.execute(insert(table), table_rows)


def kept_after_failure(chunk: list[Item], now_ms: int) -> list[Item]:
    """What a refused batch leaves to retry: its gaps, markets and invalidations as they were, and
    each run of consecutive messages as one ``write_failed`` gap."""
    kept: list[Item] = []
    run: Gap | None = None  # the gap of the message run being extended
    for item in chunk:
        if not isinstance(item, tuple):
            kept.append(item)
            run = None  # messages after it are a new gap, so replay keeps the order exact
            continue
        seq_no = item[0]
        if run is not None and run.after_seq_no + run.dropped_count + 1 == seq_no:
            run.dropped_count += 1  # one gap per run, so a long outage does not pile up rows
        else:
            run = Gap(seq_no - 1, 1, GapReason.WRITE_FAILED, now_ms)
            kept.append(run)
    return kept
