"""Percentiles read off a strike ladder's survival curve (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.sim.forecast import survival, value_at

LADDER = [(40.0, 0.9), (45.0, 0.7), (50.0, 0.5), (55.0, 0.2), (60.0, 0.05)]


@pytest.mark.parametrize(
    ("percentile", "expected"),
    [
        (5_000, 50.0),
        (3_000, 45.0),
        (6_500, 52.5),
        (0, 40.0),
        (9_999, 60.0),
        (500, 40.0),
        (9_000, 55.0 + 10 / 3),
    ],
)
def test_percentiles_interpolate_between_strikes(percentile: int, expected: float) -> None:
    assert value_at(survival(LADDER), percentile) == pytest.approx(expected)


def test_a_crossed_quote_cannot_fold_the_curve_back() -> None:
    curve = survival([(40.0, 0.6), (45.0, 0.8), (50.0, 0.3)])
    assert [p for _, p in curve] == [0.6, 0.6, 0.3]


@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.floats(0, 1)), min_size=1, max_size=8, unique_by=lambda t: t[0]
    ),
    st.integers(0, 9_999),
    st.integers(0, 9_999),
)
def test_percentiles_are_monotone_and_within_the_strikes(
    raw: list[tuple[int, float]], low: int, high: int
) -> None:
    curve = survival([(float(k), p) for k, p in raw])
    low, high = sorted((low, high))
    strikes = [k for k, _ in curve]
    assert min(strikes) <= value_at(curve, low) <= value_at(curve, high) <= max(strikes)
