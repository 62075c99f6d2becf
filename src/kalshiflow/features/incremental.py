"""``MarketObservation``: one market's schema v1 observation, kept current at the cost of what changed.

Why: the observation is computed after every book change of every traded market, live and in
training (an environment step is an observation plus a decision), and ``compute_observation``
rebuilds all 52 features from scratch each time. Most of them did not move: a delta changes one
side of the book, the clock moves in whole milliseconds, cash and positions change on fills only.
This class keeps the previous values and recomputes a group of features only when one of its
inputs differs from the last call:

* touch (prices, spread, microprice, tick): when the best price or size of either side changed;
* depth, vwap gap per side: when that side's best 10 levels changed; imbalances when either did;
  total depth and level counts: when the ladder's total or level count changed;
* mid changes, volatility, mean, spread change: when the clock or the history's ``version`` moved;
  update rates: their window bases with those, the counts themselves on every call;
* time since update and time to close: when the clock, the last update or the close time moved;
* cash: when either amount changed; position: when the position, its exit price, the fee schedule
  or the clock changed; resting orders: recomputed when there are any (there rarely are).

Values are bit-identical to ``compute_observation`` (the reference): each group uses the same
integer intermediates and the same float expressions, and the golden test compares both on a
recorded session. The feature vector is allocated once per market and updated in place: the list
``observe`` returns is valid until the next call for this market; copy it to keep it (the actor
does). Inputs keep their meaning from ``compute_observation``: ``history`` must be fed every book
change of this market, ``now_ms`` is the injected clock's time.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate
from typing import Final

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import COUNT_SCALE, MONEY_SCALE, PRICE_SCALE
from kalshiflow.features.compute import (
    _INV_LOG_7D,
    _INV_LOG_30D,
    _INV_LOG_DEPTH,
    _INV_LOG_DEPTH_ALL,
    _INV_LOG_HOUR,
    _INV_LOG_LEVELS,
    _INV_LOG_RATE,
    _P,
    _P2,
    ObservationScales,
    _order_features,
    _vwap_gap,
)
from kalshiflow.features.market_state import MarketHistory, WindowFigures
from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.features.valuation import CashView, MarketView, OrderView, PositionView, value_position
from kalshiflow.marketdata.book import OrderBook

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


def _log_ratio(value: float, inv_log_max: float) -> float:
    return math.log1p(value) * inv_log_max if value > 0 else 0.0


class MarketObservation:
    """The observation of one market, updated in place (see module docstring)."""

    __slots__ = (
        "_age",
        "_asks",
        "_bases",
        "_bids",
        "_book",
        "_cash",
        "_close",
        "_depth_asks",
        "_depth_bids",
        "_figures",
        "_mean_key",
        "_no_orders_stored",
        "_no_totals",
        "_position",
        "_prices",
        "_rate_bases",
        "_scales",
        "_since",
        "_touch",
        "_window_from",
        "_window_key",
        "_window_until",
        "_yes_totals",
        "values",
    )

    def __init__(self) -> None:
        self.values: list[float] = [0.0] * _SIZE
        self._book: OrderBook | None = None
        self._scales: ObservationScales | None = None
        self._reset()

    def _reset(self) -> None:
        """Forget every cached input: the next call recomputes all groups."""
        self._prices: tuple[int, int] | None = None
        self._touch: tuple[int, int, int, int] | None = None
        self._bids: tuple[list[int], list[int]] | None = None
        self._asks: tuple[list[int], list[int]] | None = None
        self._depth_bids: list[int] = []
        self._depth_asks: list[int] = []
        self._yes_totals: tuple[int, int] | None = None
        self._no_totals: tuple[int, int] | None = None
        self._window_key: tuple[MarketHistory, int] | None = None
        self._bases: WindowFigures = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        self._figures: WindowFigures | None = None
        self._window_from = 0
        self._window_until = 0
        self._mean_key: tuple[tuple[MarketHistory, int], int] | None = None
        self._rate_bases = (0, 0)
        self._since: tuple[int, int | None] | None = None
        self._close: tuple[int, int] | None = None
        self._cash: tuple[int, int] | None = None
        self._position: tuple[object, ...] | None = None
        self._age: tuple[int, int] | None = None
        self._no_orders_stored = False  # the constant no-orders group is already in place

    def _store(self, start: int, values: Sequence[float], step: int = 1) -> None:
        """Write a group's values at ``start``, ``start + step``, ...; each clipped into its spec's
        range (NaN -> low), exactly as the reference clips."""
        out, lows, highs = self.values, _LOWS, _HIGHS
        i = start
        for value in values:
            lo, hi = lows[i], highs[i]
            out[i] = lo if not value >= lo else hi if value > hi else value
            i += step

    def _put(self, i: int, value: float) -> None:
        """``_store`` of one value: the groups refreshed on every call write through this (no
        tuple, no loop)."""
        lo, hi = _LOWS[i], _HIGHS[i]
        self.values[i] = lo if not value >= lo else hi if value > hi else value

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
        """The schema v1 observation (``compute_observation``'s values), or None for an invalid book."""
        if not book.valid:
            return None
        if book is not self._book or scales is not self._scales:
            self._book, self._scales = book, scales
            self._reset()
        yes_bid, yes_ask = self._book_features(book)
        self._dynamics_features(history, market, now_ms)
        self._portfolio_features(book, market, position, cash, now_ms, scales)
        if resting_orders:
            orders: list[float] = []
            _order_features(resting_orders, yes_bid, yes_ask, now_ms, int(scales.max_position), orders)
            self._store(_ORDERS, orders)
            self._no_orders_stored = False
        elif not self._no_orders_stored:  # constant values: written once, not per call
            self._store(_ORDERS, _NO_ORDERS)
            self._no_orders_stored = True
        return self.values

    # ------------------------------------------------------------------ book (26 features)
    def _book_features(self, book: OrderBook) -> tuple[int, int]:
        """Refresh the book groups whose inputs changed; return the YES bid and ask (empty conventions)."""
        yes_prices, yes_sizes, no_prices, no_sizes = book.raw_ladders()
        bid_prices = yes_prices[:-11:-1]  # best 10, best first
        no_top = no_prices[:-11:-1]
        # ``map`` over the dict's bound lookup: the C loop, no comprehension frame per side.
        bid_sizes = list(map(yes_sizes.__getitem__, bid_prices))
        ask_sizes = list(map(no_sizes.__getitem__, no_top))
        b = bid_prices[0] if bid_prices else 0
        a = PRICE_SCALE - no_top[0] if no_top else PRICE_SCALE
        bs = bid_sizes[0] if bid_sizes else 0
        as_ = ask_sizes[0] if ask_sizes else 0
        prices = (b, a)
        if prices != self._prices:
            self._prices = prices
            self._store(_TOUCH, (b / _P, a / _P, (a + b) / _P2))
            self._store(_SPREAD, _spread_features(book, b, a))
        touch = (b, a, bs, as_)
        if touch != self._touch:
            self._touch = touch
            mid_x2 = a + b
            micro = (b * as_ + a * bs) / (bs + as_) if bs + as_ else mid_x2 / 2
            self._put(_MICRO, micro / _P)
            self._put(_MICRO + 1, (micro - mid_x2 / 2) / _P)
        bids, asks = (bid_prices, bid_sizes), (no_top, ask_sizes)
        bids_changed, asks_changed = bids != self._bids, asks != self._asks
        if bids_changed:
            self._bids = bids
            self._depth_bids = self._depth_side(bid_sizes, _DEPTH)
            self._put(_VWAP, _vwap_gap(bid_prices[:5], bid_sizes[:5], b, 1))
        if asks_changed:
            self._asks = asks
            self._depth_asks = self._depth_side(ask_sizes, _DEPTH + 1)
            ask_prices = [PRICE_SCALE - p for p in no_top[:5]]
            self._put(_VWAP + 1, _vwap_gap(ask_prices, ask_sizes[:5], a, -1))
        if bids_changed or asks_changed:
            cum_bid, cum_ask = self._depth_bids, self._depth_asks
            i = _IMBALANCE
            for n in (1, 3, 5, 10):
                bid, ask = cum_bid[n], cum_ask[n]
                total = bid + ask
                self._put(i, (bid - ask) / total if total else 0.0)
                i += 1
        # A delta moves its own side's total and maybe its level count: each side refreshes alone.
        yes_totals = (sum(yes_sizes.values()), len(yes_prices))
        if yes_totals != self._yes_totals:
            self._yes_totals = yes_totals
            self._put(_DEPTH_ALL, _log_ratio(yes_totals[0] / COUNT_SCALE, _INV_LOG_DEPTH_ALL))
            self._put(_LEVELS, _log_ratio(yes_totals[1], _INV_LOG_LEVELS))
        no_totals = (sum(no_sizes.values()), len(no_prices))
        if no_totals != self._no_totals:
            self._no_totals = no_totals
            self._put(_DEPTH_ALL + 1, _log_ratio(no_totals[0] / COUNT_SCALE, _INV_LOG_DEPTH_ALL))
            self._put(_LEVELS + 1, _log_ratio(no_totals[1], _INV_LOG_LEVELS))
        return b, a

    def _depth_side(self, sizes: list[int], first: int) -> list[int]:
        """One side's depth at 1, 3, 5, 10 levels (stored interleaved with the other side's, from
        ``first``); returns its cumulative sizes at 0..10 levels (a short ladder repeats its total)."""
        cum = list(accumulate(sizes, initial=0))
        cum += [cum[-1]] * (10 - len(sizes))
        i = first
        for n in (1, 3, 5, 10):
            depth = cum[n] / COUNT_SCALE
            self._put(i, math.log1p(depth) * _INV_LOG_DEPTH if depth > 0 else 0.0)
            i += 2
        return cum

    # ------------------------------------------------------------------ dynamics (12 features)
    def _dynamics_features(self, history: MarketHistory, market: MarketView, now_ms: int) -> None:
        # The window figures are the newest sample minus a base per window; the bases change only
        # when old samples go (``base_version``) or a window's start crosses the next sample (they
        # are >= 100 ms apart), so a new or rewritten newest sample costs a subtraction, not a search.
        key = (history, history.version)
        base_key = (history, history.base_version)
        if base_key != self._window_key or not self._window_from <= now_ms < self._window_until:
            self._window_key = base_key
            self._bases, self._window_until = history.window_bases(now_ms)
            self._window_from = now_ms
        figures = history.figures_x2(self._bases)
        if figures != self._figures:
            self._figures = figures
            m10, m60, m300, s10, s60, s300, spread60, before10, before60 = figures
            self._rate_bases = (before10, before60)
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
        # The time-weighted mean moves with every millisecond.
        mean_key = (key, now_ms)
        if mean_key != self._mean_key:
            self._mean_key = mean_key
            latest = history.latest_mid_x2()
            if latest is None:
                mean_gap = 0.0
            else:
                num, den = history.mean_mid_x2(now_ms, 300_000)
                mean_gap = (latest * den - num) / (den * _P2)
            self._put(_MEAN, mean_gap)
        # The update counts move with every book change; only their window bases are cached.
        updates = history.updates
        before10, before60 = self._rate_bases
        self._put(_RATES, _log_ratio((updates - before10) / 10.0, _INV_LOG_RATE))
        self._put(_RATES + 1, _log_ratio((updates - before60) / 60.0, _INV_LOG_RATE))
        since = (now_ms, history.last_update_ms)
        if since != self._since:
            self._since = since
            last = history.last_update_ms
            self._put(_SINCE, 1.0 if last is None else _log_ratio((now_ms - last) / 1000.0, _INV_LOG_HOUR))
        close = (now_ms, market.close_time_ms)
        if close != self._close:
            self._close = close
            self._put(_CLOSE, _log_ratio((market.close_time_ms - now_ms) / 1000.0, _INV_LOG_30D))

    # ------------------------------------------------------------------ portfolio (8 features)
    def _portfolio_features(
        self,
        book: OrderBook,
        market: MarketView,
        position: PositionView | None,
        cash: CashView,
        now_ms: int,
        scales: ObservationScales,
    ) -> None:
        bankroll = int(scales.bankroll)
        amounts = (int(cash.available), int(cash.reserved))
        if amounts != self._cash:
            self._cash = amounts
            self._store(_CASH, (amounts[0] / bankroll, amounts[1] / bankroll))
        held = 0 if position is None else int(position.position)
        if position is None or held == 0:
            if self._position != ():
                self._position = ()
                self._age = None
                self._store(_POSITION, _FLAT)
            return
        # The valuation reads the exit price (best bid of the side held) and the fee schedule; its
        # fee is exact Fraction arithmetic, by far the dearest input here, so it waits for a change.
        cost = int(position.cost_basis)
        key = (held, cost, book.best_bid(_YES if held > 0 else _NO), market.fee_type, market.fee_multiplier)
        if key != self._position:
            self._position = key
            valuation = value_position(position, book, market)
            unrealized = -cost if valuation is None else int(valuation.unrealized)  # no bid: worth $0
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
        age = (now_ms, position.opened_at_ms)
        if age != self._age:
            self._age = age
            self._put(_AGE, _log_ratio((now_ms - position.opened_at_ms) / 1000.0, _INV_LOG_7D))


def _spread_features(book: OrderBook, b: int, a: int) -> tuple[float, float, float]:
    """Spread, its width in grid steps and the tick at the touch (``compute._book_features``)."""
    grid = book.grid
    tick = min(grid.min_step_at(b), grid.min_step_at(a))
    levels = grid.levels
    steps = bisect_left(levels, a) - bisect_left(levels, b)
    return (a - b) / _P, _log_ratio(steps, _INV_LOG_LEVELS), tick / 100.0
