"""What each kind of participant wants to do, as pure functions of its belief and the book.

* Makers quote a ladder around their own belief: the inside level ``half`` away from the centre
  (belief shifted against inventory), rounded outward onto the grid, deeper levels ``gap`` apart
  and larger; at most ``max_position`` contracts of exposure per side.
* Uninformed takers have no information of their own: they value YES at the market's mid (their
  lagged belief on a one-sided book) plus a private noise and an optimism toward YES that is
  strongest on longshots; they buy YES when that beats the ask, NO when it is below the bid. Their
  order sizes follow Becker's trade-size buckets.
* The informed trader knows the true probability and takes only mispricing beyond its edge.

``participants.py`` turns these wishes into engine orders; nothing here touches the engine.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from typing import Final, NamedTuple

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE
from kalshiflow.sim.market.profile import CrowdConfig

CENT: Final = PRICE_SCALE // 100
SIZE_BUCKETS: Final = ((1, 1), (2, 10), (11, 100), (101, 1_000), (1_001, 10_000))


class Quote(NamedTuple):
    """One order a maker wants to show (a tuple: makers build hundreds of thousands an hour)."""

    side: BookSide
    level: int
    yes_price: int  # $0.0001 on the market's grid
    size: int  # 0.01 contracts (not ``count``: that is a tuple method)


_LEVELS: dict[int, tuple[PriceGrid, tuple[int, ...]]] = {}


def tradable_levels(grid: PriceGrid) -> tuple[int, ...]:
    """The grid's tradable prices, computed once per grid object (quoting asks for them a lot)."""
    cached = _LEVELS.get(id(grid))
    if cached is None or cached[0] is not grid:
        cached = _LEVELS[id(grid)] = (grid, tuple(int(p) for p in grid.tradable))
    return cached[1]


def maker_quotes(
    grid: PriceGrid,
    belief: float,
    half_cents: float,
    levels: int,
    gap_cents: int,
    size_contracts: float,
    position_contracts: float,
    skew_cents_per_100: float,
    max_position: int,
    one_side: BookSide | None,
) -> list[Quote]:
    """The ladder a maker wants to show (bids below and asks above its centre, never crossing it)."""
    centre = belief * PRICE_SCALE - skew_cents_per_100 * CENT * position_contracts / 100.0
    prices = tradable_levels(grid)
    sizes = _level_sizes(size_contracts, levels)
    quotes: list[Quote] = []
    # One loop per side with its branches hoisted out: makers call this on every re-quote, and the
    # per-level side tests were most of its cost. The arithmetic is the same, so are the quotes.
    if one_side is not BookSide.ASK and position_contracts < max_position:
        bid, index = BookSide.BID, len(prices)
        for level in range(levels):
            # at or below
            i = bisect_right(prices, math.floor(centre - (half_cents + level * gap_cents) * CENT)) - 1
            if i >= index:
                i = index - 1
            if i < 0 or prices[i] >= centre:
                break
            index = i
            quotes.append(Quote(bid, level, prices[i], sizes[level]))
    if one_side is not BookSide.BID and position_contracts > -max_position:
        ask, index = BookSide.ASK, -1
        for level in range(levels):
            # at or above
            i = bisect_left(prices, math.ceil(centre + (half_cents + level * gap_cents) * CENT))
            if i <= index:
                i = index + 1
            if i >= len(prices) or prices[i] <= centre:
                break
            index = i
            quotes.append(Quote(ask, level, prices[i], sizes[level]))
    return quotes


_SIZES: dict[tuple[float, int], tuple[int, ...]] = {}
_SIZES_KEPT = 4_096  # one entry per maker slot in use; cleared when full (markets come and go)


def _level_sizes(size_contracts: float, levels: int) -> tuple[int, ...]:
    """Each level's size (0.01 contracts): 1.6 times the level above it, at least one contract.
    Memoized per (size, levels): a maker's sizes never change, its re-quotes are many."""
    key = (size_contracts, levels)
    sizes = _SIZES.get(key)
    if sizes is None:
        if len(_SIZES) >= _SIZES_KEPT:
            _SIZES.clear()
        sizes = _SIZES[key] = tuple(
            max(1, round(size_contracts * (1.6**level))) * COUNT_SCALE for level in range(levels)
        )
    return sizes


def taker_valuation(q: float, rng: random.Random, crowd: CrowdConfig) -> float:
    """An uninformed taker's value of YES: belief + optimism toward YES longshots + private noise.

    The noise is symmetric in probability (sd ``valuation_sd``·√(q(1−q))), so by itself it buys
    neither side more; the optimism -- ``yes_optimism``·(1 − q)^power in logit units, applied to
    first order (times q(1−q)), i.e. small probabilities overstated -- tilts the flow toward YES
    longshots.
    """
    spread = q * (1.0 - q)
    optimism: float = crowd.yes_optimism * (1.0 - q) ** crowd.longshot_power * spread
    return q + optimism + rng.gauss(0.0, crowd.valuation_sd * math.sqrt(spread))


def uninformed_size(rng: random.Random, shares: tuple[float, ...]) -> int:
    """Contracts of one uninformed order: a bucket by ``shares``, then log-uniform inside it."""
    low, high = rng.choices(SIZE_BUCKETS, shares)[0]
    if low == high:
        return low
    return min(high, int(math.exp(rng.uniform(math.log(low), math.log(high + 1)))))


def log_uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    return math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1])))
