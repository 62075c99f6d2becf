"""Where each feature group sits in the schema v1 vector, and how a value is written there.

The incremental observation (``incremental.MarketObservation`` for the book and its dynamics,
``incremental_account.AccountFeatures`` for cash, position and own orders) writes into one list in
place; both clip exactly as ``compute_observation`` (the reference) does, so the writes are here
once, beside the indices they take.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from kalshiflow.features.schema import SCHEMA_V1

LOWS: Final = SCHEMA_V1.lows
HIGHS: Final = SCHEMA_V1.highs
SIZE: Final = SCHEMA_V1.size
# First index of each group in the schema v1 vector.
TOUCH, MICRO, SPREAD, DEPTH, DEPTH_ALL, IMBALANCE, LEVELS, VWAP = 0, 3, 5, 8, 16, 18, 22, 24
WINDOWS, MEAN, SPREAD_CHANGE, RATES, SINCE, CLOSE = 26, 32, 33, 34, 36, 37
CASH, POSITION, AGE, ORDERS = 38, 40, 45, 46
# Features written by ``put_log``, which relies on their range being [0, 1].
LOG_SCALED: Final = (
    *range(DEPTH, DEPTH_ALL + 2),
    LEVELS,
    LEVELS + 1,
    RATES,
    RATES + 1,
    SINCE,
    CLOSE,
    AGE,
)
if any((LOWS[i], HIGHS[i]) != (0.0, 1.0) for i in LOG_SCALED):
    raise RuntimeError("observation_slots.put_log needs every log-scaled feature to span [0, 1]")


def log_ratio(value: float, inv_log_max: float) -> float:
    return math.log1p(value) * inv_log_max if value > 0 else 0.0


def put(values: list[float], i: int, value: float) -> None:
    """Write feature ``i`` clipped into its spec's range (NaN -> low), exactly as the reference."""
    lo, hi = LOWS[i], HIGHS[i]
    values[i] = lo if not value >= lo else hi if value > hi else value


def put_log(values: list[float], i: int, value: float, inv_log_max: float) -> None:
    """``put`` of ``log1p(value) / log1p(max)`` (0 for a value <= 0): the schema's log scale, one
    call for the most common kind of feature.

    Only the top clip is tested: every log-scaled feature spans [0, 1] (``LOG_SCALED``, checked at
    import) and the scaled value is never negative or NaN, so ``put``'s other tests cannot change
    it; the value written is the same float.
    """
    scaled = math.log1p(value) * inv_log_max if value > 0 else 0.0
    values[i] = scaled if scaled <= 1.0 else 1.0


def store(values: list[float], start: int, group: Sequence[float]) -> None:
    """``put`` of a group of consecutive features from ``start``."""
    lows, highs = LOWS, HIGHS
    for i, value in enumerate(group, start):
        lo, hi = lows[i], highs[i]
        values[i] = lo if not value >= lo else hi if value > hi else value
