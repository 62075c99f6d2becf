"""The client-side pacer on a ManualClock: waits for tokens, backs off after a 429, never sleeps for real."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.clock import Clock, FollowingClock, ManualClock
from kalshiflow.domain.ratelimits import TIER_LIMITS, Tier
from kalshiflow.exchange.exchange_clock import ExchangeClockEstimator
from kalshiflow.exchange.ratelimit import Backoff, Pacer, PacerConfig

READ = ("GET", "/trade-api/v2/markets")  # 10 read tokens
CANCEL = ("DELETE", "/portfolio/events/orders/abc")  # 2 write tokens
CREATE = ("POST", "/portfolio/events/orders")  # 10 write tokens


def _pacer(clock: Clock, tier: Tier = Tier.BASIC, pct: int = 100, seed: int = 0) -> Pacer:
    return Pacer(clock, PacerConfig(tier=tier, utilization_pct=pct, seed=seed))


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_full_bucket_pays_without_waiting() -> None:
    clock = ManualClock()
    pacer = _pacer(clock)  # Basic read: 200/s, capacity 400 = 40 reads
    waits = [await pacer.acquire(*READ) for _ in range(40)]
    assert waits == [0.0] * 40
    assert clock.sleepers == 0
    assert pacer.tokens_available("read") == 0


async def test_an_empty_bucket_waits_exactly_for_the_refill() -> None:
    clock = ManualClock()
    pacer = _pacer(clock)
    for _ in range(40):
        await pacer.acquire(*READ)
    task = asyncio.create_task(pacer.acquire(*READ))
    await _settle()
    assert not task.done()
    assert clock.sleepers == 1
    clock.advance(0.049)
    await _settle()
    assert not task.done()
    clock.advance(0.001)  # 10 tokens at 200/s = 50 ms
    assert await task == pytest.approx(0.05)


async def test_endpoint_costs_come_from_the_domain_table() -> None:
    clock = ManualClock()
    pacer = _pacer(clock)  # Basic write: 100/s, capacity 100
    for _ in range(50):  # a V2 cancel costs 2
        assert await pacer.acquire(*CANCEL) == 0.0
    task = asyncio.create_task(pacer.acquire(*CREATE))
    await _settle()
    assert clock.sleepers == 1  # the write bucket is empty; reads are untouched
    assert await pacer.acquire(*READ) == 0.0
    clock.advance(0.1)
    assert await task == pytest.approx(0.1)


async def test_a_batch_bigger_than_the_bucket_waits_for_a_full_bucket_not_forever() -> None:
    clock = ManualClock()
    pacer = _pacer(clock)
    await pacer.acquire(*CREATE)
    task = asyncio.create_task(pacer.acquire("POST", "/portfolio/events/orders/batched", 50))
    await _settle()
    clock.advance(0.1)
    assert await task == pytest.approx(0.1)


async def test_waiters_are_served_in_arrival_order() -> None:
    clock = ManualClock()
    pacer = _pacer(clock)
    for _ in range(40):
        await pacer.acquire(*READ)
    done: list[int] = []

    async def one(i: int) -> None:
        await pacer.acquire(*READ)
        done.append(i)

    tasks = [asyncio.create_task(one(i)) for i in range(3)]
    for _ in range(3):
        await _settle()
        clock.advance(0.05)
    await asyncio.gather(*tasks)
    assert done == [0, 1, 2]


async def test_a_429_drains_the_bucket_and_blocks_it_for_a_growing_backoff() -> None:
    clock = ManualClock()
    pacer = _pacer(clock, tier=Tier.PRESTIGE)
    first = pacer.on_rate_limited(*READ)
    second = pacer.on_rate_limited(*READ)
    cfg = pacer.config.backoff_429
    assert cfg.base_s * (1 - cfg.jitter) <= first <= cfg.base_s
    assert 2 * cfg.base_s * (1 - cfg.jitter) <= second <= 2 * cfg.base_s
    assert pacer.tokens_available("read") == 0
    task = asyncio.create_task(pacer.acquire(*READ))
    await _settle()
    assert clock.sleepers == 1
    clock.advance(second + 0.01)
    assert await task > 0
    pacer.on_success(*READ)
    assert pacer.on_rate_limited(*READ) <= cfg.base_s  # the streak was reset
    assert pacer.rate_limited == 3


def test_backoff_is_deterministic_for_a_seed() -> None:
    a = [_pacer(ManualClock(), seed=4).on_rate_limited(*READ) for _ in range(3)]
    b = [_pacer(ManualClock(), seed=4).on_rate_limited(*READ) for _ in range(3)]
    assert a == b


async def test_utilization_leaves_headroom() -> None:
    clock = ManualClock()
    pacer = _pacer(clock, pct=50)  # Basic read at 50%: capacity 200 = 20 reads
    for _ in range(20):
        assert await pacer.acquire(*READ) == 0.0
    task = asyncio.create_task(pacer.acquire(*READ))
    await _settle()
    clock.advance(0.1)  # refill at 100/s
    assert await task == pytest.approx(0.1)


@given(
    base=st.floats(0.001, 2.0),
    factor=st.floats(1.0, 50.0),
    jitter=st.floats(0.0, 1.0),
    retry=st.integers(0, 100),
    seed=st.integers(0, 2**32),
)
def test_backoff_delay_stays_within_its_bounds(
    base: float, factor: float, jitter: float, retry: int, seed: int
) -> None:
    backoff = Backoff(base_s=base, cap_s=base * factor, jitter=jitter)
    delay = backoff.delay_s(retry, random.Random(seed))
    ceiling = min(backoff.cap_s, base * 2 ** min(retry, 30))
    assert ceiling * (1 - jitter) - 1e-12 <= delay <= ceiling + 1e-12


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="utilization_pct"):
        PacerConfig(utilization_pct=0)
    with pytest.raises(ValueError, match="max_attempts"):
        Backoff(max_attempts=0)


async def test_adopted_limits_resize_the_buckets_without_refunding_spent_tokens() -> None:
    clock = ManualClock()
    pacer = _pacer(clock, Tier.PRESTIGE)  # write 8000/s, capacity 16000
    for _ in range(1_000):
        await pacer.acquire(*CREATE)  # 10,000 write tokens spent, 6,000 left
    basic = TIER_LIMITS[Tier.BASIC]
    pacer.adopt_limits(basic.read, basic.write)
    assert pacer.bucket_size("write") == (100, 100)
    assert pacer.tokens_available("write") == 100  # clamped to the new capacity
    for _ in range(10):
        assert await pacer.acquire(*CREATE) == 0.0
    task = asyncio.create_task(pacer.acquire(*CREATE))
    await _settle()
    assert not task.done()
    clock.advance(0.1)  # 10 tokens at Basic's 100/s
    assert await task == pytest.approx(0.1)
    prestige = TIER_LIMITS[Tier.PRESTIGE]
    pacer.adopt_limits(prestige.read, prestige.write)
    assert pacer.tokens_available("write") == 0  # growing the bucket refunds nothing


async def test_adopted_endpoint_costs_reprice_requests_by_their_path_template() -> None:
    """The exchange's answer wins over the built-in table: listed templates at their price, every
    other endpoint at its default; the bucket stays the built-in one."""
    clock = ManualClock()
    pacer = _pacer(clock)  # Basic write: 100/s, capacity 100
    pacer.adopt_costs(5, {("DELETE", "/portfolio/events/orders/{order_id}"): 25})
    assert pacer.cost_of(*CANCEL).tokens == 25  # built-in: 2
    assert pacer.cost_of(*CREATE).tokens == 5  # not listed: the default (built-in: 10)
    assert pacer.cost_of(*READ) == pacer.cost_of("GET", "/markets")  # prefix and query ignored
    assert pacer.cost_of(*READ).bucket == "read"
    assert pacer.cost_of("DELETE", "/portfolio/events/orders/abc/extra").tokens == 5  # one segment only
    for _ in range(4):
        assert await pacer.acquire(*CANCEL) == 0.0
    assert pacer.tokens_available("write") == 0  # 4 x 25 of 100
    task = asyncio.create_task(pacer.acquire(*CREATE))
    await _settle()
    assert not task.done()
    clock.advance(0.05)  # 5 tokens at 100/s
    assert await task == pytest.approx(0.05)
    with pytest.raises(ValueError, match="endpoint costs"):
        pacer.adopt_costs(-1, {})


async def test_a_clock_that_went_back_refills_from_its_new_time_instead_of_waiting_for_the_old() -> None:
    """A new exchange session (a simulator started again) takes the trader's clock back: the buckets
    stopped refilling until the new time passed the old one (REST calls hung for minutes)."""
    wall = ManualClock()
    clock = FollowingClock(wall)
    estimator = ExchangeClockEstimator(clock)
    estimator.observe(wall.now_ms() + 3_600_000, wall.now_ms())  # an hour ahead
    pacer = _pacer(clock)
    for _ in range(40):
        await pacer.acquire(*READ)
    pacer.on_rate_limited(*READ)  # and a 429 backoff on top
    wall.advance(1.0)
    assert estimator.observe(wall.now_ms(), wall.now_ms()) is not None  # the new session: the wall
    task = asyncio.create_task(pacer.acquire(*READ))
    await _settle()
    wall.advance(0.05)  # what 10 tokens take to refill at 200/s
    await _settle()
    assert task.done(), "waits for the refill on the new session's time"
