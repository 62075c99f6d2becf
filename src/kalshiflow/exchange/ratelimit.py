"""Client-side pacing: wait for tokens instead of provoking 429s, and back off when one comes anyway.

Kalshi bills every request from a token bucket per account (reference §8.1). The pacer keeps a
local copy of the account's ``read`` and ``write`` buckets for the configured tier, using the same
tier table and endpoint costs as the simulator (``kalshiflow.domain.ratelimits``), and makes a
request wait (on the injected clock) until its bucket can pay. Other processes may share the
account, so a 429 can still arrive: then the pacer empties that bucket and blocks it for an
exponential, jittered backoff, which grows with consecutive 429s and resets on a success.

Invariants:

* Bucket levels are integer milli-tokens refilled per elapsed clock millisecond: no float drift.
* Waiters of one bucket are served one at a time in arrival order (an ``asyncio.Lock``), so a
  burst of concurrent requests is spread out rather than all waking at once.
* Jitter comes from a seeded ``random.Random``: the same seed gives the same waits.
* With a ``ManualClock`` nothing here sleeps in real time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from kalshiflow.clock import Clock
from kalshiflow.domain.ratelimits import (
    ORDER_COLLECTION_WORDS,
    TIER_LIMITS,
    BucketName,
    BucketSpec,
    EndpointCost,
    Tier,
    classify,
    normalize_path,
)

_MILLI: Final = 1_000


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter.

    * ``base_s`` (0.25 s): the delay before the first retry.
    * ``cap_s`` (8 s): no delay exceeds this.
    * ``max_attempts`` (5): attempts in total, the first one included.
    * ``jitter`` (0.5): the delay is scaled by a uniform factor in ``[1 - jitter, 1]``.
    """

    base_s: float = 0.25
    cap_s: float = 8.0
    max_attempts: int = 5
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.cap_s < self.base_s or self.max_attempts < 1:
            raise ValueError("need 0 <= base_s <= cap_s and max_attempts >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must lie in [0, 1]")

    def delay_s(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0 = the first retry)."""
        raw: float = min(self.cap_s, self.base_s * float(1 << min(retry, 30)))
        return raw * (1 - self.jitter * rng.random())


@dataclass(frozen=True, slots=True)
class PacerConfig:
    """How the client paces itself.

    * ``tier`` (basic): the account's Kalshi tier; sets refill rates and capacities.
    * ``utilization_pct`` (90, %): share of the tier's budget (rate and capacity) the client
      allows itself. The client bills a request when it sends it, the exchange when it arrives;
      without headroom, refill the client counted while requests were in flight is lost on the
      exchange's full bucket and a 429 follows. The headroom also leaves room for other processes
      on the same account.
    * ``backoff_429``: the pause after a 429 (base 0.5 s, cap 10 s).
    * ``seed`` (0): seeds the jitter.
    """

    tier: Tier = Tier.BASIC
    utilization_pct: int = 90
    backoff_429: Backoff = Backoff(base_s=0.5, cap_s=10.0, max_attempts=8)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.utilization_pct <= 100:
            raise ValueError("utilization_pct must lie in 1..100")


class _Bucket:
    def __init__(self, spec: BucketSpec, utilization_pct: int, clock: Clock) -> None:
        self.rate_per_s = max(1, spec.refill_per_s * utilization_pct // 100)
        self.capacity = max(1, spec.capacity * utilization_pct // 100)
        self.level_milli = self.capacity * _MILLI
        self.last_ms = clock.now_ms()
        self.blocked_until_ms = 0
        self.streak_429 = 0
        self.lock = asyncio.Lock()

    def resize(self, spec: BucketSpec, utilization_pct: int) -> None:
        self.rate_per_s = max(1, spec.refill_per_s * utilization_pct // 100)
        self.capacity = max(1, spec.capacity * utilization_pct // 100)
        self.level_milli = min(self.level_milli, self.capacity * _MILLI)

    def refill(self, now_ms: int) -> None:
        elapsed = now_ms - self.last_ms
        if elapsed > 0:
            self.last_ms = now_ms
            self.level_milli = min(self.capacity * _MILLI, self.level_milli + elapsed * self.rate_per_s)
        elif elapsed < 0:
            # The clock went back: a new exchange session (a simulator started again) that the
            # trader's clock follows. Refill from the new time, and drop a 429 backoff stamped on
            # the old one: waiting until the new clock passed the old stamps hung every request.
            self.last_ms = now_ms
            self.blocked_until_ms = 0

    def wait_s(self, tokens: int, now_ms: int) -> float:
        """Seconds until ``tokens`` can be paid (0 = now)."""
        if now_ms < self.blocked_until_ms:
            return (self.blocked_until_ms - now_ms) / 1000
        missing = tokens * _MILLI - self.level_milli
        if missing <= 0:
            return 0.0
        # ceil(missing / rate) ms, so that after the sleep the bucket can pay.
        return -(-missing // self.rate_per_s) / 1000


class Pacer:
    """Token buckets for one account; ``acquire`` before each request, report 429s and successes."""

    def __init__(self, clock: Clock, config: PacerConfig | None = None) -> None:
        self.config = config or PacerConfig()
        self._clock = clock
        limits = TIER_LIMITS[self.config.tier]
        self._buckets: dict[BucketName, _Bucket] = {
            name: _Bucket(limits.bucket(name), self.config.utilization_pct, clock)
            for name in ("read", "write")
        }
        self._rng = random.Random(f"pacer/{self.config.seed}")
        self.waited_s = 0.0  # total time spent waiting, for metrics
        self.rate_limited = 0  # 429s seen
        # The exchange's own prices (``adopt_costs``): None until it answered, then every request is
        # priced by them -- its default for endpoints it does not list -- instead of the built-in table.
        self._priced: tuple[int, tuple[tuple[str, re.Pattern[str], int], ...]] | None = None

    def adopt_limits(self, read: BucketSpec, write: BucketSpec) -> None:
        """Size the buckets from the exchange's own answer (``GET /account/limits``) instead of the
        configured tier, keeping ``utilization_pct`` headroom. Tokens already spent stay spent: a
        bucket's level is clamped to its new capacity, never refilled by the change."""
        now = self._clock.now_ms()
        sizes: dict[BucketName, BucketSpec] = {"read": read, "write": write}
        for name, spec in sizes.items():
            bucket = self._buckets[name]
            bucket.refill(now)
            bucket.resize(spec, self.config.utilization_pct)

    def adopt_costs(self, default_cost: int, costs: Mapping[tuple[str, str], int]) -> None:
        """Price requests by the exchange's answer (``GET /account/endpoint_costs``): ``costs`` by
        (METHOD, path template such as ``/portfolio/events/orders/{order_id}``), ``default_cost``
        for every endpoint it does not list. Which bucket pays, and whether a batch pays per item,
        stay the built-in classification's: the answer carries prices only."""
        if default_cost < 0 or any(c < 0 for c in costs.values()):
            raise ValueError("endpoint costs must be >= 0")
        patterns = tuple(
            (method.upper(), _template_pattern(template), cost) for (method, template), cost in costs.items()
        )
        self._priced = (default_cost, patterns)

    def cost_of(self, method: str, path: str) -> EndpointCost:
        """The bucket and price of one request: the built-in table, repriced by the exchange's
        answer once adopted."""
        cost = classify(method, path)
        if self._priced is None:
            return cost
        default, patterns = self._priced
        verb, bare = method.upper(), normalize_path(path)
        # A linear scan: the exchange lists a handful of non-default endpoints, and a request costs
        # milliseconds on the wire; an id in the path keeps a cache from paying off.
        tokens = next((c for m, rx, c in patterns if m == verb and rx.fullmatch(bare)), default)
        return cost if tokens == cost.tokens else dataclasses.replace(cost, tokens=tokens)

    def bucket_size(self, bucket: BucketName) -> tuple[int, int]:
        """(refill per second, capacity) the pacer allows itself for ``bucket``."""
        b = self._buckets[bucket]
        return b.rate_per_s, b.capacity

    def tokens_available(self, bucket: BucketName) -> float:
        b = self._buckets[bucket]
        b.refill(self._clock.now_ms())
        return b.level_milli / _MILLI

    def used_pct(self, bucket: BucketName) -> int:
        """Share of ``bucket`` spent right now, 0..100 (the dashboard's rate-limit use)."""
        b = self._buckets[bucket]
        b.refill(self._clock.now_ms())
        spent = b.capacity * _MILLI - b.level_milli
        return max(0, min(100, spent * 100 // (b.capacity * _MILLI)))

    async def acquire(self, method: str, path: str, batch_items: int = 0) -> float:
        """Wait until the request's bucket can pay, then pay; returns the seconds waited."""
        cost = self.cost_of(method, path)
        bucket = self._buckets[cost.bucket]
        tokens = min(cost.total(batch_items), bucket.capacity)  # an oversize batch waits for a full bucket
        waited = 0.0
        async with bucket.lock:
            while True:
                now = self._clock.now_ms()
                bucket.refill(now)
                delay = bucket.wait_s(tokens, now)
                if delay <= 0:
                    bucket.level_milli -= tokens * _MILLI
                    break
                await self._clock.sleep(delay)
                waited += delay
        self.waited_s += waited
        return waited

    def on_rate_limited(self, method: str, path: str) -> float:
        """A 429 arrived: empty the bucket and block it for a backoff; returns the backoff in s."""
        bucket = self._buckets[classify(method, path).bucket]
        now = self._clock.now_ms()
        bucket.refill(now)
        bucket.level_milli = 0
        delay = self.config.backoff_429.delay_s(bucket.streak_429, self._rng)
        bucket.streak_429 += 1
        bucket.blocked_until_ms = max(bucket.blocked_until_ms, now + round(delay * 1000))
        self.rate_limited += 1
        return delay

    def on_success(self, method: str, path: str) -> None:
        self._buckets[classify(method, path).bucket].streak_429 = 0


# One path segment for a ``{name}``, but never a literal route word: ``/portfolio/orders/batched`` is
# its own endpoint, not the order ``batched``.
_PARAM: Final = "(?!(?:{})(?:/|$))[^/]+".format("|".join(sorted(ORDER_COLLECTION_WORDS)))


def _template_pattern(template: str) -> re.Pattern[str]:
    """``/portfolio/orders/{order_id}`` -> a pattern matching one path segment per ``{name}``."""
    parts = re.split(r"\{[^/{}]+\}", normalize_path(template))
    return re.compile(_PARAM.join(re.escape(p) for p in parts))
