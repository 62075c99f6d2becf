"""The simulator's token-bucket rate limiter (reference §8.1), driven by an injectable clock.

Why a module of its own: the server asks one question per request — "may this account spend the
tokens for ``method path`` now?" — and a 429 must follow exactly the rules a client will be paced by
(``kalshiflow.domain.ratelimits`` holds those rules; this module only keeps the buckets).

Invariants:

* Bucket levels are integer milli-tokens. A bucket refilling ``r`` tokens/s gains exactly ``r``
  milli-tokens per elapsed millisecond, so there is no float drift: over any window of ``T`` ms a
  bucket never grants more than ``capacity + r*T/1000`` tokens.
* Buckets start full. A request needing more tokens than are available takes nothing (a batch is
  accepted or rejected whole); there is no penalty box.
* A clock that steps backwards (wall time) refills nothing and never removes tokens.
"""

from __future__ import annotations

from typing import Final

from kalshiflow.clock import Clock
from kalshiflow.domain.ratelimits import TIER_LIMITS, BucketSpec, Tier, classify

# 429 body per the rate-limit page: a bare string, not the usual error object. Copy before mutating.
TOO_MANY_REQUESTS_BODY: Final[dict[str, str]] = {"error": "too many requests"}
TOO_MANY_REQUESTS_STATUS: Final = 429

_MILLI: Final = 1_000


def too_many_requests_body() -> dict[str, str]:
    """A fresh copy of the 429 body, safe to hand to a response."""
    return dict(TOO_MANY_REQUESTS_BODY)


class TokenBucket:
    """Refills ``rate_per_s`` tokens per second up to ``capacity``; starts full."""

    def __init__(self, rate_per_s: int, capacity: int, clock: Clock) -> None:
        if rate_per_s < 0 or capacity < 0:
            raise ValueError("rate_per_s and capacity must be >= 0")
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self._clock = clock
        self._level_milli = capacity * _MILLI
        self._last_ms = clock.now_ms()

    @classmethod
    def from_spec(cls, spec: BucketSpec, clock: Clock) -> TokenBucket:
        return cls(spec.refill_per_s, spec.capacity, clock)

    def _refill(self) -> None:
        now = self._clock.now_ms()
        elapsed = now - self._last_ms
        if elapsed <= 0:
            return
        self._last_ms = now
        self._level_milli = min(self.capacity * _MILLI, self._level_milli + elapsed * self.rate_per_s)

    @property
    def available_milli(self) -> int:
        """Current level in milli-tokens (exact)."""
        self._refill()
        return self._level_milli

    @property
    def available(self) -> int:
        """Whole tokens available now."""
        return self.available_milli // _MILLI

    def try_take(self, tokens: int) -> bool:
        """Take ``tokens`` if all are available now; otherwise take nothing and return False."""
        if tokens < 0:
            raise ValueError("tokens must be >= 0")
        self._refill()
        need = tokens * _MILLI
        if need > self._level_milli:
            return False
        self._level_milli -= need
        return True

    def ms_until(self, tokens: int) -> int | None:
        """Milliseconds until ``tokens`` are available (0 if now); None if they never will be."""
        if tokens < 0:
            raise ValueError("tokens must be >= 0")
        if tokens > self.capacity:
            return None
        missing = tokens * _MILLI - self.available_milli
        if missing <= 0:
            return 0
        if self.rate_per_s == 0:
            return None
        return -(-missing // self.rate_per_s)

    def __repr__(self) -> str:
        return (
            f"TokenBucket(rate_per_s={self.rate_per_s}, capacity={self.capacity}, "
            f"available_milli={self._level_milli})"
        )


class RateLimiter:
    """The read and write buckets of one account at one tier.

    Single V2 order mutations sent with ``exchange_index >= 1`` bill that shard's own Write bucket
    (each shard has the full write budget); everything else bills the unscoped buckets.
    """

    def __init__(self, tier: Tier, clock: Clock) -> None:
        self.tier = tier
        self.limits = TIER_LIMITS[tier]
        self._clock = clock
        self.read = TokenBucket.from_spec(self.limits.read, clock)
        self.write = TokenBucket.from_spec(self.limits.write, clock)
        self._shard_write: dict[int, TokenBucket] = {}

    def _shard_bucket(self, exchange_index: int) -> TokenBucket:
        bucket = self._shard_write.get(exchange_index)
        if bucket is None:
            bucket = TokenBucket.from_spec(self.limits.write, self._clock)
            self._shard_write[exchange_index] = bucket
        return bucket

    def check(
        self, method: str, path: str, batch_items: int = 0, *, exchange_index: int | None = None
    ) -> bool:
        """Charge the request's tokens and return True, or return False (→ 429) charging nothing."""
        endpoint = classify(method, path)
        tokens = endpoint.total(batch_items)
        if endpoint.bucket == "read":
            return self.read.try_take(tokens)
        if endpoint.shardable and exchange_index is not None and exchange_index >= 1:
            return self._shard_bucket(exchange_index).try_take(tokens)
        return self.write.try_take(tokens)


class AccountRateLimiters:
    """One ``RateLimiter`` per account, created on first use at the account's tier."""

    def __init__(self, clock: Clock, default_tier: Tier = Tier.BASIC) -> None:
        self._clock = clock
        self.default_tier = default_tier
        self._tiers: dict[str, Tier] = {}
        self._limiters: dict[str, RateLimiter] = {}

    def set_tier(self, account_id: str, tier: Tier) -> None:
        """Change an account's tier; its buckets restart full at the new size."""
        self._tiers[account_id] = tier
        self._limiters.pop(account_id, None)

    def for_account(self, account_id: str) -> RateLimiter:
        limiter = self._limiters.get(account_id)
        if limiter is None:
            limiter = RateLimiter(self._tiers.get(account_id, self.default_tier), self._clock)
            self._limiters[account_id] = limiter
        return limiter

    def check(
        self,
        account_id: str,
        method: str,
        path: str,
        batch_items: int = 0,
        *,
        exchange_index: int | None = None,
    ) -> bool:
        return self.for_account(account_id).check(method, path, batch_items, exchange_index=exchange_index)
