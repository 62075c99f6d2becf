"""Today's observation values, pinned: schema v1 values on a seeded session must never drift.

Why: the observation is what every exported model was trained on; an "optimisation" that moves a
single bit of one feature silently changes what a policy sees. The golden digest below was produced
by the reference ``compute_observation`` before the incremental path existed; both the reference
and the incremental ``MarketObservation`` must keep reproducing it, and must agree step by step.
"""

from __future__ import annotations

import hashlib
import struct

import pytest
from tests.features.features_kit import SCALES
from tests.features.observation_stream import BUSY_CLOCK_STEPS_MS, CLOCK_STEPS_MS, session

from kalshiflow.features import SCHEMA_V1, compute_observation
from kalshiflow.features.incremental import MarketObservation

STEPS = 3_000
# sha256 over the 52 float64 values (little endian) of every observation, b"none" for an invalid book.
GOLDEN_SHA256 = "b0a1739622554faf7c5eda35d160a22acefd6f187ce1bceb2ef539e12a46687c"
GOLDEN_NONE_STEPS = 78


def _digest(observations: list[tuple[float, ...] | None]) -> str:
    sha = hashlib.sha256()
    for obs in observations:
        sha.update(b"none" if obs is None else struct.pack(f"<{SCHEMA_V1.size}d", *obs))
    return sha.hexdigest()


def _reference_observations(seed: int) -> list[tuple[float, ...] | None]:
    return [
        compute_observation(
            SCHEMA_V1, s.book, s.history, s.market, s.position, s.cash, s.orders, s.now_ms, SCALES
        )
        for s in session(seed, STEPS)
    ]


def test_reference_observation_reproduces_the_golden_values() -> None:
    observations = _reference_observations(seed=13)
    assert sum(obs is None for obs in observations) == GOLDEN_NONE_STEPS
    assert _digest(observations) == GOLDEN_SHA256


def test_incremental_observation_equals_the_reference_bit_for_bit_at_every_step() -> None:
    observers: dict[str, MarketObservation] = {}
    incremental: list[tuple[float, ...] | None] = []
    for n, s in enumerate(session(13, STEPS)):
        expected = compute_observation(
            SCHEMA_V1, s.book, s.history, s.market, s.position, s.cash, s.orders, s.now_ms, SCALES
        )
        got = observers.setdefault(s.ticker, MarketObservation()).observe(
            s.book, s.history, s.market, s.position, s.cash, s.orders, s.now_ms, SCALES
        )
        if expected is None or got is None:
            assert got is expected, f"step {n}"
        else:
            differ = [
                SCHEMA_V1.names[i] for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g
            ]
            assert not differ, f"step {n}: {differ}"
        incremental.append(None if got is None else tuple(got))
    assert _digest(incremental) == GOLDEN_SHA256


@pytest.mark.parametrize(
    ("seed", "markets", "clock_steps_ms"),
    [(1, 12, CLOCK_STEPS_MS), (2, 30, CLOCK_STEPS_MS), (3, 1, BUSY_CLOCK_STEPS_MS)],
)
def test_incremental_observation_equals_the_reference_bit_for_bit_over_a_long_session(
    seed: int, markets: int, clock_steps_ms: tuple[int, ...]
) -> None:
    """20,000 steps over many markets (deltas near and deep in the book, snapshots, invalid books,
    cash, positions and orders changing, clock moves from 0 ms past the history's horizon), and
    over one busy market whose history drops and compacts thousands of samples: the incremental
    observation's bytes equal the reference's after every step, on every market."""
    observers: dict[str, MarketObservation] = {}
    pack = struct.Struct(f"<{SCHEMA_V1.size}d").pack
    observed = 0
    for n, s in enumerate(session(seed, 20_000, markets, clock_steps_ms, one_cash_figure=True)):
        expected = compute_observation(
            SCHEMA_V1, s.book, s.history, s.market, s.position, s.cash, s.orders, s.now_ms, SCALES
        )
        got = observers.setdefault(s.ticker, MarketObservation()).observe(
            s.book, s.history, s.market, s.position, s.cash, s.orders, s.now_ms, SCALES
        )
        if expected is None or got is None:
            assert got is expected, f"step {n}"
            continue
        observed += 1
        if pack(*got) != pack(*expected):  # bytes, not ==: -0.0 == 0.0 would hide a changed bit
            differ = [
                name
                for name, e, g in zip(SCHEMA_V1.names, expected, got, strict=True)
                if pack(*[e] * SCHEMA_V1.size) != pack(*[g] * SCHEMA_V1.size)
            ]
            pytest.fail(f"step {n} ({s.ticker}): {differ}")
    assert observed > 18_000
