"""What each kind of participant wants to do, as pure functions of its belief and the book.

* Makers quote a ladder around their own belief: the inside level ``half`` away from the centre
  (belief shifted against inventory), rounded outward onto the grid, deeper levels ``gap`` apart
  and larger; at most ``max_position`` contracts of exposure per side.
* Uninformed takers value YES at their (lagged) belief plus a private logit noise and an optimism
  toward YES that is strongest on longshots; they buy YES when that beats the ask, NO when it is
  below the bid. Their order sizes follow Becker's trade-size buckets.
* The informed trader knows the true probability and takes only mispricing beyond its edge.

The model (``model.py``) turns these wishes into engine orders; nothing here touches the engine.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE
from kalshiflow.sim.market.profile import CrowdConfig

CENT: Final = PRICE_SCALE // 100
_P_EDGE: Final = 1e-4
SIZE_BUCKETS: Final = ((1, 1), (2, 10), (11, 100), (101, 1_000), (1_001, 10_000))


def logit(p: float) -> float:
    p = min(1.0 - _P_EDGE, max(_P_EDGE, p))
    return math.log(p / (1.0 - p))


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@dataclass(frozen=True, slots=True)
class Quote:
    side: BookSide
    level: int
    yes_price: int  # $0.0001 on the market's grid
    count: int  # 0.01 contracts


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
    lo, hi = grid.tradable[0], grid.tradable[-1]
    quotes: list[Quote] = []
    for side in (BookSide.BID, BookSide.ASK):
        if one_side is not None and side is not one_side:
            continue
        if side is BookSide.BID and position_contracts >= max_position:
            continue
        if side is BookSide.ASK and position_contracts <= -max_position:
            continue
        previous: int | None = None
        for level in range(levels):
            offset = (half_cents + level * gap_cents) * CENT
            if side is BookSide.BID:
                raw = math.floor(centre - offset)
                if raw < lo:
                    break
                price = int(grid.nearest(raw, "down"))
                if previous is not None and price >= previous:
                    step = grid.step_down(previous)
                    if step is None:
                        break
                    price = int(step)
                if price >= centre:
                    break
            else:
                raw = math.ceil(centre + offset)
                if raw > hi:
                    break
                price = int(grid.nearest(raw, "up"))
                if previous is not None and price <= previous:
                    step = grid.step_up(previous)
                    if step is None:
                        break
                    price = int(step)
                if price <= centre:
                    break
            previous = price
            contracts = size_contracts * (1.6**level)
            quotes.append(Quote(side, level, price, max(1, round(contracts)) * COUNT_SCALE))
    return quotes


def taker_valuation(q: float, rng: random.Random, crowd: CrowdConfig) -> float:
    """An uninformed taker's value of YES: belief + optimism toward YES longshots + private noise."""
    optimism = crowd.yes_optimism * (1.0 - q) ** crowd.longshot_power
    return sigmoid(logit(q) + optimism + rng.gauss(0.0, crowd.valuation_sd))


def uninformed_size(rng: random.Random, shares: tuple[float, ...]) -> int:
    """Contracts of one uninformed order: a bucket by ``shares``, then log-uniform inside it."""
    low, high = rng.choices(SIZE_BUCKETS, shares)[0]
    if low == high:
        return low
    return min(high, int(math.exp(rng.uniform(math.log(low), math.log(high + 1)))))


def log_uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    return math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1])))
