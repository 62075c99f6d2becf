"""Per-``sid`` sequence checks and per-market book trust, kept apart from any I/O.

Why: "books never drop a delta" (ARCHITECTURE §2) is only true if every anomaly in a subscription's
``seq`` stream is noticed and every affected book is distrusted until a fresh snapshot arrives.
These two small state holders make that decision table explicit and unit-testable:

* ``SequenceTracker`` classifies each sequenced message of a sid: the first one seen (any value),
  the next one (``last + 1``), a gap (``> last + 1``: something was lost) or stale (``<= last``: a
  duplicate or out-of-order message). After a gap the new value becomes the baseline, so one loss
  is reported once.
* ``BookGate`` holds each market's ``BookPhase``. A book becomes ``VALID`` only by a snapshot and
  leaves it on any invalidation; deltas for a book that is not valid are refused (the caller counts
  them). A book awaiting its snapshot carries a deadline and an escalation level: first a
  ``get_snapshot`` request, then an unsubscribe+resubscribe, then a full reconnect.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class SeqVerdict(StrEnum):
    FIRST = "first"
    NEXT = "next"
    GAP = "gap"
    STALE = "stale"  # duplicate or out of order

    @property
    def is_anomaly(self) -> bool:
        return self in (SeqVerdict.GAP, SeqVerdict.STALE)


# Members bound to module names: an enum member read through its class is a descriptor lookup, and
# ``observe`` runs once per orderbook message.
_FIRST, _NEXT, _GAP, _STALE = SeqVerdict.FIRST, SeqVerdict.NEXT, SeqVerdict.GAP, SeqVerdict.STALE


class SequenceTracker:
    """The last ``seq`` seen per sid of the current connection."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}

    def observe(self, sid: int, seq: int) -> SeqVerdict:
        last = self._last.get(sid)
        if last is None:
            self._last[sid] = seq
            return _FIRST
        if seq == last + 1:
            self._last[sid] = seq
            return _NEXT
        if seq > last:
            self._last[sid] = seq
            return _GAP
        return _STALE

    def forget(self, sid: int) -> None:
        self._last.pop(sid, None)

    def clear(self) -> None:
        """A new connection numbers everything afresh."""
        self._last.clear()


class BookPhase(StrEnum):
    AWAITING_SNAPSHOT = "awaiting_snapshot"
    VALID = "valid"


class Escalation(IntEnum):
    """What has been tried to refresh an invalid book; the next deadline moves one step up."""

    SNAPSHOT_REQUESTED = 0
    RESUBSCRIBED = 1
    RECONNECT = 2


@dataclass(slots=True)
class _Pending:
    deadline: float
    escalation: Escalation


@dataclass(frozen=True, slots=True)
class Overdue:
    """Books whose refresh missed its deadline, and the step to take now."""

    tickers: tuple[str, ...]
    action: Escalation


class BookGate:
    """Which books may take deltas, and which refreshes are overdue."""

    def __init__(self, resync_deadline_s: float) -> None:
        self.resync_deadline_s = resync_deadline_s
        self._phase: dict[str, BookPhase] = {}
        self._pending: dict[str, _Pending] = {}

    def track(self, tickers: Iterable[str], now: float) -> None:
        """Start following markets: they await their first snapshot."""
        for ticker in tickers:
            if ticker not in self._phase:
                self._phase[ticker] = BookPhase.AWAITING_SNAPSHOT
                self._pending[ticker] = _Pending(now + self.resync_deadline_s, Escalation.SNAPSHOT_REQUESTED)

    def forget(self, tickers: Iterable[str]) -> None:
        for ticker in tickers:
            self._phase.pop(ticker, None)
            self._pending.pop(ticker, None)

    def invalidate(self, tickers: Iterable[str], now: float) -> list[str]:
        """Mark books invalid; returns those that were valid until now (the caller reports them)."""
        newly: list[str] = []
        for ticker in tickers:
            if ticker not in self._phase:
                continue
            if self._phase[ticker] is BookPhase.VALID:
                newly.append(ticker)
                self._phase[ticker] = BookPhase.AWAITING_SNAPSHOT
            if ticker not in self._pending:
                self._pending[ticker] = _Pending(now + self.resync_deadline_s, Escalation.SNAPSHOT_REQUESTED)
        return newly

    def on_snapshot(self, ticker: str) -> bool:
        """A snapshot makes a tracked book valid; False if the market is not tracked."""
        if ticker not in self._phase:
            return False
        self._phase[ticker] = BookPhase.VALID
        self._pending.pop(ticker, None)
        return True

    def accepts_delta(self, ticker: str) -> bool:
        return self._phase.get(ticker) is BookPhase.VALID

    def phase(self, ticker: str) -> BookPhase | None:
        return self._phase.get(ticker)

    def tracked(self) -> list[str]:
        return list(self._phase)

    def awaiting(self) -> list[str]:
        return [t for t, p in self._phase.items() if p is BookPhase.AWAITING_SNAPSHOT]

    def overdue(self, now: float) -> Overdue | None:
        """Books past their deadline, escalated one step (the most severe step wins)."""
        late = [t for t, p in self._pending.items() if p.deadline <= now]
        if not late:
            return None
        action = Escalation(min(Escalation.RECONNECT, max(self._pending[t].escalation for t in late) + 1))
        for ticker in late:
            self._pending[ticker] = _Pending(now + self.resync_deadline_s, action)
        return Overdue(tuple(late), action)

    def restart_deadlines(self, now: float) -> None:
        """After a reconnect every awaiting book gets a fresh deadline and starts from step one."""
        for ticker in self.awaiting():
            self._pending[ticker] = _Pending(now + self.resync_deadline_s, Escalation.SNAPSHOT_REQUESTED)
