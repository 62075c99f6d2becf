"""One latent outcome process per event; every market of the event prices off it.

Real Kalshi events are families: "BTC above 96,000 / 97,000 / …" at one close, "high temperature
60–61°, 62–63°, …", "team A wins / team B wins". Their prices are tied together because one number
decides them all. Here that number is ``X``: a Brownian motion (``sigma_per_sqrt_h`` per √hour) plus
news jumps at *scheduled* times (each a Gaussian with a known standard deviation), observed from the
event's start to its resolution time ``resolve_ms``. A market pays YES when ``X`` at resolution
lands in its interval ``(lower, upper]`` (``None`` = unbounded): "above k" is ``(k, ∞)``, a range is
``(a, b]``, mutually exclusive outcomes are a partition of the line.

Because the increments are Gaussian with known variance, the true probability at time t is exact:
``P(lower < X_T ≤ upper | X_t) = Φ((upper − X_t)/s) − Φ((lower − X_t)/s)`` with
``s² = sigma²·(T − t) + Σ (news sd²) over news still to come``. It is a martingale (so nobody can
earn from the process itself), ladders are monotone in the strike and a partition sums to one, by
construction.

A participant who has not yet heard of some news sees ``X`` minus those jumps and counts them as
still-uncertain variance: a lagged, but still calibrated, belief.

Determinism: the path is drawn from the event's own ``random.Random`` only when someone looks, and
the model looks only at its own event times, so the path depends on the seed alone.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Final

MS_PER_HOUR: Final = 3_600_000
_NORMAL: Final = NormalDist()
_MIN_SD: Final = 1e-9


def normal_cdf(x: float) -> float:
    """Φ(x) via erfc (faster than NormalDist and exact in the tails we use)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_inv(p: float) -> float:
    return _NORMAL.inv_cdf(min(1.0 - 1e-12, max(1e-12, p)))


@dataclass(frozen=True, slots=True)
class Payoff:
    """YES iff ``lower < X_T ≤ upper`` (``None``: unbounded on that side)."""

    lower: float | None
    upper: float | None

    def probability(self, x: float, sd: float) -> float:
        if sd <= _MIN_SD:
            return 1.0 if self.wins(x) else 0.0
        upper = 1.0 if self.upper is None else normal_cdf((self.upper - x) / sd)
        lower = 0.0 if self.lower is None else normal_cdf((self.lower - x) / sd)
        return max(0.0, upper - lower)

    def wins(self, x: float) -> bool:
        return (self.lower is None or x > self.lower) and (self.upper is None or x <= self.upper)


@dataclass(frozen=True, slots=True)
class NewsItem:
    """A scheduled news release: at ``at_ms`` the outcome moves by a Gaussian of ``sd``."""

    at_ms: int
    sd: float


@dataclass(frozen=True, slots=True)
class OutcomeSpec:
    """Everything that defines an event's outcome process (drawn by the universe)."""

    x0: float
    sigma_per_sqrt_h: float
    start_ms: int
    resolve_ms: int
    news: tuple[NewsItem, ...] = ()


@dataclass(slots=True)
class EventOutcome:
    """The realised path of one event's outcome process, advanced lazily in time order."""

    spec: OutcomeSpec
    rng: random.Random
    x: float = 0.0
    t_ms: int = 0
    jumps: list[tuple[int, float]] = field(default_factory=list)  # (time, size) of news so far
    _next_news: int = 0

    @classmethod
    def start(cls, spec: OutcomeSpec, rng: random.Random) -> EventOutcome:
        return cls(spec=spec, rng=rng, x=spec.x0, t_ms=spec.start_ms)

    def advance(self, now_ms: int) -> float:
        """Walk the path to ``min(now_ms, resolve_ms)`` (news applied at their times); returns X."""
        target = min(now_ms, self.spec.resolve_ms)
        news = self.spec.news
        while self._next_news < len(news) and news[self._next_news].at_ms <= target:
            item = news[self._next_news]
            self._diffuse(item.at_ms)
            size = self.rng.gauss(0.0, item.sd)
            self.x += size
            self.jumps.append((item.at_ms, size))
            self._next_news += 1
        self._diffuse(target)
        return self.x

    def _diffuse(self, to_ms: int) -> None:
        dt_h = (to_ms - self.t_ms) / MS_PER_HOUR
        if dt_h > 0.0:
            self.x += self.rng.gauss(0.0, self.spec.sigma_per_sqrt_h * math.sqrt(dt_h))
            self.t_ms = to_ms

    def remaining_sd(self, now_ms: int, unheard_since_ms: int | None = None) -> float:
        """Standard deviation of ``X_T − X_now`` (plus news after ``unheard_since_ms`` not yet heard)."""
        dt_h = max(0.0, (self.spec.resolve_ms - now_ms) / MS_PER_HOUR)
        var = self.spec.sigma_per_sqrt_h**2 * dt_h
        var += sum(item.sd**2 for item in self.spec.news[self._next_news :])
        if unheard_since_ms is not None:
            var += sum(self._news_sd(at) ** 2 for at, _ in self.jumps if at > unheard_since_ms)
        return math.sqrt(var)

    def _news_sd(self, at_ms: int) -> float:
        for item in self.spec.news:
            if item.at_ms == at_ms:
                return item.sd
        return 0.0

    def view(self, now_ms: int, lag_ms: int) -> tuple[float, float]:
        """(X as seen by someone who hears news ``lag_ms`` late, the sd they still expect)."""
        self.advance(now_ms)
        if lag_ms <= 0 or not self.jumps or self.jumps[-1][0] <= now_ms - lag_ms:
            return self.x, self.remaining_sd(now_ms)
        cutoff = now_ms - lag_ms
        unheard = sum(size for at, size in self.jumps if at > cutoff)
        return self.x - unheard, self.remaining_sd(now_ms, cutoff)

    def true_probability(self, payoff: Payoff, now_ms: int) -> float:
        self.advance(now_ms)
        return payoff.probability(self.x, self.remaining_sd(now_ms))

    def resolve(self) -> float:
        """The final value ``X_T`` (walks the rest of the path)."""
        return self.advance(self.spec.resolve_ms)

    @property
    def resolved(self) -> bool:
        return self.t_ms >= self.spec.resolve_ms
