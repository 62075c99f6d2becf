"""Today's observation values, pinned: schema v1 values on a seeded session must never drift.

Why: the observation is what every exported model was trained on; an "optimisation" that moves a
single bit of one feature silently changes what a policy sees. The golden digest below was produced
by the reference ``compute_observation`` before the incremental path existed; both the reference
and the incremental ``MarketObservation`` must keep reproducing it, and must agree step by step.
"""

from __future__ import annotations

import hashlib
import struct

from tests.features.features_kit import SCALES
from tests.features.observation_stream import session

from kalshiflow.features import SCHEMA_V1, compute_observation

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
