"""Rate-limit costs, classification (domain.ratelimits) and the simulator's token buckets (sim.ratelimit)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalshiflow.clock import ManualClock
from kalshiflow.domain import ratelimits
from kalshiflow.domain.ratelimits import (
    DEFAULT_COST,
    TIER_LIMITS,
    Tier,
    bucket_of,
    classify,
    cost_of,
    normalize_path,
)
from kalshiflow.sim.ratelimit import (
    TOO_MANY_REQUESTS_BODY,
    AccountRateLimiters,
    RateLimiter,
    TokenBucket,
    too_many_requests_body,
)

# -- costs and classification -----------------------------------------------------------------

COST_CASES = [
    # (method, path, batch_items, cost, bucket)
    ("GET", "/markets", 0, 10, "read"),
    ("GET", "/trade-api/v2/markets/KXFOO/orderbook?depth=5", 0, 10, "read"),
    ("GET", "/portfolio/balance", 0, 10, "read"),
    ("GET", "/portfolio/orders", 0, 10, "read"),
    ("GET", "/portfolio/orders/ord-1", 0, 2, "read"),
    ("GET", "/trade-api/v2/portfolio/orders/ord-1?subaccount=0", 0, 2, "read"),
    ("GET", "/portfolio/orders/ord-1/queue_position", 0, 10, "read"),
    ("GET", "/portfolio/orders/queue_positions", 0, 10, "read"),
    ("GET", "/communications/quotes/q-1", 0, 2, "read"),
    # V2
    ("POST", "/portfolio/events/orders", 0, 10, "write"),
    ("DELETE", "/portfolio/events/orders/ord-1", 0, 2, "write"),
    ("POST", "/portfolio/events/orders/ord-1/amend", 0, 10, "write"),
    ("POST", "/portfolio/events/orders/ord-1/decrease", 0, 10, "write"),
    ("POST", "/portfolio/events/orders/batched", 7, 70, "write"),
    ("DELETE", "/portfolio/events/orders/batched", 7, 14, "write"),
    ("DELETE", "/trade-api/v2/portfolio/events/orders?subaccount=1", 0, 2, "write"),
    # legacy V1
    ("POST", "/portfolio/orders", 0, 100, "write"),
    ("POST", "/portfolio/orders/ord-1/amend", 0, 100, "write"),
    ("POST", "/portfolio/orders/ord-1/decrease", 0, 100, "write"),
    ("DELETE", "/portfolio/orders/ord-1", 0, 20, "write"),
    ("POST", "/portfolio/orders/batched", 3, 300, "write"),
    ("DELETE", "/portfolio/orders/batched", 3, 60, "write"),
    # order groups
    ("POST", "/portfolio/order_groups/create", 0, 10, "write"),
    ("PUT", "/portfolio/order_groups/g-1/reset", 0, 10, "write"),
    ("PUT", "/portfolio/order_groups/g-1/trigger", 0, 10, "write"),
    ("PUT", "/portfolio/order_groups/g-1/limit", 0, 10, "write"),
    ("DELETE", "/portfolio/order_groups/g-1", 0, 10, "write"),
    ("GET", "/portfolio/order_groups", 0, 10, "read"),
    ("GET", "/portfolio/order_groups/g-1", 0, 10, "read"),
]


@pytest.mark.parametrize(("method", "path", "items", "cost", "bucket"), COST_CASES)
def test_endpoint_cost_and_bucket(method: str, path: str, items: int, cost: int, bucket: str) -> None:
    assert cost_of(method, path, items) == cost
    assert bucket_of(method, path) == bucket


def test_method_case_does_not_matter() -> None:
    assert cost_of("delete", "/portfolio/events/orders/x", 0) == 2
    assert bucket_of("post", "/portfolio/events/orders") == "write"


def test_empty_batch_is_billed_as_one_item() -> None:
    assert cost_of("POST", "/portfolio/events/orders/batched", 0) == 10
    assert cost_of("DELETE", "/portfolio/events/orders/batched", 0) == 2


def test_negative_batch_items_is_an_error() -> None:
    with pytest.raises(ValueError, match="batch_items"):
        cost_of("POST", "/portfolio/events/orders/batched", -1)


def test_only_single_v2_mutations_are_shardable() -> None:
    assert classify("POST", "/portfolio/events/orders").shardable
    assert classify("DELETE", "/portfolio/events/orders/x").shardable
    assert classify("POST", "/portfolio/events/orders/x/amend").shardable
    assert not classify("POST", "/portfolio/events/orders/batched").shardable
    assert not classify("DELETE", "/portfolio/events/orders").shardable
    assert not classify("POST", "/portfolio/orders").shardable


def test_normalize_path() -> None:
    assert normalize_path("/trade-api/v2/portfolio/orders/?limit=5") == "/portfolio/orders"
    assert normalize_path("/trade-api/v2") == "/"
    assert normalize_path("/trade-api/v22/x") == "/trade-api/v22/x"


# -- tiers ------------------------------------------------------------------------------------

TIER_TABLE = [
    # tier, read rate, read capacity, write rate, write capacity
    (Tier.BASIC, 200, 400, 100, 100),
    (Tier.ADVANCED, 300, 600, 300, 600),
    (Tier.EXPERT, 600, 600, 600, 1_200),
    (Tier.PREMIER, 1_000, 1_000, 1_000, 2_000),
    (Tier.PARAGON, 2_000, 2_000, 2_000, 4_000),
    (Tier.PRIME, 4_000, 4_000, 4_000, 8_000),
    (Tier.PRESTIGE, 10_000, 10_000, 8_000, 16_000),
]


@pytest.mark.parametrize(("tier", "read_rate", "read_cap", "write_rate", "write_cap"), TIER_TABLE)
def test_tier_budgets_and_capacities(
    tier: Tier, read_rate: int, read_cap: int, write_rate: int, write_cap: int
) -> None:
    limits = TIER_LIMITS[tier]
    assert (limits.read.refill_per_s, limits.read.capacity) == (read_rate, read_cap)
    assert (limits.write.refill_per_s, limits.write.capacity) == (write_rate, write_cap)
    assert limits.bucket("read") is limits.read
    assert limits.bucket("write") is limits.write


@pytest.mark.parametrize(("tier", "read_rate", "read_cap", "write_rate", "write_cap"), TIER_TABLE)
def test_fresh_limiter_allows_exactly_a_full_burst(
    tier: Tier, read_rate: int, read_cap: int, write_rate: int, write_cap: int
) -> None:
    limiter = RateLimiter(tier, ManualClock())
    reads = 0
    while limiter.check("GET", "/markets"):
        reads += 1
    writes = 0
    while limiter.check("POST", "/portfolio/events/orders"):
        writes += 1
    assert reads == read_cap // DEFAULT_COST
    assert writes == write_cap // DEFAULT_COST


# -- token bucket -----------------------------------------------------------------------------


def test_bucket_starts_full_and_refuses_beyond_capacity() -> None:
    bucket = TokenBucket(100, 200, ManualClock())
    assert bucket.available == 200
    assert bucket.try_take(200)
    assert not bucket.try_take(1)
    assert not TokenBucket(100, 200, ManualClock()).try_take(201)


def test_bucket_refills_at_rate_with_integer_precision() -> None:
    clock = ManualClock()
    bucket = TokenBucket(100, 200, clock)
    assert bucket.try_take(200)
    clock.advance(0.001)  # 1 ms at 100 tokens/s = 0.1 token
    assert bucket.available_milli == 100
    assert not bucket.try_take(1)
    clock.advance(0.009)
    assert bucket.available_milli == 1_000
    assert bucket.try_take(1)
    assert bucket.available_milli == 0


def test_bucket_refill_is_capped_at_capacity() -> None:
    clock = ManualClock()
    bucket = TokenBucket(100, 200, clock)
    assert bucket.try_take(50)
    clock.advance(3600)
    assert bucket.available == 200


def test_many_tiny_steps_do_not_drift() -> None:
    clock = ManualClock()
    bucket = TokenBucket(300, 600, clock)
    assert bucket.try_take(600)
    for _ in range(1_000):
        clock.advance(0.001)
        bucket.available_milli  # noqa: B018 - force a refill at every step
    assert bucket.available_milli == 300_000


def test_failed_take_takes_nothing() -> None:
    bucket = TokenBucket(100, 100, ManualClock())
    assert bucket.try_take(95)
    assert not bucket.try_take(10)
    assert bucket.available == 5
    assert bucket.try_take(5)


def test_ms_until_reports_the_wait() -> None:
    clock = ManualClock()
    bucket = TokenBucket(100, 100, clock)
    assert bucket.ms_until(10) == 0
    assert bucket.try_take(100)
    assert bucket.ms_until(10) == 100
    assert bucket.ms_until(101) is None
    clock.advance(0.1)
    assert bucket.try_take(10)


def test_clock_stepping_back_adds_nothing() -> None:
    class SteppingClock:
        def __init__(self) -> None:
            self.now = 10_000

        def now_ms(self) -> int:
            return self.now

        async def sleep(self, seconds: float) -> None:  # pragma: no cover - unused
            raise NotImplementedError

    clock = SteppingClock()
    bucket = TokenBucket(1_000, 1_000, clock)
    assert bucket.try_take(1_000)
    clock.now = 9_000
    assert bucket.available_milli == 0
    clock.now = 9_500  # still before the last refill point: nothing yet
    assert bucket.available_milli == 0
    clock.now = 10_001
    assert bucket.available_milli == 1_000


def test_negative_take_is_an_error() -> None:
    with pytest.raises(ValueError, match="tokens"):
        TokenBucket(1, 1, ManualClock()).try_take(-1)


# -- limiter ----------------------------------------------------------------------------------


def test_read_and_write_buckets_are_independent() -> None:
    limiter = RateLimiter(Tier.BASIC, ManualClock())
    for _ in range(10):
        assert limiter.check("POST", "/trade-api/v2/portfolio/events/orders")
    assert not limiter.check("POST", "/trade-api/v2/portfolio/events/orders")
    assert limiter.check("GET", "/trade-api/v2/markets")


def test_cheap_cancels_still_fit_after_creates_exhaust_write() -> None:
    clock = ManualClock()
    limiter = RateLimiter(Tier.BASIC, clock)  # write: 100 tokens/s, capacity 100
    for _ in range(9):
        assert limiter.check("POST", "/portfolio/events/orders")
    assert not limiter.check("POST", "/portfolio/events/orders/batched", batch_items=2)
    for _ in range(5):
        assert limiter.check("DELETE", "/portfolio/events/orders/x")
    assert not limiter.check("DELETE", "/portfolio/events/orders/x")


def test_batch_is_all_or_nothing() -> None:
    clock = ManualClock()
    limiter = RateLimiter(Tier.BASIC, clock)
    assert limiter.check("POST", "/portfolio/events/orders")  # 90 left
    assert not limiter.check("POST", "/portfolio/events/orders/batched", batch_items=10)
    assert limiter.write.available == 90  # the rejected batch took nothing
    assert limiter.check("POST", "/portfolio/events/orders/batched", batch_items=9)
    assert limiter.write.available == 0


def test_batch_larger_than_capacity_never_passes() -> None:
    clock = ManualClock()
    limiter = RateLimiter(Tier.ADVANCED, clock)  # write capacity 600
    assert not limiter.check("POST", "/portfolio/events/orders/batched", batch_items=61)
    clock.advance(3600)
    assert not limiter.check("POST", "/portfolio/events/orders/batched", batch_items=61)
    assert limiter.check("POST", "/portfolio/events/orders/batched", batch_items=60)


def test_rejected_requests_recover_after_refill() -> None:
    clock = ManualClock()
    limiter = RateLimiter(Tier.BASIC, clock)  # read: 200/s, capacity 400 = 40 GETs
    for _ in range(40):
        assert limiter.check("GET", "/markets")
    assert not limiter.check("GET", "/markets")
    clock.advance(0.049)
    assert not limiter.check("GET", "/markets")
    clock.advance(0.001)
    assert limiter.check("GET", "/markets")


def test_shard_mutations_bill_their_own_write_bucket() -> None:
    limiter = RateLimiter(Tier.BASIC, ManualClock())
    for _ in range(10):
        assert limiter.check("POST", "/portfolio/events/orders")
    assert not limiter.check("POST", "/portfolio/events/orders", exchange_index=0)
    assert not limiter.check("POST", "/portfolio/events/orders", exchange_index=-1)
    assert limiter.check("POST", "/portfolio/events/orders", exchange_index=1)
    # batches always bill the unscoped bucket
    assert not limiter.check("POST", "/portfolio/events/orders/batched", 1, exchange_index=2)


def test_accounts_have_separate_buckets_and_tiers() -> None:
    clock = ManualClock()
    limiters = AccountRateLimiters(clock)
    limiters.set_tier("vip", Tier.PREMIER)
    for _ in range(10):
        assert limiters.check("alice", "POST", "/portfolio/events/orders")
    assert not limiters.check("alice", "POST", "/portfolio/events/orders")
    assert limiters.check("bob", "POST", "/portfolio/events/orders")
    assert limiters.for_account("vip").tier is Tier.PREMIER
    assert limiters.for_account("alice").tier is Tier.BASIC


def test_429_body_is_the_documented_string() -> None:
    assert TOO_MANY_REQUESTS_BODY == {"error": "too many requests"}
    body = too_many_requests_body()
    body["error"] = "changed"
    assert TOO_MANY_REQUESTS_BODY == {"error": "too many requests"}


# -- property: never more than capacity + rate*T -----------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    rate=st.integers(min_value=0, max_value=10_000),
    capacity=st.integers(min_value=0, max_value=20_000),
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=2_000), st.integers(min_value=0, max_value=3_000)),
        max_size=200,
    ),
)
def test_tokens_granted_never_exceed_capacity_plus_refill(
    rate: int, capacity: int, steps: list[tuple[int, int]]
) -> None:
    clock = ManualClock()
    start = clock.now_ms()
    bucket = TokenBucket(rate, capacity, clock)
    granted = 0
    for advance_ms, tokens in steps:
        clock.set_ms(clock.now_ms() + advance_ms)
        if bucket.try_take(tokens):
            granted += tokens
        elapsed_ms = clock.now_ms() - start
        # exact integer form of: granted <= capacity + rate * T
        assert granted * 1_000 <= capacity * 1_000 + rate * elapsed_ms


@settings(max_examples=100, deadline=None)
@given(
    rate=st.integers(min_value=1, max_value=10_000),
    capacity=st.integers(min_value=1, max_value=20_000),
    idle_ms=st.integers(min_value=0, max_value=5_000),
)
def test_idle_bucket_refills_exactly(rate: int, capacity: int, idle_ms: int) -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate, capacity, clock)
    assert bucket.try_take(capacity)
    clock.set_ms(clock.now_ms() + idle_ms)
    assert bucket.available_milli == min(capacity * 1_000, rate * idle_ms)


CLASSIFIED = [
    ("GET", "/portfolio/orders"),
    ("POST", "/portfolio/orders"),
    ("DELETE", "/portfolio/orders/o-1"),
    ("delete", "/trade-api/v2/portfolio/orders/o-1/"),
    ("POST", "/portfolio/events/orders/batched"),
    ("DELETE", "/portfolio/events/orders/batched"),
    ("POST", "/portfolio/events/orders/x/amend"),
    ("GET", "/communications/quotes/q-1"),
    ("POST", "/portfolio/order_groups/create"),
    ("GET", "/markets"),
]


def test_a_remembered_cost_is_the_cost_of_that_method_and_path() -> None:
    """Classified twice in a mixed order (the second time from the cache): the same costs, each
    its own (method, path)'s -- and the same after the cache is emptied for being full."""
    fresh = [ratelimits._classify(m, p) for m, p in CLASSIFIED]
    for _ in range(2):
        for (method, path), expected in reversed(list(zip(CLASSIFIED, fresh, strict=True))):
            assert classify(method, path) == expected
        for (method, path), expected in zip(CLASSIFIED, fresh, strict=True):
            assert classify(method, path) == expected
    assert classify("GET", "/portfolio/orders") != classify("POST", "/portfolio/orders")
    ratelimits._COSTS.update({("GET", f"/x/{i}"): fresh[0] for i in range(ratelimits._COSTS_MAX)})
    assert classify("DELETE", "/portfolio/orders/o-2") == fresh[2]  # a miss when full: emptied first
    assert list(ratelimits._COSTS) == [("DELETE", "/portfolio/orders/o-2")]
