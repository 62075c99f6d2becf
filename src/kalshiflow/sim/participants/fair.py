"""The latent fair probability of one market: a random walk that resolves by the close.

Synthetic traders need something to trade around that (a) wanders like a real market's price,
(b) jumps now and then on "news", and (c) ends near 0 or 1 at the close, so the outcome drawn there
is mostly already priced in. The model that does all three with one state variable is the price of
a digital option on a Brownian score: with ``tau`` hours left, the fair probability is
``p = Φ(z)`` and the score behind it is ``S = z·sqrt(tau)``. Each step adds a Gaussian
``vol·sqrt(dt)`` to the score and, with Poisson intensity, a news jump to ``z``. As ``tau`` shrinks,
the same score moves ``z`` further, so ``p`` drifts toward 0 or 1 on its own. With ``vol == 1`` the
probability is a martingale (no free drift for anyone); a larger ``vol`` resolves faster.

The state stored is ``z`` (not the score), so a close time moved by the admin API rescales the walk
without a discontinuity in the price. All randomness comes from the caller's ``random.Random``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist
from typing import Final

_NORMAL: Final = NormalDist()
P_FLOOR: Final = 0.0005  # keeps Φ⁻¹ finite; far below any tradable price
MIN_TAU_H: Final = 1.0 / 3600.0  # one second: the walk's last step before the close
MS_PER_HOUR: Final = 3_600_000


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal above 30)."""
    if mean <= 0.0:
        return 0
    if mean > 30.0:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    k = 0
    product = rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


@dataclass(slots=True)
class FairValue:
    """Latent fair YES probability ``Φ(z)`` of one market, advanced in sim time."""

    z: float
    vol: float  # score units per sqrt(hour); 1.0 makes the probability a martingale
    updated_ms: int
    jumps: int = 0
    last_jump_ms: int | None = None

    @classmethod
    def start(cls, probability: float, now_ms: int, vol: float = 1.0) -> FairValue:
        p = min(1.0 - P_FLOOR, max(P_FLOOR, probability))
        return cls(z=_NORMAL.inv_cdf(p), vol=vol, updated_ms=now_ms)

    @property
    def probability(self) -> float:
        return min(1.0 - P_FLOOR, max(P_FLOOR, _NORMAL.cdf(self.z)))

    def advance(
        self,
        now_ms: int,
        close_ms: int,
        rng: random.Random,
        jump_rate_per_hour: float = 0.0,
        jump_sd_z: float = 0.0,
    ) -> bool:
        """Walk from ``updated_ms`` to ``min(now_ms, close_ms)``; True when a news jump happened."""
        target = min(now_ms, close_ms)
        dt_h = (target - self.updated_ms) / MS_PER_HOUR
        if dt_h <= 0.0:
            return False
        tau0 = max(MIN_TAU_H, (close_ms - self.updated_ms) / MS_PER_HOUR)
        tau1 = max(MIN_TAU_H, (close_ms - target) / MS_PER_HOUR)
        score = self.z * math.sqrt(tau0) + rng.gauss(0.0, self.vol * math.sqrt(dt_h))
        self.z = score / math.sqrt(tau1)
        jumped = False
        for _ in range(poisson(rng, jump_rate_per_hour * dt_h)):
            self.z += rng.gauss(0.0, jump_sd_z)
            jumped = True
        # Past |z| = 8 the probability is 1e-15 from the edge; capping keeps the walk able to
        # come back after a jump without numerical trouble.
        self.z = max(-8.0, min(8.0, self.z))
        self.updated_ms = target
        if jumped:
            self.jumps += 1
            self.last_jump_ms = target
        return jumped
