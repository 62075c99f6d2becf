"""Event forecasts from a strike ladder: the value of the underlying at given percentiles.

An event whose markets ask "is the value above strike k?" (``strike_type`` greater, a
``floor_strike`` each) prices the survival curve of a numeric underlying: the YES price of the
market at strike k is the market's probability that the value exceeds k. Kalshi's forecast
percentile history reads percentiles off that curve over time; this module does the reading, as a
pure function, for ``GET .../forecast_percentile_history``.

Method (deliberate, the spec does not document Kalshi's): the survival curve is made
non-increasing in the strike (a running minimum, so crossed quotes cannot fold it back), then the
value at percentile p (0-9999 basis points of probability below) is where the curve crosses
1 - p/10000, interpolated linearly between neighbouring strikes and clamped to the lowest and
highest strike outside them. These are forecasts, not money: floats are the right type here.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

PERCENTILE_SCALE = 10_000


def survival(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(strike, probability above) sorted by strike, made non-increasing."""
    curve: list[tuple[float, float]] = []
    running = 1.0
    for strike, above in sorted(points):
        running = min(running, max(0.0, min(1.0, above)))
        curve.append((strike, running))
    return curve


def value_at(curve: Sequence[tuple[float, float]], percentile: int) -> float:
    """The underlying's value with ``percentile``/10000 of the probability below it."""
    if not curve:
        raise ValueError("an empty curve has no percentiles")
    target = 1.0 - percentile / PERCENTILE_SCALE  # probability above the answer
    if target >= curve[0][1]:
        return curve[0][0]
    for (low_k, low_p), (high_k, high_p) in pairwise(curve):
        if low_p >= target >= high_p:
            if low_p == high_p:
                return low_k
            return low_k + (high_k - low_k) * (low_p - target) / (low_p - high_p)
    return curve[-1][0]
