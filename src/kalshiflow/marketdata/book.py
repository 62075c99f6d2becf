"""The local order book of one market, kept exact from the stream's snapshots and deltas.

Kalshi publishes two *bid* ladders per market: YES bids in YES prices and NO bids in NO-leg prices
(reference section 6.1). Asks are never sent; they are implied because a YES and a NO contract
together pay $1: the best YES ask is ``1 - best NO bid`` and the best NO ask is ``1 - best YES bid``
(never ``0.99 - p``). This module derives every ask that way and nowhere else.

Invariants this book keeps:

* **Exact units.** Prices are integers of $0.0001 (``Price``), sizes integers of 0.01 contract
  (``Count``). Mid and microprice are returned as ``Fraction`` of $0.0001, never as floats.
* **Never clamp, never guess.** A delta that would drive a level negative, or a price that is not a
  tradable point of the market's grid, is an integrity error: the book turns *invalid* with a
  reason and ignores further deltas until a snapshot replaces it. An invalid book still answers
  queries (the dashboard may show its last state) but must not be used for a decision; callers
  check ``valid`` first. A fresh book is invalid until its first snapshot.
* **Fast path.** Each ladder is a dict ``price -> size`` plus an ascending list of its prices whose
  last element is the best bid. A delta that changes the size of an existing level (the common
  case) is one dict lookup and one store, and needs no grid check (only on-grid prices ever enter a
  ladder); a level appearing or disappearing also touches the sorted list (a bisect plus a memmove
  of a few pointers; popping the best is O(1)). ``BookStore.apply_delta`` inlines that common case
  (see there), so it must keep these same rules, including the ladder's ``version`` and ``total``.
* **Top of book is validated once.** The best bid and best ask of each side are kept as ready
  ``Price`` values, rebuilt only when a ladder's best price changes (a level above the best
  appears, the best disappears, a snapshot): reading them is an attribute read, not a ``Price``
  construction per call.
* **No clock.** No method here does I/O or reads a clock: the snapshot's caller passes ``now_ms``.
  A delta carries no time; the store stamps the times its consumers need (the dirty set, the
  change hook), so the book stays pure and testable.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from fractions import Fraction
from functools import lru_cache
from itertools import islice
from typing import Final

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import PRICE_SCALE, Count, Price

Level = tuple[Price, Count]

AWAITING_SNAPSHOT: Final = "awaiting snapshot"
_YES: Final = OutcomeSide.YES
_NO_TOUCH: Final[tuple[None, None]] = (None, None)


@lru_cache(maxsize=128)
def tradable_prices(grid: PriceGrid) -> dict[int, tuple[Price, Price]]:
    """Each tradable price of the grid -> (it, its complement ``1 - it``) as validated ``Price``.

    Built once per grid: on-grid checks on the delta path are one hash lookup, and the touch cache
    looks its ``Price`` values up here instead of constructing them (about 0.5 µs each).
    """
    return {int(p): (Price(int(p)), Price(PRICE_SCALE - int(p))) for p in grid.tradable}


class BidLadder:
    """Bids of one leg: aggregate size per price and the prices in ascending order (best last).

    Mutated only by ``OrderBook`` and by ``BookStore.apply_delta``'s inlined resize of an existing
    level; everything else reads it. Every mutation also bumps ``version`` and keeps ``total`` (the
    sum of all sizes, 0.01 contract) exact, so a reader that ran before can tell "did this ladder
    move?" by one int comparison and read its total size without summing it (the observation does,
    after every delta). A version never repeats for a ladder object: equal versions mean an
    unchanged ladder. A mutation that leaves the ladder as it was (a delta of 0) may still bump it.
    Each applied delta bumps it by exactly one and each snapshot by exactly one, so the store derives
    its update counts from versions (``OrderBook.update_count``).
    """

    __slots__ = ("prices", "sizes", "total", "version")

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.prices: list[int] = []
        self.total = 0
        self.version = 0

    def replace(self, sizes: dict[int, int]) -> None:
        self.sizes = sizes
        self.prices = sorted(sizes)
        self.total = sum(sizes.values())
        self.version += 1

    def clear(self) -> None:
        self.sizes = {}
        self.prices = []
        self.total = 0
        self.version += 1


class OrderBook:
    """YES-bid and NO-bid ladders of one market on that market's price grid.

    Queries take the outcome ``side`` they are asked from: ``best_bid(NO)`` is the best NO bid,
    ``best_ask(NO)`` the cheapest NO offer (``1 - best YES bid``). Prices returned are ``Price``,
    sizes ``Count``; ``None`` means the relevant ladder is empty.
    """

    __slots__ = (
        "_best_ask_no",
        "_best_ask_yes",
        "_best_bid_no",
        "_best_bid_yes",
        "_invalid_reason",
        "_tradable",
        "dirty",
        "grid",
        "no_bids",
        "quiet",
        "snapshot_ms",
        "snapshots_applied",
        "ticker",
        "unversioned_updates",
        "updates_drained",
        "valid",
        "yes_bids",
    )

    def __init__(self, ticker: str, grid: PriceGrid) -> None:
        self.ticker = ticker
        self.grid = grid
        self._tradable = tradable_prices(grid)
        self.yes_bids = BidLadder()
        self.no_bids = BidLadder()
        # A plain attribute, not a property: it is read on every delta and every decision. Only
        # this class sets it; a valid book is one whose last snapshot applied cleanly since.
        self.valid = False
        self._invalid_reason: str | None = AWAITING_SNAPSHOT
        self._best_bid_yes: Price | None = None
        self._best_bid_no: Price | None = None
        self._best_ask_yes: Price | None = None
        self._best_ask_no: Price | None = None
        self.snapshots_applied = 0
        self.snapshot_ms: int | None = None  # clock time of the last snapshot
        # The store's bookkeeping (``BookStore``), kept here so its delta path touches one object:
        # whether the market waits in its dirty set, whether a delta may skip the store's change
        # notification (``quiet``: dirty already and nobody subscribes to every change), the update
        # count at its last drain, and the updates that moved no ladder (rejected deltas, stream
        # invalidations). See ``update_count``.
        self.dirty = False
        self.quiet = False
        self.updates_drained = 0
        self.unversioned_updates = 0

    # ------------------------------------------------------------------ validity
    @property
    def invalid_reason(self) -> str | None:
        """Why the book may not be used (None while it is valid)."""
        return self._invalid_reason

    def invalidate(self, reason: str) -> bool:
        """Mark the book unusable until the next snapshot; False if it already was invalid.

        The first reason is kept: it names the root cause, later ones are consequences of it.
        """
        if not self.valid:
            return False
        self.valid = False
        self._invalid_reason = reason
        return True

    def update_count(self) -> int:
        """Updates this book took since it was created, derived instead of counted per delta.

        Every applied delta bumps exactly one ladder's ``version`` by one and every snapshot (good or
        bad) bumps both, so ``versions - snapshots`` counts the deltas and snapshots; the store adds
        the updates that move no ladder (``unversioned_updates``). The store's delta path thus pays
        for no counter of its own.
        """
        return (
            self.yes_bids.version + self.no_bids.version - self.snapshots_applied + self.unversioned_updates
        )

    # ------------------------------------------------------------------ updates
    def apply_snapshot(
        self, yes: Iterable[tuple[int, int]], no: Iterable[tuple[int, int]], now_ms: int
    ) -> bool:
        """Replace both ladders; returns validity.

        A snapshot with an off-grid price, a non-positive size or a repeated price leaves the book
        empty and invalid with the reason (a partial book would mislead a decision).
        """
        yes_sizes, yes_error = self._ladder_from_levels(yes, "yes")
        no_sizes, no_error = self._ladder_from_levels(no, "no")
        self.snapshots_applied += 1
        self.snapshot_ms = now_ms
        error = yes_error or no_error
        if error is not None:
            self.yes_bids.clear()
            self.no_bids.clear()
            self._refresh_touch()
            self.valid = False
            self._invalid_reason = f"bad snapshot: {error}"
            return False
        self.yes_bids.replace(yes_sizes)
        self.no_bids.replace(no_sizes)
        self._refresh_touch()
        self.valid = True
        self._invalid_reason = None
        return True

    def _refresh_touch(self, side: OutcomeSide | None = None) -> None:
        """Rebuild the cached best prices after the best price of ``side``'s ladder (None: both)
        changed; each ``Price`` is validated here once instead of on every read."""
        if side is not OutcomeSide.NO:
            yes = self.yes_bids.prices
            self._best_bid_yes, self._best_ask_no = self._tradable[yes[-1]] if yes else _NO_TOUCH
        if side is not _YES:
            no = self.no_bids.prices
            self._best_bid_no, self._best_ask_yes = self._tradable[no[-1]] if no else _NO_TOUCH

    def _ladder_from_levels(
        self, levels: Iterable[tuple[int, int]], leg: str
    ) -> tuple[dict[int, int], str | None]:
        sizes: dict[int, int] = {}
        for price, size in levels:
            if price not in self._tradable:
                return sizes, f"{leg} level at off-grid price {price}"
            if size <= 0:
                return sizes, f"{leg} level {price} has non-positive size {size}"
            if price in sizes:
                return sizes, f"{leg} level {price} appears twice"
            sizes[int(price)] = int(size)
        return sizes, None

    def apply_delta(self, side: OutcomeSide, price: int, delta: int) -> bool:
        """Add ``delta`` to the ``side`` ladder at ``price`` (the side's own leg price).

        Returns True when applied. Returns False without touching the ladders when the book is
        invalid, or when the delta is an integrity error (off-grid price, size would go negative);
        the latter invalidates the book with the reason. A level reaching exactly 0 disappears.
        """
        if not self.valid:
            return False
        ladder = self.yes_bids if side is _YES else self.no_bids
        return self.change_level(side, ladder, price, delta, ladder.sizes.get(price))

    def change_level(
        self, side: OutcomeSide, ladder: BidLadder, price: int, delta: int, old: int | None
    ) -> bool:
        """``apply_delta`` on a valid book once ``side``'s ``ladder`` and the level's size before
        (``old``, None: no level) are known: ``BookStore.apply_delta`` has them at hand when its
        inlined resize does not apply, and passes them instead of having them looked up again."""
        sizes = ladder.sizes
        # A changed best bid stores it and the other side's ask it implies, written out in place
        # rather than through a helper: a call is a seventh of this path's cost.
        if old is None:
            if delta > 0:
                touch = self._tradable.get(price)
                if touch is None:
                    return self._integrity_error(f"{side} delta at off-grid price {price}")
                sizes[price] = delta
                ladder.total += delta
                ladder.version += 1
                prices = ladder.prices
                if not prices or price > prices[-1]:
                    prices.append(price)
                    # A new best: its touch comes straight from the grid table (no re-read).
                    if side is _YES:
                        self._best_bid_yes, self._best_ask_no = touch
                    else:
                        self._best_bid_no, self._best_ask_yes = touch
                else:
                    insort(prices, price)
            elif price not in self._tradable:
                return self._integrity_error(f"{side} delta at off-grid price {price}")
            elif delta < 0:
                return self._integrity_error(f"{side} delta {delta} at empty level {price}")
            else:  # a delta of 0 at an empty level: applied, changes nothing, counted as any other
                ladder.version += 1
        else:
            new = old + delta
            if new > 0:
                sizes[price] = new
            elif new == 0:
                del sizes[price]
                prices = ladder.prices
                if prices[-1] == price:
                    prices.pop()
                    new_touch = self._tradable[prices[-1]] if prices else _NO_TOUCH
                    if side is _YES:
                        self._best_bid_yes, self._best_ask_no = new_touch
                    else:
                        self._best_bid_no, self._best_ask_yes = new_touch
                else:
                    del prices[bisect_left(prices, price)]
            else:
                return self._integrity_error(f"{side} delta {delta} at level {price} of size {old}")
            ladder.total += delta
            ladder.version += 1
        return True

    def _integrity_error(self, reason: str) -> bool:
        self.valid = False
        self._invalid_reason = reason
        return False

    # ------------------------------------------------------------------ top of book
    def _bids(self, side: OutcomeSide) -> BidLadder:
        return self.yes_bids if side is _YES else self.no_bids

    def _offers(self, side: OutcomeSide) -> BidLadder:
        """The ladder whose bids are ``side``'s offers (a NO bid at q is a YES offer at 1 - q)."""
        return self.no_bids if side is _YES else self.yes_bids

    def best_bid(self, side: OutcomeSide) -> Price | None:
        return self._best_bid_yes if side is _YES else self._best_bid_no

    def best_ask(self, side: OutcomeSide) -> Price | None:
        """Cheapest offer of ``side``: 1 - best bid of the other leg."""
        return self._best_ask_yes if side is _YES else self._best_ask_no

    def best_bid_size(self, side: OutcomeSide) -> Count:
        ladder = self._bids(side)
        return Count(ladder.sizes[ladder.prices[-1]] if ladder.prices else 0)

    def best_ask_size(self, side: OutcomeSide) -> Count:
        ladder = self._offers(side)
        return Count(ladder.sizes[ladder.prices[-1]] if ladder.prices else 0)

    def spread(self) -> Price | None:
        """Ask minus bid, the same for both sides: ``1 - best YES bid - best NO bid``.

        None when either ladder is empty; zero or negative only if the book is locked or crossed
        (see ``is_crossed``), which a consistent exchange feed never produces.
        """
        yes, no = self.yes_bids.prices, self.no_bids.prices
        if not yes or not no:
            return None
        return Price(PRICE_SCALE - yes[-1] - no[-1])

    def is_crossed(self) -> bool:
        """True when best YES bid + best NO bid >= $1 (locked or crossed)."""
        yes, no = self.yes_bids.prices, self.no_bids.prices
        return bool(yes) and bool(no) and yes[-1] + no[-1] >= PRICE_SCALE

    def mid_x2(self, side: OutcomeSide) -> int | None:
        """Twice the mid of ``side`` in $0.0001 (bid + ask): an exact integer in half-units."""
        bids, offers = self._bids(side).prices, self._offers(side).prices
        if not bids or not offers:
            return None
        return bids[-1] + PRICE_SCALE - offers[-1]

    def mid(self, side: OutcomeSide) -> Fraction | None:
        """Mid of ``side`` as an exact Fraction of $0.0001; ``mid(NO) == 10_000 - mid(YES)``."""
        doubled = self.mid_x2(side)
        return None if doubled is None else Fraction(doubled, 2)

    def microprice(self, side: OutcomeSide) -> Fraction | None:
        """Size-weighted mid of ``side``, an exact Fraction of $0.0001.

        ``(bid x ask_size + ask x bid_size) / (bid_size + ask_size)`` with the sizes at the touch:
        heavy bids pull it toward the ask (the next trade is likelier to lift the offer).
        ``microprice(NO) == 10_000 - microprice(YES)``. None when either ladder is empty.
        """
        bids, offers = self._bids(side), self._offers(side)
        if not bids.prices or not offers.prices:
            return None
        bid = bids.prices[-1]
        ask = PRICE_SCALE - offers.prices[-1]
        bid_size = bids.sizes[bid]
        ask_size = offers.sizes[offers.prices[-1]]
        return Fraction(bid * ask_size + ask * bid_size, bid_size + ask_size)

    # ------------------------------------------------------------------ depth
    def bids(self, side: OutcomeSide, levels: int | None = None) -> list[Level]:
        """``side``'s bid levels (price, size), best (highest) first; at most ``levels`` of them."""
        ladder = self._bids(side)
        sizes = ladder.sizes
        return [(Price(p), Count(sizes[p])) for p in islice(reversed(ladder.prices), levels)]

    def asks(self, side: OutcomeSide, levels: int | None = None) -> list[Level]:
        """``side``'s offers (price, size), best (lowest) first, derived from the other leg's bids."""
        ladder = self._offers(side)
        sizes = ladder.sizes
        return [(Price(PRICE_SCALE - p), Count(sizes[p])) for p in islice(reversed(ladder.prices), levels)]

    def bid_depth(self, side: OutcomeSide, levels: int | None = None) -> Count:
        """Cumulative size of ``side``'s best ``levels`` bid levels (all levels when None)."""
        ladder = self._bids(side)
        sizes = ladder.sizes
        return Count(sum(sizes[p] for p in islice(reversed(ladder.prices), levels)))

    def ask_depth(self, side: OutcomeSide, levels: int | None = None) -> Count:
        """Cumulative size of ``side``'s best ``levels`` offer levels (all levels when None)."""
        ladder = self._offers(side)
        sizes = ladder.sizes
        return Count(sum(sizes[p] for p in islice(reversed(ladder.prices), levels)))

    def size_at(self, side: OutcomeSide, price: int) -> Count:
        """Aggregate bid size on ``side``'s ladder at ``price`` (its own leg price)."""
        return Count(self._bids(side).sizes.get(price, 0))

    def level_count(self, side: OutcomeSide) -> int:
        return len(self._bids(side).prices)

    def raw_ladders(self) -> tuple[list[int], dict[int, int], list[int], dict[int, int]]:
        """(YES bid prices ascending, YES size per price, NO bid prices ascending, NO size per price).

        The book's own containers as plain ints (prices in $0.0001, sizes in 0.01 contract), for hot
        paths such as the observation that cannot afford wrapping every level in ``Price``/``Count``
        (``bids``/``asks`` do). Read-only views: never mutate them; they change with the next delta
        and are replaced by the next snapshot, so copy what must outlive the call. Check ``valid``
        first, as for every other query.
        """
        yes, no = self.yes_bids, self.no_bids
        return yes.prices, yes.sizes, no.prices, no.sizes

    def ladder(self, side: OutcomeSide) -> tuple[Level, ...]:
        """``side``'s bids ascending by price: the same shape as ``OrderbookSnapshot.yes``/``.no``."""
        ladder = self._bids(side)
        sizes = ladder.sizes
        return tuple((Price(p), Count(sizes[p])) for p in ladder.prices)

    def __repr__(self) -> str:
        state = "valid" if self.valid else f"invalid: {self._invalid_reason}"
        return (
            f"OrderBook({self.ticker!r}, {state}, yes={self.best_bid(OutcomeSide.YES)!r}"
            f"x{len(self.yes_bids.prices)}, no={self.best_bid(OutcomeSide.NO)!r}x{len(self.no_bids.prices)})"
        )
