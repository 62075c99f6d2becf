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

Determinism: the path is drawn from the event's own ``random.Random`` on a fixed time grid, so it
depends on the seed alone, not on when (or how often) anyone looks at it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Final

MS_PER_HOUR: Final = 3_600_000
MIN_STEP_MS: Final = 1_000
MAX_STEP_MS: Final = 60_000
STEPS_PER_LIFE: Final = 5_000
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
    """The realised path of one event's outcome process, advanced lazily in time order.

    The diffusion moves on a fixed grid of ``step_ms`` (one Gaussian per step) and news lands at its
    own time; both are drawn in time order whenever someone looks, so the path is the same however
    often, and whenever, it is looked at.
    """

    spec: OutcomeSpec
    rng: random.Random
    step_ms: int
    x: float = 0.0
    t_ms: int = 0  # time up to which the path is drawn
    jumps: list[tuple[int, float]] = field(default_factory=list)  # (time, size) of news so far
    _next_news: int = 0
    _next_step_ms: int = 0
    _tail_from: int = -1  # ``_tail_var`` is the variance of news[_tail_from:] (cached: hot path)
    _tail_var: float = 0.0
    _sd_key: tuple[int, int, int] = (-1, -1, -1)  # (now, next news, next step) of ``_sd``
    _sd: float = 0.0

    @classmethod
    def start(cls, spec: OutcomeSpec, rng: random.Random) -> EventOutcome:
        life_ms = max(1, spec.resolve_ms - spec.start_ms)
        step_ms = min(MAX_STEP_MS, max(MIN_STEP_MS, life_ms // STEPS_PER_LIFE))
        return cls(
            spec=spec,
            rng=rng,
            step_ms=step_ms,
            x=spec.x0,
            t_ms=spec.start_ms,
            _next_step_ms=spec.start_ms + step_ms,
        )

    def advance(self, now_ms: int) -> float:
        """Draw the path up to ``min(now_ms, resolve_ms)`` (news and grid steps in time order)."""
        target = min(now_ms, self.spec.resolve_ms)
        if target <= self.t_ms:
            return self.x
        news = self.spec.news
        step_sd = self.spec.sigma_per_sqrt_h * math.sqrt(self.step_ms / MS_PER_HOUR)
        while True:
            news_at = news[self._next_news].at_ms if self._next_news < len(news) else None
            step_at = self._next_step_ms if self._next_step_ms <= self.spec.resolve_ms else None
            if news_at is not None and news_at <= target and (step_at is None or news_at <= step_at):
                size = self.rng.gauss(0.0, news[self._next_news].sd)
                self.x += size
                self.jumps.append((news_at, size))
                self._next_news += 1
            elif step_at is not None and step_at <= target:
                self.x += self.rng.gauss(0.0, step_sd)
                self._next_step_ms += self.step_ms
            else:
                break
        if target == self.spec.resolve_ms and self._next_step_ms - self.step_ms < target:
            # the last, partial step up to the resolution
            partial_h = (target - (self._next_step_ms - self.step_ms)) / MS_PER_HOUR
            self.x += self.rng.gauss(0.0, self.spec.sigma_per_sqrt_h * math.sqrt(partial_h))
            self._next_step_ms = target + self.step_ms
        self.t_ms = target
        return self.x

    def remaining_sd(self, now_ms: int, unheard_since_ms: int | None = None) -> float:
        """Standard deviation of ``X_T`` given the path so far (plus news after ``unheard_since_ms``
        that someone has not heard yet)."""
        key = (now_ms, self._next_news, self._next_step_ms)
        if unheard_since_ms is None and key == self._sd_key:
            return self._sd  # the same question as the last one (a re-quote asks it twice)
        drawn_to = min(self._next_step_ms - self.step_ms, self.spec.resolve_ms)
        dt_h = max(0.0, (self.spec.resolve_ms - max(drawn_to, self.spec.start_ms)) / MS_PER_HOUR)
        if now_ms >= self.spec.resolve_ms:
            dt_h = 0.0
        var = self.spec.sigma_per_sqrt_h**2 * dt_h
        if self._tail_from != self._next_news:
            self._tail_var = sum(item.sd**2 for item in self.spec.news[self._next_news :])
            self._tail_from = self._next_news
        var += self._tail_var
        if unheard_since_ms is not None:
            var += sum(self._news_sd(at) ** 2 for at, _ in self.jumps if at > unheard_since_ms)
            return math.sqrt(var)
        self._sd_key = key
        self._sd = math.sqrt(var)
        return self._sd

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
