"""Open positions as the rules and the risk gate read them, kept current instead of rebuilt per call.

Why: every decision asked the core for ``position_views()`` twice (the observation and the risk
context) and for the unrealized P&L of every position (the kill switch), and each call built a
fresh dict of ``PositionView`` and re-valued every position with exact ``Fraction`` fee arithmetic:
the largest step of the decision path, growing with the number of positions. Here a view is
rebuilt only for a market whose position changed -- told by the ledger's ``PositionChanged``
events, drained before every read, so a read never sees a stale view -- or whose entry reference
changed (``refresh``). A position's unrealized P&L is recomputed only when its view, its market
view or its exit price (the best bid of the side held) changed since it was last valued.

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
from kalshiflow.features.valuation import BookView, MarketView, PositionView, exit_price, value_position
from kalshiflow.trader.state.ledger import Ledger


class BookLookup(Protocol):
    def book(self, ticker: str) -> BookView | None: ...


class PositionViews:
    def __init__(
        self, ledger: Ledger, bus: EventBus, clock: Clock, entry_reference: Callable[[str], Price | None]
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._reference = entry_reference
        # Unbounded in practice (one event per position change); a lost event means a full rebuild.
        self._changes = bus.subscribe("core.position_views", [PositionChanged], max_queue=100_000)
        self._views: dict[str, PositionView] = {}
        self._undated: set[str] = set()  # open positions without an opening time: dated per read
        # ticker -> (view, market view, exit price, unrealized) of its last valuation
        self._valued: dict[str, tuple[PositionView, MarketView, Price | None, int]] = {}
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
        """Every view from the ledger (start, and after lost events)."""
        self._views, self._undated = {}, set()
        for pos in self._ledger.open_positions():
            self._views[pos.ticker] = self._view(pos.ticker)

    def unrealized(self, books: BookLookup, markets: Mapping[str, MarketView]) -> int:
        """Unrealized P&L after the estimated exit fee, summed over open positions with a book, a
        market view and a bid to exit into; each position is re-valued only when an input moved."""
        total = 0
        valued = self._valued
        for ticker, view in self.views().items():
            book = books.book(ticker)
            market = markets.get(ticker)
            if book is None or market is None:
                continue
            price = exit_price(view.position, book)
            last = valued.get(ticker)
            if last is not None and last[0] is view and last[1] is market and last[2] == price:
                total += last[3]
                continue
            valuation = value_position(view, book, market)
            unrealized = 0 if valuation is None else int(valuation.unrealized)
            valued[ticker] = (view, market, price, unrealized)
            total += unrealized
        return total

    def _catch_up(self) -> None:
        changed: set[str] = set()
        for item in self._changes.drain():
            if isinstance(item, PositionChanged):
                changed.add(item.position.ticker)
            elif isinstance(item, Missed):
                self.rebuild()
                self._valued.clear()
                return
        opened = False
        for ticker in changed:
            pos = self._ledger.positions.get(ticker)
            if pos is None or pos.position == 0:
                self._views.pop(ticker, None)
                self._valued.pop(ticker, None)
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
