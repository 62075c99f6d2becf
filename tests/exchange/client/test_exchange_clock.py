"""The trader's market time is the exchange's: read from its timestamps, signed on the wall clock.

* Against a simulator served over loopback whose market runs 20 times as fast as a (manual) wall
  clock, and a day behind it, the trader's ``FollowingClock`` reads the simulator's time and then
  advances at its rate between samples, while every request is signed with the wall clock.
* The estimate never goes backwards, fits the rate through jittery samples, and is the wall clock
  itself when the exchange's clock is the wall clock (real Kalshi).
* A simulator started again under ``--speed`` (its clock from the wall time of its start, far behind
  the old one's) is a new session: its time is followed at once and the caller is told once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.exchange.client.exchange_client_kit import make_client, make_key
from tests.sped_clock import SpedUpClock

from kalshiflow.clock import FollowingClock, ManualClock, signing_clock
from kalshiflow.domain.units import Money
from kalshiflow.exchange.exchange_clock import (
    ExchangeClockEstimator,
    ExchangeClockSync,
    SessionJump,
    follow_exchange,
)
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.sim.runner import AccountSpec, SimulatorConfig, start_simulator

WALL0_MS = 1_790_000_000_000
DAY_MS = 86_400_000
SPEED = 20


async def test_market_time_follows_a_fast_simulator_and_signatures_stay_on_the_wall(tmp_path: Path) -> None:
    key = make_key("trader")
    pem = tmp_path / "key.pub.pem"
    pem.write_bytes(key.public_pem)
    wall = ManualClock(WALL0_MS)
    market = SpedUpClock(wall, SPEED, start_ms=WALL0_MS - DAY_MS)
    config = SimulatorConfig(
        port=0,
        n_markets=2,
        speed=SPEED,
        data_dir=tmp_path,
        accounts=(AccountSpec("trader", pem, Money.dollars(100)),),
    )
    async with start_simulator(config, clock=market, auth_clock=wall) as handle:
        following = FollowingClock(wall)
        rest = make_client(handle.address.rest_url, key, wall)
        rest_on_market_time = type(rest)(handle.address.rest_url, key.signer(), clock=following)
        try:
            assert signing_clock(following) is wall
            _, task = await follow_exchange(following, rest_on_market_time.user_data_timestamp)
            task.cancel()
            assert following.now_ms() == market.now_ms(), "the first sample already gives the exchange's time"
            sync = ExchangeClockSync(following, rest_on_market_time.user_data_timestamp)
            for _ in range(4):
                wall.advance(1.0)
                assert await sync.sync_once()  # signed with the wall clock: a day off market time
            assert following.rate == pytest.approx(SPEED)
            before = following.now_ms()
            wall.advance(3.0)  # no sample: the clock runs on at the simulator's rate
            assert following.now_ms() - before == pytest.approx(3.0 * SPEED * 1000, abs=2)
            assert following.now_ms() == pytest.approx(market.now_ms(), abs=2)
        finally:
            await rest.aclose()
            await rest_on_market_time.aclose()


def test_a_correction_backwards_holds_time_instead_of_reversing_it() -> None:
    wall = ManualClock(WALL0_MS)
    clock = FollowingClock(wall)
    estimator = ExchangeClockEstimator(clock)
    estimator.observe(WALL0_MS + 600_000, WALL0_MS)
    assert clock.now_ms() == WALL0_MS + 600_000
    wall.advance(1.0)
    # a reading a few seconds back (the read lag of ``as_of_time`` varies): a correction, not a
    # new session
    assert estimator.observe(WALL0_MS + 596_000, wall.now_ms()) is None
    seen = [clock.now_ms()]
    for _ in range(5):
        wall.advance(1.0)
        seen.append(clock.now_ms())
    assert seen == sorted(seen)
    assert seen[0] == WALL0_MS + 600_000


def test_the_rate_is_fitted_through_jittery_round_trips() -> None:
    wall = ManualClock(WALL0_MS)
    clock = FollowingClock(wall)
    estimator = ExchangeClockEstimator(clock)
    exchange0 = WALL0_MS + 3_600_000
    for i, jitter_ms in enumerate((40, -25, 10, -35, 30, 0, -15, 20)):
        local = WALL0_MS + i * 2_000
        estimator.observe(exchange0 + 5 * (local - WALL0_MS) + jitter_ms, local - 50, local + 50)
    assert clock.rate == pytest.approx(5.0, rel=0.01)
    wall.set_ms(WALL0_MS + 20_000)
    assert clock.now_ms() == pytest.approx(exchange0 + 5 * 20_000, abs=100)


def test_an_exchange_on_the_wall_clock_is_read_as_the_wall_clock() -> None:
    """Real Kalshi: ``as_of_time`` a little behind real time, at its rate; the estimate is the wall."""
    wall = ManualClock(WALL0_MS)
    clock = FollowingClock(wall)
    estimator = ExchangeClockEstimator(clock)
    for lag_ms in (800, 1_200, 300, 900):
        wall.advance(5.0)
        estimator.observe(wall.now_ms() - lag_ms, wall.now_ms() - 60, wall.now_ms())
    assert not clock.following
    wall.advance(0.123)
    assert clock.now_ms() == wall.now_ms()


async def test_a_restarted_simulator_is_a_new_session_followed_at_once(tmp_path: Path) -> None:
    """The trader's clock used to hold at the old simulator's time until the new one caught up
    (about as long as the old one had run, in wall time): no scheduled calibration, no resume."""
    key = make_key("trader")
    pem = tmp_path / "key.pub.pem"
    pem.write_bytes(key.public_pem)
    wall = ManualClock(WALL0_MS)
    accounts = (AccountSpec("trader", pem, Money.dollars(100)),)
    config = SimulatorConfig(port=0, n_markets=2, speed=SPEED, data_dir=tmp_path, accounts=accounts)
    following = FollowingClock(wall)
    jumps: list[SessionJump] = []
    first = SpedUpClock(wall, SPEED)
    async with start_simulator(config, clock=first, auth_clock=wall) as handle:
        port = handle.address.port
        rest = KalshiRestClient(handle.address.rest_url, key.signer(), clock=following)
        sync = ExchangeClockSync(following, rest.user_data_timestamp, on_new_session=jumps.append)
        for _ in range(12):  # a minute of wall time: twenty minutes of the simulator's
            assert await sync.sync_once()
            wall.advance(5.0)
        old_time = following.now_ms()
        assert old_time == pytest.approx(first.now_ms(), abs=50)
    wall.advance(2.0)  # `kalshiflow sim --speed 20` is started again, on the same port
    second = SpedUpClock(wall, SPEED)
    restarted = SimulatorConfig(port=port, n_markets=2, speed=SPEED, data_dir=tmp_path, accounts=accounts)
    async with start_simulator(restarted, clock=second, auth_clock=wall):
        try:
            assert await sync.sync_once()
            assert following.now_ms() == pytest.approx(second.now_ms(), abs=50), "follows the new session"
            assert jumps == [SessionJump(old_time + 2 * SPEED * 1000, second.now_ms())]
            for _ in range(4):
                wall.advance(5.0)
                assert await sync.sync_once()
            assert following.rate == pytest.approx(SPEED)
            assert following.now_ms() == pytest.approx(second.now_ms(), abs=50)
            assert len(jumps) == 1, "one session change, reported once"
        finally:
            await rest.aclose()
