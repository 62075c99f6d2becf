"""Open positions as the rules and the risk gate read them, kept current instead of rebuilt per call.

Why: every decision asked the core for ``position_views()`` twice (the observation and the risk
context) and for the unrealized P&L of every position (the kill switch), and each call built a
fresh dict of ``PositionView`` and re-valued every position with exact ``Fraction`` fee arithmetic:
the largest step of the decision path, growing with the number of positions. Here a view is
rebuilt only for a market whose position changed -- told by the ledger's ``PositionChanged``
events, drained before every read, so a read never sees a stale view -- or whose entry reference
changed (``refresh``). A position's unrealized P&L is recomputed only when its position changed,
its book changed (the store's ``BookChanged`` events, noted on the loop turn after they happen and
again before every read) or the market views were rebuilt (fees, statuses); the total is a running
sum of those parts, so a read costs O(changed positions), not O(positions).

The views are ``PositionView(ticker, position, cost basis, opened at, fees paid, entry exit
price)`` for the ledger's open positions, in the ledger's order, exactly as before; a position with
no opening time (never set by the ledger's own paths) is dated ``now`` at each read, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from kalshiflow.clock import Clock
from kalshiflow.domain.units import Price
from kalshiflow.events.bus import EventBus, Missed
from kalshiflow.events.ledger import PositionChanged
from kalshiflow.events.trader import BookChanged
from kalshiflow.features.valuation import BookView, MarketView, PositionView, exit_price, unrealized_at_exit
from kalshiflow.trader.state.ledger import Ledger


class BookSource(Protocol):
    """The part of ``BookStore`` read here: each market's book and the bus its changes go to."""

    @property
    def bus(self) -> EventBus: ...

    def book(self, ticker: str) -> BookView | None: ...


class PositionViews:
    def __init__(
        self,
        ledger: Ledger,
        bus: EventBus,
        clock: Clock,
        books: BookSource,
        market_views: Callable[[], Mapping[str, MarketView]],
        entry_reference: Callable[[str], Price | None],
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._books = books
        self._market_views = market_views
        self._reference = entry_reference
        # Unbounded in practice (one event per position change); a lost event means a full rebuild.
        self._changes = bus.subscribe("core.position_views", [PositionChanged], max_queue=100_000)
        self._book_changes = books.bus.subscribe(
            "core.position_valuations", [BookChanged], max_queue=100_000, on_ready=self._note_book_changes
        )
        self._views: dict[str, PositionView] = {}
        self._undated: set[str] = set()  # open positions without an opening time: dated per read
        self._valued: dict[str, int] = {}  # ticker -> unrealized of its last valuation
        # ticker -> (view, market view, exit price) that last valuation read: see ``unrealized``.
        self._valued_from: dict[str, tuple[PositionView, MarketView, Price | None]] = {}
        self._unrealized = 0  # sum of ``_valued``
        self._stale: set[str] = set()  # positions to re-value before the next read
        self._markets_seen: Mapping[str, MarketView] | None = None
        self.rebuild()

    def views(self) -> Mapping[str, PositionView]:
        """Open positions by ticker; the mapping is the live one (read it, never keep or mutate it)."""
        if len(self._changes):  # the queue is empty unless a position changed since the last read
            self._catch_up()
        if self._undated:
            now = self._clock.now_ms()
            return {
                t: self._undated_view(t, now) if t in self._undated else v for t, v in self._views.items()
            }
        return self._views

    def refresh(self, tickers: Iterable[str]) -> None:
        """Rebuild these markets' views (their entry reference changed)."""
        self._catch_up()
        for ticker in tickers:
            if ticker in self._views:
                self._views[ticker] = self._view(ticker)

    def rebuild(self) -> None:
        """Every view from the ledger (start, and after lost events); every position re-valued."""
        self._views, self._undated = {}, set()
        for pos in self._ledger.open_positions():
            self._views[pos.ticker] = self._view(pos.ticker)
        self._valued, self._valued_from, self._unrealized = {}, {}, 0
        self._stale = set(self._views)

    def unrealized(self) -> int:
        """Unrealized P&L after the estimated exit fee, summed over open positions with a book, a
        market view and a bid to exit into ($0.000001); only positions whose inputs moved are re-valued."""
        self.views()
        self._note_book_changes()
        markets = self._market_views()
        if markets is not self._markets_seen:  # rebuilt: fees or statuses may have changed
            self._markets_seen = markets
            self._stale.update(self._views)
        valued, valued_from = self._valued, self._valued_from
        for ticker in self._stale:
            view, book, market = self._views.get(ticker), self._books.book(ticker), markets.get(ticker)
            if view is None or book is None or market is None:
                self._unrealized -= valued.pop(ticker, 0)
                valued_from.pop(ticker, None)
                continue
            # Most changes of a held market's book leave its exit price (the best bid of the side
            # held) where it was; the valuation reads nothing else that moves (the view and the
            # market view are replaced, never mutated), so it is redone only when one of them moved.
            price = exit_price(view.position, book)
            seen = valued_from.get(ticker)
            if seen is not None and seen[0] is view and seen[1] is market and seen[2] == price:
                continue
            valued_from[ticker] = (view, market, price)
            value = unrealized_at_exit(view, book, market) or 0
            self._unrealized += value - valued.get(ticker, 0)
            valued[ticker] = value
        self._stale.clear()
        return self._unrealized

    def _note_book_changes(self) -> None:
        """A changed book re-values its position (if one is held) at the next read."""
        if not len(self._book_changes):
            return
        views, stale = self._views, self._stale
        for item in self._book_changes.drain():
            if isinstance(item, BookChanged):
                if item.ticker in views:
                    stale.add(item.ticker)
            elif isinstance(item, Missed):
                stale.update(views)

    def _catch_up(self) -> None:
        changed: set[str] = set()
        for item in self._changes.drain():
            if isinstance(item, PositionChanged):
                changed.add(item.position.ticker)
            elif isinstance(item, Missed):
                self.rebuild()
                return
        opened = False
        for ticker in changed:
            self._stale.add(ticker)
            pos = self._ledger.positions.get(ticker)
            if pos is None or pos.position == 0:
                self._views.pop(ticker, None)
                self._undated.discard(ticker)
            else:
                opened = opened or ticker not in self._views
                self._views[ticker] = self._view(ticker)
        if opened:  # keep the ledger's order (the rules evaluate positions in it)
            views = self._views
            self._views = {t: views[t] for t in self._ledger.positions if t in views}

    def _view(self, ticker: str) -> PositionView:
        pos = self._ledger.positions[ticker]
        if pos.opened_at_ms is None:
            self._undated.add(ticker)
        else:
            self._undated.discard(ticker)
        opened = 0 if pos.opened_at_ms is None else pos.opened_at_ms
        return PositionView(
            ticker, pos.position, pos.cost_basis, opened, pos.fees_paid, self._reference(ticker)
        )

    def _undated_view(self, ticker: str, now_ms: int) -> PositionView:
        view = self._views[ticker]
        return PositionView(
            ticker, view.position, view.cost_basis, now_ms, view.fees_paid, view.entry_exit_price
        )
