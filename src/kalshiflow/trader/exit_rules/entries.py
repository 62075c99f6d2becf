"""The exit price at entry of each position: what price-space take profit and stop loss measure from.

Why: a position bought by crossing the spread is worth the bid, not what was paid, the moment it
fills. Measuring moves from the exit price at entry (the best bid of the side held when the fill
was booked) keeps the entry spread out of the rules, so a stop loss never fires on the spread alone.

Bookkeeping per market, from the ledger's position after each batch of fills: opening or adding
averages in the current exit price for the added contracts; reducing keeps the reference; flat
forgets it; a flip starts afresh. Positions found at startup (adopted, restored) have no reference
(the rules then measure from the average entry price, which is stricter).
"""

from __future__ import annotations

from collections.abc import Mapping

from kalshiflow.domain.units import Price
from kalshiflow.features.valuation import BookView, exit_price


class EntryReferences:
    def __init__(self) -> None:
        self._position: dict[str, int] = {}  # last position seen, Count units, signed
        self._weighted: dict[str, tuple[int, int]] = {}  # ticker -> (contracts, sum price x contracts)
        self._unknown: set[str] = set()

    def adopt(self, positions: Mapping[str, int]) -> None:
        """Positions that existed before this trader saw their fills: no reference."""
        for ticker, position in positions.items():
            if position and ticker not in self._position:
                self._position[ticker] = int(position)
                self._unknown.add(ticker)

    def update(self, ticker: str, position: int, book: BookView | None) -> None:
        before = self._position.get(ticker, 0)
        self._position[ticker] = position
        if position == 0:
            self._weighted.pop(ticker, None)
            self._unknown.discard(ticker)
            return
        flipped = before == 0 or (before > 0) != (position > 0)
        if flipped:
            self._weighted.pop(ticker, None)
            self._unknown.discard(ticker)
            added = abs(position)
        else:
            added = abs(position) - abs(before)
        if added <= 0:
            if ticker in self._weighted:  # reduced: same reference for what is left
                count, total = self._weighted[ticker]
                self._weighted[ticker] = (abs(position), total * abs(position) // count)
            return
        price = None if book is None else exit_price(position, book)
        if price is None or ticker in self._unknown:
            return
        count, total = self._weighted.get(ticker, (0, 0))
        self._weighted[ticker] = (count + added, total + int(price) * added)

    def reference(self, ticker: str) -> Price | None:
        entry = self._weighted.get(ticker)
        if entry is None or entry[0] <= 0:
            return None
        count, total = entry
        return Price(total // count)
