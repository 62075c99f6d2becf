"""All local order books, fed by the stream, and the dirty-market set the actor drains.

The stream client checks sequence numbers per subscription and hands every orderbook message to a
``BookSink``; ``BookStore`` is that sink. It keeps the architecture's two promises (section 2):

* **Books never drop a delta.** Every delta for a valid book is applied. A delta that cannot be
  applied exactly (off-grid, negative size) invalidates its book; a gap or dead subscription is
  reported by the stream through ``on_invalid``. Deltas for an invalid book are counted and ignored
  until a snapshot restores it. A message for a market that was never registered is counted and
  ignored, never a crash (it can be in flight after an unsubscribe).
* **The actor works on the latest book, not on a backlog.** Every change marks its market *dirty*.
  ``drain_dirty`` returns each changed market once, in the order they first changed, however many
  updates arrived meanwhile (conflation). The set is bounded by the number of markets. Updates
  coalesced = updates (deltas, snapshots, invalidations) marked minus markets drained.

All methods are synchronous and atomic on the event loop; only ``wait_dirty`` awaits.

The delta path is the hottest code of the trader (every message of the feed), so it reads the clock
only when a consumer needs the time: when a market turns dirty (its decision lag starts) and when
somebody subscribes to ``BookChanged`` (the observation's history). A delta folded into an already
dirty market with no subscriber costs the book work plus one test (the book's ``quiet`` flag, which
answers both questions and is refreshed when the market turns dirty, is drained, or the bus's
routing table changes); it counts nothing: update counts are derived from the ladders' versions when
the market is drained (``OrderBook.update_count``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from kalshiflow.clock import Clock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.events.bus import EventBus
from kalshiflow.events.trader import BookChanged
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.book import OrderBook

_YES: Final = OutcomeSide.YES
_BOOK_CHANGED: Final = BookChanged


class BookSink(Protocol):
    """What the orderbook stream client feeds; mirrors ``exchange.ws_stream.BookSink`` (structural).

    ``on_delta`` answers False when the delta could not be applied, so the stream asks for a fresh
    snapshot of that market.
    """

    def on_snapshot(self, snapshot: OrderbookSnapshot) -> None: ...

    def on_delta(self, delta: OrderbookDelta) -> bool: ...

    def on_invalid(self, tickers: Sequence[str], reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class BookStoreMetrics:
    """Counters since start.

    ``deltas_applied``: deltas that changed a valid book. ``deltas_ignored``: deltas for a book
    that was invalid (awaiting a snapshot). ``integrity_errors``: deltas or snapshots that made a
    book invalid. ``invalidations``: valid -> invalid transitions from any cause.
    ``unknown_ticker_messages``: snapshots and deltas for unregistered markets.
    ``updates_coalesced``: updates folded into an earlier pending one by conflation.
    ``markets_drained``: entries handed to the consumer. ``dirty_markets``: pending right now.
    """

    markets: int
    valid_markets: int
    deltas_applied: int
    deltas_ignored: int
    snapshots_applied: int
    invalidations: int
    integrity_errors: int
    unknown_ticker_messages: int
    updates_coalesced: int
    markets_drained: int
    dirty_markets: int


class BookStore:
    """One ``OrderBook`` per registered market plus the dirty-market set; satisfies ``BookSink``.

    ``on_integrity_error(ticker, reason)`` (optional) is called when the store itself finds a book
    broken by a delta or a snapshot it cannot apply exactly. A rejected delta also shows in
    ``on_delta``'s answer; a bad snapshot shows only here, so wire it to the stream's resync.
    """

    # Slots, not an instance dict: the delta path reads attributes on every call (the books, the
    # bus's routes, the clock), and a slot read is a fixed offset, not a dict lookup.
    __slots__ = (
        "_books",
        "_clock",
        "_coalesced",
        "_deltas_ignored",
        "_deltas_rejected",
        "_dirty",
        "_dirty_event",
        "_drained",
        "_integrity_errors",
        "_invalidations",
        "_on_integrity_error",
        "_routes",
        "_snapshots_applied",
        "_stream_invalidations",
        "_unknown",
        "_updates_drained",
        "_updates_orphaned",
        "bus",
    )

    def __init__(
        self,
        clock: Clock,
        on_integrity_error: Callable[[str, str], None] | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self._clock = clock
        # Every change is published as ``BookChanged`` when somebody subscribed to it.
        self.bus = bus or EventBus()
        self._routes = self.bus.routes  # live: who listens to which event type
        self.bus.watch_routes(self._routes_changed)  # the books' ``quiet`` flags follow it
        self._on_integrity_error = on_integrity_error
        self._books: dict[str, OrderBook] = {}
        # ticker -> clock ms when it became dirty (insertion order = order of first change); a book
        # in it has ``dirty`` set, which the delta path reads instead of looking the ticker up.
        self._dirty: dict[str, int] = {}
        self._dirty_event = asyncio.Event()
        # Every update that marks its market dirty (deltas for a valid book, snapshots, stream
        # invalidations) counts once: in its book's ``update_count`` until the market is drained,
        # then here; deltas applied are derived from that (see ``metrics``), so the delta path
        # pays for no counter at all.
        self._updates_drained = 0
        self._updates_orphaned = 0  # pending updates of books unregistered before their drain
        self._deltas_rejected = 0
        self._stream_invalidations = 0
        self._deltas_ignored = 0
        self._snapshots_applied = 0
        self._invalidations = 0
        self._integrity_errors = 0
        self._unknown = 0
        self._coalesced = 0
        self._drained = 0

    # ------------------------------------------------------------------ registry
    def register(self, ticker: str, grid: PriceGrid) -> OrderBook:
        """Create the market's book (invalid until its snapshot); idempotent for the same grid.

        Registering again with a different grid starts a fresh book: the old levels may not even
        lie on the new grid.
        """
        old = self._books.get(ticker)
        if old is not None and old.grid == grid:
            return old
        book = self._books[ticker] = OrderBook(ticker, grid)
        if old is not None:  # a pending change of the old book stays pending, drained with the new one
            book.dirty = old.dirty
            self._updates_orphaned += old.update_count() - old.updates_drained
        return book

    def unregister(self, ticker: str) -> bool:
        """Forget a market (after an unsubscribe); later messages for it count as unknown."""
        book = self._books.pop(ticker, None)
        if book is None:
            return False
        # Drained with the market, whose entry stays dirty.
        self._updates_orphaned += book.update_count() - book.updates_drained
        return True

    def book(self, ticker: str) -> OrderBook | None:
        return self._books.get(ticker)

    def is_valid(self, ticker: str) -> bool:
        book = self._books.get(ticker)
        return book is not None and book.valid

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(self._books)

    # ------------------------------------------------------------------ updates
    def apply_snapshot(self, snapshot: OrderbookSnapshot) -> bool:
        """Replace a book from a snapshot; True when the book is valid afterwards."""
        book = self._books.get(snapshot.ticker)
        if book is None:
            self._unknown += 1
            return False
        now_ms = self._clock.now_ms()
        was_valid = book.valid
        ok = book.apply_snapshot(snapshot.yes, snapshot.no, now_ms)
        self._snapshots_applied += 1
        self._mark(snapshot.ticker, book, now_ms)
        if not ok:
            if was_valid:
                self._invalidations += 1
            self._integrity_error(book)
        return ok

    def apply_delta(self, delta: OrderbookDelta) -> bool:
        """Apply one delta; False when the market is unknown, its book invalid, or the delta bad."""
        try:
            book = self._books[delta.ticker]
        except KeyError:
            return self._delta_not_taken(None)
        if not book.valid:
            return self._delta_not_taken(book)
        # The common case of ``OrderBook.apply_delta`` inlined: most deltas resize an existing level
        # and leave it positive (on-grid by construction, no re-sorting, touch prices unchanged).
        # One Python call per delta instead of two is a third of the store's cost; every other case
        # (a level appears or disappears, an integrity error) goes to the book, with the ladder and
        # the level's old size it would otherwise look up again (``OrderBook.change_level``).
        price = delta.price
        ladder = book.yes_bids if delta.side is _YES else book.no_bids
        sizes = ladder.sizes
        old = sizes.get(price)
        if old is not None and (new := old + (change := delta.delta)) > 0:
            sizes[price] = new
            ladder.total += change  # the ladder's running total and change count (``BidLadder``)
            ladder.version += 1
        elif not book.change_level(delta.side, ladder, price, delta.delta, old):
            return self._delta_rejected(book)
        # Nothing is counted here: the ladder's version already counts the update (see
        # ``OrderBook.update_count``). Only a market turning dirty or a subscriber to every change
        # needs the time: skip the clock otherwise. One flag of the book answers both ("dirty
        # already, nobody subscribed": ``_mark`` sets it) instead of a test of the book's ``dirty``
        # and a lookup in the bus's routing table on every delta.
        if not book.quiet:
            self._mark(book.ticker, book, self._clock.now_ms())
        return True

    def _delta_not_taken(self, book: OrderBook | None) -> bool:
        if book is None:
            self._unknown += 1
        else:
            self._deltas_ignored += 1
        return False

    def _delta_rejected(self, book: OrderBook) -> bool:
        book.unversioned_updates += 1
        self._deltas_rejected += 1
        self._invalidations += 1
        self._mark(book.ticker, book, self._clock.now_ms())
        self._integrity_error(book)
        return False

    def _integrity_error(self, book: OrderBook) -> None:
        self._integrity_errors += 1
        if self._on_integrity_error is not None:
            self._on_integrity_error(book.ticker, book.invalid_reason or "integrity error")

    def invalidate(self, tickers: Iterable[str], reason: str) -> int:
        """Mark books unusable until their next snapshot; returns how many became invalid."""
        now_ms = self._clock.now_ms()
        changed = 0
        for ticker in tickers:
            book = self._books.get(ticker)
            if book is not None and book.invalidate(reason):
                changed += 1
                book.unversioned_updates += 1
                self._mark(ticker, book, now_ms)
        self._invalidations += changed
        self._stream_invalidations += changed
        return changed

    def _mark(self, ticker: str, book: OrderBook, now_ms: int) -> None:
        """The one notification point of a change: publish it, stamp the dirty set."""
        routed = _BOOK_CHANGED in self._routes
        if routed:  # an event nobody reads is not even built
            self.bus.publish(
                BookChanged(ticker, now_ms, book.valid, book.best_bid(_YES), book.best_ask(_YES))
            )
        book.quiet = not routed  # dirty from here on: its next delta needs no mark unless published
        if book.dirty:
            return
        book.dirty = True
        dirty = self._dirty
        if ticker not in dirty:  # it may be, for a book registered again while its market was dirty
            if not dirty:
                self._dirty_event.set()
            dirty[ticker] = now_ms

    def _routes_changed(self) -> None:
        """Somebody subscribed to the bus or left it: a dirty book is quiet exactly when nobody
        listens to ``BookChanged`` now (the rest are not quiet anyway)."""
        quiet = _BOOK_CHANGED not in self._routes
        for book in self._books.values():
            book.quiet = book.dirty and quiet

    # ------------------------------------------------------------------ BookSink
    def on_snapshot(self, snapshot: OrderbookSnapshot) -> None:
        self.apply_snapshot(snapshot)

    # The same function, not a wrapper: the stream calls this once per delta.
    on_delta = apply_delta

    def on_invalid(self, tickers: Iterable[str], reason: str) -> None:
        self.invalidate(tickers, reason)

    # ------------------------------------------------------------------ consumer side
    def drain_dirty(self) -> list[str]:
        """Markets changed since the last drain, each once, oldest change first."""
        return [ticker for ticker, _ in self.drain_dirty_since()]

    def drain_dirty_since(self) -> list[tuple[str, int]]:
        """Like ``drain_dirty`` with the clock ms each market first changed (for decision lag).

        A market unregistered while dirty is dropped here but still counts as drained, so the
        coalesced count stays exact.
        """
        if not self._dirty:
            return []
        pending = self._dirty
        self._dirty = {}
        books = self._books
        updates, self._updates_orphaned = self._updates_orphaned, 0
        for ticker in pending:
            if (book := books.get(ticker)) is not None:
                count = book.update_count()
                updates += count - book.updates_drained
                book.updates_drained = count
                book.dirty = book.quiet = False
        self._updates_drained += updates
        self._coalesced += updates - len(pending)
        self._drained += len(pending)
        return [(ticker, since_ms) for ticker, since_ms in pending.items() if ticker in books]

    @property
    def dirty_count(self) -> int:
        return len(self._dirty)

    async def wait_dirty(self) -> None:
        """Return as soon as at least one market is dirty (immediately if one already is)."""
        while not self._dirty:
            self._dirty_event.clear()
            await self._dirty_event.wait()

    def metrics(self) -> BookStoreMetrics:
        return BookStoreMetrics(
            markets=len(self._books),
            valid_markets=sum(1 for book in self._books.values() if book.valid),
            deltas_applied=self._updates_drained
            + self._updates_orphaned
            + sum(book.update_count() - book.updates_drained for book in self._books.values())
            - self._snapshots_applied
            - self._deltas_rejected
            - self._stream_invalidations,
            deltas_ignored=self._deltas_ignored,
            snapshots_applied=self._snapshots_applied,
            invalidations=self._invalidations,
            integrity_errors=self._integrity_errors,
            unknown_ticker_messages=self._unknown,
            updates_coalesced=self._coalesced,
            markets_drained=self._drained,
            dirty_markets=len(self._dirty),
        )
