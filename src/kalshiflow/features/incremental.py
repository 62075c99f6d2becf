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
* cash: when the cash view changed; position: when its view, the market view (fee schedule) or
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
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import COUNT_SCALE, MONEY_SCALE, PRICE_SCALE
from kalshiflow.features.compute import (
    _INV_LOG_7D,
    _INV_LOG_30D,
    _INV_LOG_DAY,
    _INV_LOG_DEPTH,
    _INV_LOG_DEPTH_ALL,
    _INV_LOG_HOUR,
    _INV_LOG_LEVELS,
    _INV_LOG_ORDERS,
    _INV_LOG_RATE,
    _P,
    _P2,
    ObservationScales,
)
from kalshiflow.features.market_state import MarketHistory, WindowFigures
from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.features.valuation import (
    CashView,
    MarketView,
    OrderView,
    PositionView,
    unrealized_at_exit,
)
from kalshiflow.marketdata.book import OrderBook

_BID: Final = BookSide.BID
_YES: Final = OutcomeSide.YES
_NO: Final = OutcomeSide.NO
_LOWS: Final = SCHEMA_V1.lows
_HIGHS: Final = SCHEMA_V1.highs
_SIZE: Final = SCHEMA_V1.size
# First index of each group in the schema v1 vector.
_TOUCH, _MICRO, _SPREAD, _DEPTH, _DEPTH_ALL, _IMBALANCE, _LEVELS, _VWAP = 0, 3, 5, 8, 16, 18, 22, 24
_WINDOWS, _MEAN, _SPREAD_CHANGE, _RATES, _SINCE, _CLOSE = 26, 32, 33, 34, 36, 37
_CASH, _POSITION, _AGE, _ORDERS = 38, 40, 45, 46
_NO_ORDERS: Final = (0.0, 1.0, 0.0, 1.0, 0.0, 0.0)  # what ``_order_features`` gives for none live
_FLAT: Final = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
# A side's best 10 prices (ascending) and their sizes.
_Top = tuple[list[int], list[int]]
_NO_TOP: Final[_Top] = ([], [0])  # equals no real side (an empty side has no sizes either)
# A side's size in its best 1, 3, 5, 10 levels.
_Depths = tuple[int, int, int, int]
_NO_DEPTHS: Final[_Depths] = (-1, -1, -1, -1)  # equals no real depths: all are written first
_FOUR: Final = range(4)  # the depth levels (1, 3, 5, 10): indexed loops, not ``zip(..., strict=True)``
# Features written by ``_put_log``, which relies on their range being [0, 1].
_LOG_SCALED: Final = (
    *range(_DEPTH, _DEPTH_ALL + 2),
    _LEVELS,
    _LEVELS + 1,
    _RATES,
    _RATES + 1,
    _SINCE,
    _CLOSE,
    _AGE,
)
if any((_LOWS[i], _HIGHS[i]) != (0.0, 1.0) for i in _LOG_SCALED):
    raise RuntimeError("MarketObservation._put_log needs every log-scaled feature to span [0, 1]")


def _log_ratio(value: float, inv_log_max: float) -> float:
    return math.log1p(value) * inv_log_max if value > 0 else 0.0


