"""Applying orderbook messages to the ``BookSink`` under the sequence rules, synchronously.

Why: this is the hot path and the heart of "books never drop a delta" (ARCHITECTURE §2), so it is
kept small and free of I/O. For each snapshot or delta of the orderbook subscription:

* its ``seq`` is checked; a gap or a stale (duplicate/out-of-order) message distrusts every book of
  the subscription (one lost message could have been for any of them);
* a delta is applied only to a valid book; deltas for a book awaiting its snapshot are counted as
  skipped; a delta the sink refuses distrusts that book;
* a snapshot makes its book valid again.

Every distrusted book is reported once to the sink (``on_invalid``) and put in ``wanted``, the set
of books whose fresh snapshot the stream must request; ``wanted_event`` wakes the requester, which
coalesces everything that accumulated into one ``get_snapshot``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.exchange.ws_sequence import BookGate, SequenceTracker, SeqVerdict
from kalshiflow.exchange.ws_status import StreamMetrics

_NEXT = SeqVerdict.NEXT


class BookSink(Protocol):
    """Where orderbook messages go, synchronously, in arrival order (a BookStore, or a test dict)."""

    def on_snapshot(self, snapshot: OrderbookSnapshot) -> None: ...

    def on_delta(self, delta: OrderbookDelta) -> bool:
        """Apply one delta; False if the book cannot take it (e.g. a level would go negative)."""
        ...

    def on_invalid(self, tickers: Sequence[str], reason: str) -> None: ...


class BookFeed:
    def __init__(
        self,
        sink: BookSink,
        gate: BookGate,
        seq: SequenceTracker,
        metrics: StreamMetrics,
        is_book_sid: Callable[[int], bool],
        now: Callable[[], float],
    ) -> None:
        self.sink = sink
        self.gate = gate
        self.seq = seq
        self.metrics = metrics
        self.wanted: set[str] = set()
        self.wanted_event = asyncio.Event()
        self._is_book_sid = is_book_sid
        self._now = now

    def invalidate(self, tickers: Sequence[str], reason: str) -> None:
        """Distrust books without asking for snapshots (a new subscription will bring them)."""
        newly = self.gate.invalidate(tickers, self._now())
        if newly:
            self.sink.on_invalid(newly, reason)

    def resync(self, tickers: Sequence[str], reason: str) -> None:
        """Distrust books and ask for their snapshots."""
        self.invalidate(tickers, reason)
        self.wanted.update(tickers)
        self.wanted_event.set()

    def forget(self, tickers: Sequence[str], reason: str) -> None:
        tickers = list(tickers)
        self.gate.forget(tickers)
        if tickers:
            self.sink.on_invalid(tickers, reason)

    def _check(self, sid: int, seq: int) -> SeqVerdict | None:
        """None: the sid is not (or no longer) our orderbook subscription; the message is ignored."""
        if not self._is_book_sid(sid):
            return None
        verdict = self.seq.observe(sid, seq)
        if verdict is SeqVerdict.GAP:
            self.metrics.gaps += 1
            self.resync(self.gate.tracked(), "seq gap")
        elif verdict is SeqVerdict.STALE:
            self.metrics.stale_messages += 1
            self.resync(self.gate.tracked(), "duplicate or out-of-order seq")
        return verdict

    def on_delta(self, delta: OrderbookDelta) -> None:
        verdict = self._check(delta.sid, delta.seq)
        if verdict is None:
            return
        # NEXT (nearly every delta) is tested by identity before the anomaly property is read.
        if (verdict is not _NEXT and verdict.is_anomaly) or not self.gate.accepts_delta(delta.ticker):
            self.metrics.deltas_skipped += 1
            return
        if self.sink.on_delta(delta):
            self.metrics.deltas_applied += 1
        else:
            self.metrics.deltas_rejected += 1
            self.resync([delta.ticker], "delta rejected by book")

    def on_snapshot(self, snapshot: OrderbookSnapshot) -> bool:
        """True if the snapshot was applied (its book is valid now)."""
        verdict = self._check(snapshot.sid, snapshot.seq)
        if verdict is None or verdict is SeqVerdict.STALE or self.gate.phase(snapshot.ticker) is None:
            return False
        self.sink.on_snapshot(snapshot)
        self.gate.on_snapshot(snapshot.ticker)
        self.metrics.snapshots_applied += 1
        return True
