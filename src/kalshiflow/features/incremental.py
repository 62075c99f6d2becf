"""``MarketObservation``: one market's schema v1 observation, kept current at the cost of what changed.

Why: the observation is computed after every book change of every traded market, live and in
training (an environment step is an observation plus a decision), and ``compute_observation``
rebuilds all 52 features from scratch each time. Most of them did not move: a delta changes one
side of the book, the clock moves in whole milliseconds, cash and positions change on fills only.
This class keeps the previous values and recomputes a group of features only when one of its
inputs differs from the last call:

* one side of the book: when its ladder's change count (``BidLadder.version``) differs from the
  last call's (one int comparison; a delta moves one side). Then its total (kept by the ladder)
  and level count; its depths and vwap
  gap only if its best 10 levels moved; each depth and each imbalance only if its own integers did;
  touch prices, spread and tick (from a table built once per grid) when a best price moved; the
  microprice when a best price or size did;
* windowed mid changes, volatility, spread change: when those integer figures moved
  (``MarketHistory.windows_x2`` keeps them while its samples and window starts hold, and follows
  window starts with cursors instead of searching); update rates on every call (every book
  change moves them);
* the mean-mid gap, time to close, position and order ages: when the clock moved (or the history
  or the close time did); time since the last update: when that many milliseconds changed (0 when
  the observation follows its delta);
* (``incremental_account.AccountFeatures``, writing into the same buffer) cash: when the cash
  view changed; position: when its view, the market view (fee schedule) or
  the touch price of the side held changed; resting orders: recomputed when there are any (they
  are mutable and rare).

Values are bit-identical to ``compute_observation`` (the reference): each group uses the same
integer intermediates and the same float expressions, and the parity tests compare both, value
by value, on long simulated sessions (``tests/features/test_observation_golden.py``).

Buffer contract. The feature vector is allocated once per market and updated in place: the list
``observe`` returns is valid until the next call for this market, so whoever keeps an observation
copies it (the actor stores ``tuple(observation)`` in its ``TraderAction``; the training
environment hands SB3 a fresh ``numpy`` array). Reading it right away (a policy's ``decide``)
needs no copy. Inputs keep their meaning from ``compute_observation``: ``history`` must be fed
every book change of this market, ``now_ms`` is the injected clock's time.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE
from kalshiflow.features.compute import (
    _INV_LOG_30D,
    _INV_LOG_DEPTH,
    _INV_LOG_DEPTH_ALL,
    _INV_LOG_HOUR,
    _INV_LOG_LEVELS,
    _INV_LOG_RATE,
    _P,
    _P2,
    ObservationScales,
)
from kalshiflow.features.incremental_account import AccountFeatures
from kalshiflow.features.market_state import MarketHistory, WindowFigures
from kalshiflow.features.observation_slots import (
    CLOSE,
    DEPTH,
    DEPTH_ALL,
    IMBALANCE,
    LEVELS,
    MEAN,
    MICRO,
    RATES,
    SINCE,
    SIZE,
    SPREAD,
    SPREAD_CHANGE,
    TOUCH,
    VWAP,
    WINDOWS,
    log_ratio,
    put,
    put_log,
    store,
)
from kalshiflow.features.valuation import (
    CashView,
    MarketView,
    OrderView,
    PositionView,
)
from kalshiflow.marketdata.book import OrderBook

_YES: Final = OutcomeSide.YES
_NO: Final = OutcomeSide.NO
# A side's best 10 prices (ascending) and their sizes.
_Top = tuple[list[int], list[int]]
_NO_TOP: Final[_Top] = ([], [0])  # equals no real side (an empty side has no sizes either)
# A side's size in its best 1, 3, 5, 10 levels.
_Depths = tuple[int, int, int, int]
_NO_DEPTHS: Final[_Depths] = (-1, -1, -1, -1)  # equals no real depths: all are written first
_FOUR: Final = range(4)  # the depth levels (1, 3, 5, 10): indexed loops, not ``zip(..., strict=True)``


class MarketObservation:
    """The observation of one market, updated in place (see module docstring)."""

    __slots__ = (
        "_account",
        "_book",
        "_close_ms",
        "_depths",
        "_figures",
        "_grid_points",
        "_history",
        "_ladder_versions",
        "_levels",
        "_now_ms",
        "_prices",
        "_scales",
        "_since_ms",
        "_tops",
        "_touch",
        "_version",
        "values",
    )

    def __init__(self) -> None:
        self.values: list[float] = [0.0] * SIZE
        self._account = AccountFeatures(self.values)  # cash, position, own orders: the same buffer
        self._book: OrderBook | None = None
        self._history: MarketHistory | None = None
        self._scales: ObservationScales | None = None
        self._reset()

    def _reset(self) -> None:
        """Forget every cached input: the next call recomputes all groups."""
        # Per side (YES bids, NO bids): the ladder's version last seen, its best 10 levels, depths.
        self._ladder_versions = [-1, -1]  # no real version: ladders count from 0
        self._tops: list[_Top] = [_NO_TOP, _NO_TOP]
        self._depths: list[_Depths] = [_NO_DEPTHS, _NO_DEPTHS]
        self._levels = [-1, -1]
        self._grid_points: dict[int, tuple[int, int]] | None = None
        self._prices = (-1, -1)  # no real touch: written on the first call (both sides move then)
        self._touch: tuple[int, int, int, int] | None = None
        self._figures: WindowFigures | None = None
        self._now_ms: int | None = None
        self._version = -1
        self._since_ms: int | None = -1
        self._close_ms: int | None = None
        self._account.reset()

    def observe(
        self,
        book: OrderBook,
        history: MarketHistory,
        market: MarketView,
        position: PositionView | None,
        cash: CashView,
        resting_orders: Sequence[OrderView],
        now_ms: int,
        scales: ObservationScales,
    ) -> list[float] | None:
        """The schema v1 observation (``compute_observation``'s values), or None for an invalid book.

        The list is this market's buffer: valid until the next call, copy it to keep it.
        """
        if not book.valid:
            return None
        if book is not self._book or history is not self._history or scales is not self._scales:
            self._book, self._history, self._scales = book, history, scales
            self._reset()
        # Every feature that reads the clock waits for it to move (several updates can share a ms).
        clock_moved = now_ms != self._now_ms
        self._now_ms = now_ms
        yes_bid, yes_ask = self._book_features(book)
        self._dynamics_features(history, market, now_ms, clock_moved)
        self._account.update(
            book, market, position, cash, resting_orders, yes_bid, yes_ask, now_ms, clock_moved, scales
        )
        return self.values

    # ------------------------------------------------------------------ book (26 features)
    def _book_features(self, book: OrderBook) -> tuple[int, int]:
        """Refresh the book groups whose inputs changed; return the YES bid and ask (empty conventions)."""
        # Every mutation of a ladder bumps its version: an unchanged version is an unchanged side
        # (a delta moves one side), told by one int comparison instead of comparing and copying
        # the ladder. The book and its ladders are the same objects while ``_book`` holds.
        yes, no = book.yes_bids, book.no_bids
        versions = self._ladder_versions
        yes_version, no_version = yes.version, no.version
        yes_moved, no_moved = yes_version != versions[0], no_version != versions[1]
        if not (yes_moved or no_moved):
            return self._prices
        top_moved = False
        if yes_moved:
            versions[0] = yes_version
            top_moved = self._side_features(yes.prices, yes.sizes, yes.total, 0)
        if no_moved:
            versions[1] = no_version
            top_moved = self._side_features(no.prices, no.sizes, no.total, 1) or top_moved
        if not top_moved:  # only levels behind the best 10 moved: totals and level counts done
            return self._prices
        yes_top, no_top = self._tops[0], self._tops[1]
        b = yes_top[0][-1] if yes_top[0] else 0
        a = PRICE_SCALE - no_top[0][-1] if no_top[0] else PRICE_SCALE
        bs = yes_top[1][-1] if yes_top[1] else 0
        as_ = no_top[1][-1] if no_top[1] else 0
        prices = (b, a)
        if prices != self._prices:
            self._prices = prices
            store(self.values, TOUCH, (b / _P, a / _P, (a + b) / _P2))
            store(self.values, SPREAD, self._spread_features(book, b, a))
        touch = (b, a, bs, as_)
        if touch != self._touch:
            self._touch = touch
            mid_x2 = a + b
            micro = (b * as_ + a * bs) / (bs + as_) if bs + as_ else mid_x2 / 2
            put(self.values, MICRO, micro / _P)
            put(self.values, MICRO + 1, (micro - mid_x2 / 2) / _P)
        # All four imbalances, each written unclipped: testing which depth pair moved cost more than
        # the division, and ``(bid - ask) / total`` of two sizes >= 0 is a correctly rounded
        # quotient in [-1, 1], the feature's whole range, so ``_put`` would store the same float.
        bids, asks = self._depths
        out = self.values
        for k in _FOUR:
            bid, ask = bids[k], asks[k]
            total = bid + ask
            out[IMBALANCE + k] = (bid - ask) / total if total else 0.0
        return prices

    def _side_features(self, prices: list[int], sizes: dict[int, int], total: int, which: int) -> bool:
        """Refresh one side's features; True when its best 10 levels moved (not only deeper ones).

        ``which`` is 0 for YES bids (the bid side), 1 for NO bids (the ask side); both sides' figures
        sit interleaved in the vector. Total size and level count change with any level; the depths
        and the vwap gap read the best 10 levels only, so they wait for those to move. The ask
        side's vwap gap is computed on the NO prices it comes from: ``-(a x size - sum((1 - p) x s))``
        is the same integer as ``nb x size - sum(p x s)``. ``total`` is the ladder's running sum of
        its sizes (``BidLadder.total``), the same integer the reference sums.
        """
        put_log(self.values, DEPTH_ALL + which, total / COUNT_SCALE, _INV_LOG_DEPTH_ALL)
        levels = len(prices)
        if levels != self._levels[which]:  # a resize (most deltas) keeps the level count
            self._levels[which] = levels
            put_log(self.values, LEVELS + which, levels, _INV_LOG_LEVELS)
        best = prices[-10:]  # ascending: the best price last
        top = (best, list(map(sizes.__getitem__, best)))
        if top == self._tops[which]:
            return False
        self._tops[which] = top
        best_sizes = top[1]
        depths = (
            best_sizes[-1] if best_sizes else 0,
            sum(best_sizes[-3:]),
            sum(best_sizes[-5:]),
            sum(best_sizes),
        )
        old_depths = self._depths[which]
        self._depths[which] = depths
        for k in _FOUR:
            depth = depths[k]
            if depth != old_depths[k]:  # a level deep in the best 10 moves only the wider depths
                put_log(self.values, DEPTH + which + 2 * k, depth / COUNT_SCALE, _INV_LOG_DEPTH)
        size = depths[2]
        if size:
            notional = sum(map(operator.mul, best[-5:], best_sizes[-5:]))  # sum of price x size, in C
            put(self.values, VWAP + which, (best[-1] * size - notional) / (size * _P))
        else:
            put(self.values, VWAP + which, 0.0)
        return True

    def _spread_features(self, book: OrderBook, b: int, a: int) -> tuple[float, float, float]:
        """Spread, its width in grid steps and the tick at the touch (``compute._book_features``).

        The grid never changes, so each level's tick and position are looked up in a table built
        once per grid instead of scanning its bands and bisecting its levels at every touch move.
        """
        grid_points = self._grid_points
        if grid_points is None:
            grid_points = self._grid_points = _grid_points(book.grid)
        (b_step, b_index), (a_step, a_index) = grid_points[b], grid_points[a]
        steps = a_index - b_index
        return (a - b) / _P, log_ratio(steps, _INV_LOG_LEVELS), min(b_step, a_step) / 100.0

    # ------------------------------------------------------------------ dynamics (12 features)
    def _dynamics_features(
        self, history: MarketHistory, market: MarketView, now_ms: int, clock_moved: bool
    ) -> None:
        figures, mean_gap = history.windows_x2(now_ms)
        if figures != self._figures:
            self._figures = figures
            m10, m60, m300, s10, s60, s300, spread60, _, _ = figures
            store(
                self.values,
                WINDOWS,
                (
                    m10 / _P2,
                    m60 / _P2,
                    m300 / _P2,
                    math.sqrt(s10) / _P2,
                    math.sqrt(s60) / _P2,
                    math.sqrt(s300) / _P2,
                ),
            )
            put(self.values, SPREAD_CHANGE, spread60 / _P2)
        # The time-weighted mean moves with every millisecond and with the newest sample.
        if clock_moved or history.version != self._version:
            self._version = history.version
            put(self.values, MEAN, 0.0 if mean_gap is None else mean_gap[0] / (mean_gap[1] * _P2))
        # The update counts move with every book change.
        updates = history.updates
        put_log(self.values, RATES, (updates - figures[7]) / 10.0, _INV_LOG_RATE)
        put_log(self.values, RATES + 1, (updates - figures[8]) / 60.0, _INV_LOG_RATE)
        # Staleness: the time since the last update, which is 0 when the observation follows its delta.
        last = history.last_update_ms
        since_ms = None if last is None else now_ms - last
        if since_ms != self._since_ms:
            self._since_ms = since_ms
            if since_ms is None:
                put(self.values, SINCE, 1.0)
            else:
                put_log(self.values, SINCE, since_ms / 1000.0, _INV_LOG_HOUR)
        close_ms = market.close_time_ms
        if clock_moved or close_ms != self._close_ms:
            self._close_ms = close_ms
            put_log(self.values, CLOSE, (close_ms - now_ms) / 1000.0, _INV_LOG_30D)


@lru_cache(maxsize=128)
def _grid_points(grid: PriceGrid) -> dict[int, tuple[int, int]]:
    """Each level of ``grid`` -> (smallest grid step at it, its index among the levels): what
    ``compute._tick_and_steps`` derives per call, from the same ``min_step_at`` and level order."""
    return {int(p): (int(grid.min_step_at(p)), i) for i, p in enumerate(grid.levels)}