class MarketObservation:
    """The observation of one market, updated in place (see module docstring)."""

    __slots__ = (
        "_book",
        "_cash",
        "_close_ms",
        "_depths",
        "_figures",
        "_grid_points",
        "_history",
        "_ladder_versions",
        "_levels",
        "_no_orders_stored",
        "_now_ms",
        "_position",
        "_position_key",
        "_prices",
        "_scales",
        "_since_ms",
        "_tops",
        "_touch",
        "_version",
        "values",
    )

    def __init__(self) -> None:
        self.values: list[float] = [0.0] * _SIZE
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
        self._cash: CashView | None = None
        self._position: PositionView | None = None
        self._position_key: tuple[object, ...] | None = None
        self._no_orders_stored = False  # the constant no-orders group is already in place

    def _put(self, i: int, value: float) -> None:
        """Write feature ``i`` clipped into its spec's range (NaN -> low), exactly as the reference."""
        lo, hi = _LOWS[i], _HIGHS[i]
        self.values[i] = lo if not value >= lo else hi if value > hi else value

    def _put_log(self, i: int, value: float, inv_log_max: float) -> None:
        """``_put`` of ``log1p(value) / log1p(max)`` (0 for a value <= 0): the schema's log scale,
        one call for the most common kind of feature.

        Only the top clip is tested: every log-scaled feature spans [0, 1] (``_LOG_SCALED``, checked
        at import) and the scaled value is never negative or NaN, so ``_put``'s other tests cannot
        change it; the value written is the same float.
        """
        scaled = math.log1p(value) * inv_log_max if value > 0 else 0.0
        self.values[i] = scaled if scaled <= 1.0 else 1.0

    def _store(self, start: int, values: Sequence[float]) -> None:
        """``_put`` of a group of consecutive features from ``start``."""
        out, lows, highs = self.values, _LOWS, _HIGHS
        for i, value in enumerate(values, start):
            lo, hi = lows[i], highs[i]
            out[i] = lo if not value >= lo else hi if value > hi else value

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
        self._portfolio_features(book, market, position, cash, yes_bid, yes_ask, now_ms, clock_moved, scales)
        if resting_orders:
            self._order_features(resting_orders, yes_bid, yes_ask, now_ms, int(scales.max_position))
            self._no_orders_stored = False
        elif not self._no_orders_stored:  # constant values: written once, not per call
            self._store(_ORDERS, _NO_ORDERS)
            self._no_orders_stored = True
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
            self._store(_TOUCH, (b / _P, a / _P, (a + b) / _P2))
            self._store(_SPREAD, self._spread_features(book, b, a))
        touch = (b, a, bs, as_)
        if touch != self._touch:
            self._touch = touch
            mid_x2 = a + b
            micro = (b * as_ + a * bs) / (bs + as_) if bs + as_ else mid_x2 / 2
            self._put(_MICRO, micro / _P)
            self._put(_MICRO + 1, (micro - mid_x2 / 2) / _P)
        # All four imbalances, each written unclipped: testing which depth pair moved cost more than
        # the division, and ``(bid - ask) / total`` of two sizes >= 0 is a correctly rounded
        # quotient in [-1, 1], the feature's whole range, so ``_put`` would store the same float.
        bids, asks = self._depths
        out = self.values
        for k in _FOUR:
            bid, ask = bids[k], asks[k]
            total = bid + ask
            out[_IMBALANCE + k] = (bid - ask) / total if total else 0.0
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
        self._put_log(_DEPTH_ALL + which, total / COUNT_SCALE, _INV_LOG_DEPTH_ALL)
        levels = len(prices)
        if levels != self._levels[which]:  # a resize (most deltas) keeps the level count
            self._levels[which] = levels
            self._put_log(_LEVELS + which, levels, _INV_LOG_LEVELS)
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
                self._put_log(_DEPTH + which + 2 * k, depth / COUNT_SCALE, _INV_LOG_DEPTH)
        size = depths[2]
        if size:
            notional = sum(map(operator.mul, best[-5:], best_sizes[-5:]))  # sum of price x size, in C
            self._put(_VWAP + which, (best[-1] * size - notional) / (size * _P))
        else:
            self._put(_VWAP + which, 0.0)
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
        return (a - b) / _P, _log_ratio(steps, _INV_LOG_LEVELS), min(b_step, a_step) / 100.0

    # ------------------------------------------------------------------ dynamics (12 features)
    def _dynamics_features(
        self, history: MarketHistory, market: MarketView, now_ms: int, clock_moved: bool
    ) -> None:
        figures, mean_gap = history.windows_x2(now_ms)
        if figures != self._figures:
            self._figures = figures
            m10, m60, m300, s10, s60, s300, spread60, _, _ = figures
            self._store(
                _WINDOWS,
                (
                    m10 / _P2,
                    m60 / _P2,
                    m300 / _P2,
                    math.sqrt(s10) / _P2,
                    math.sqrt(s60) / _P2,
                    math.sqrt(s300) / _P2,
                ),
            )
            self._put(_SPREAD_CHANGE, spread60 / _P2)
        # The time-weighted mean moves with every millisecond and with the newest sample.
        if clock_moved or history.version != self._version:
            self._version = history.version
            self._put(_MEAN, 0.0 if mean_gap is None else mean_gap[0] / (mean_gap[1] * _P2))
        # The update counts move with every book change.
        updates = history.updates
        self._put_log(_RATES, (updates - figures[7]) / 10.0, _INV_LOG_RATE)
        self._put_log(_RATES + 1, (updates - figures[8]) / 60.0, _INV_LOG_RATE)
        # Staleness: the time since the last update, which is 0 when the observation follows its delta.
        last = history.last_update_ms
        since_ms = None if last is None else now_ms - last
        if since_ms != self._since_ms:
            self._since_ms = since_ms
            if since_ms is None:
                self._put(_SINCE, 1.0)
            else:
                self._put_log(_SINCE, since_ms / 1000.0, _INV_LOG_HOUR)
        close_ms = market.close_time_ms
        if clock_moved or close_ms != self._close_ms:
            self._close_ms = close_ms
            self._put_log(_CLOSE, (close_ms - now_ms) / 1000.0, _INV_LOG_30D)

    # ------------------------------------------------------------------ portfolio (8 features)
    def _portfolio_features(
        self,
        book: OrderBook,
        market: MarketView,
        position: PositionView | None,
        cash: CashView,
        yes_bid: int,
        yes_ask: int,
        now_ms: int,
        clock_moved: bool,
        scales: ObservationScales,
    ) -> None:
        if cash is not self._cash:  # the trader reuses its view while cash and reservations stand
            self._cash = cash
            bankroll = int(scales.bankroll)
            self._store(_CASH, (int(cash.available) / bankroll, int(cash.reserved) / bankroll))
        if position is None or position.position == 0:
            if self._position_key != ():
                self._position_key = ()
                self._position = None
                self._store(_POSITION, _FLAT)
            return
        # The valuation reads the position, the fee schedule (the market view) and the exit price
        # (the touch price of the side held: the YES bid, or the YES ask = 1 - the NO bid); its fee is
        # exact Fraction arithmetic, by far the dearest input here, so it waits for one to change.
        held = int(position.position)
        key = (position, market, yes_bid if held > 0 else yes_ask)
        if key != self._position_key:
            self._position_key = key
            bankroll = int(scales.bankroll)
            cost = int(position.cost_basis)
            at_exit = unrealized_at_exit(position, book, market)
            unrealized = -cost if at_exit is None else int(at_exit)  # no bid: worth $0
            self._store(
                _POSITION,
                (
                    held / int(scales.max_position),
                    cost / bankroll,
                    cost * COUNT_SCALE / (abs(held) * MONEY_SCALE),  # $/contract of the side held
                    unrealized / cost if cost > 0 else 0.0,
                    unrealized / bankroll,
                ),
            )
        if clock_moved or position is not self._position:
            self._position = position
            self._put_log(_AGE, (now_ms - position.opened_at_ms) / 1000.0, _INV_LOG_7D)

    # ------------------------------------------------------------------ orders (6 features)
    def _order_features(
        self, orders: Sequence[OrderView], yes_bid: int, yes_ask: int, now_ms: int, max_position: int
    ) -> None:
        """Own buy size and queue distance per side, live count, oldest age (``compute._order_features``).

        Orders are mutable (fills, state changes), so this group is recomputed on every call that has
        any; plain locals instead of the reference's per-side dicts keep that cheap.
        """
        yes_size = no_size = live = 0
        yes_best: int | None = None
        no_best: int | None = None
        oldest: int | None = None
        for order in orders:
            if not order.is_live:
                continue
            live += 1
            remaining = max(int(order.count) - int(order.filled), 0)
            if order.side is _BID:
                yes_size += remaining
                own = int(order.yes_price)
                if yes_best is None or own > yes_best:
                    yes_best = own
            else:
                no_size += remaining
                own = PRICE_SCALE - int(order.yes_price)
                if no_best is None or own > no_best:
                    no_best = own
            if oldest is None or order.created_ms < oldest:
                oldest = order.created_ms
        self._store(
            _ORDERS,
            (
                yes_size / max_position,
                1.0 if yes_best is None else (yes_bid - yes_best) / _P,
                no_size / max_position,
                1.0 if no_best is None else (PRICE_SCALE - yes_ask - no_best) / _P,
                _log_ratio(live, _INV_LOG_ORDERS),
                0.0 if oldest is None else _log_ratio((now_ms - oldest) / 1000.0, _INV_LOG_DAY),
            ),
        )


@lru_cache(maxsize=128)
def _grid_points(grid: PriceGrid) -> dict[int, tuple[int, int]]:
    """Each level of ``grid`` -> (smallest grid step at it, its index among the levels): what
    ``compute._tick_and_steps`` derives per call, from the same ``min_step_at`` and level order."""
    return {int(p): (int(grid.min_step_at(p)), i) for i, p in enumerate(grid.levels)}
