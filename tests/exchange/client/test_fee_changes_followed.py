"""The trader's fee schedule follows the exchange's scheduled fee changes, through the real client
against the simulator: nothing changes before a change's time, everything after it."""

from __future__ import annotations

from fractions import Fraction

from tests.exchange.client.exchange_client_kit import ClientEnv

from kalshiflow.domain.fees import FeeType
from kalshiflow.sim import fee_schedule, lifecycle
from kalshiflow.trader.state.fees import FeeSchedule


def _tickers_of(env: ClientEnv, event_ticker: str) -> list[str]:
    return [t for t, m in env.sim.engine.markets.items() if m.event_ticker == event_ticker]


async def test_series_and_event_changes_apply_at_their_time_and_once(env: ClientEnv) -> None:
    engine = env.sim.engine
    event_ticker = engine.markets[env.cent_ticker].event_ticker
    series_ticker = engine.events[event_ticker].series_ticker
    engine.series[series_ticker].fee_type = FeeType.QUADRATIC
    engine.series[series_ticker].fee_multiplier = Fraction(1)
    schedule = FeeSchedule()
    await schedule.load(env.alice, await env.alice.list_markets())
    assert schedule(env.cent_ticker) == (FeeType.QUADRATIC, Fraction(1))

    now = env.clock.now_ms()
    fee_schedule.schedule(
        engine,
        series_ticker=series_ticker,
        event_ticker=None,
        fee_type=FeeType.QUADRATIC_WITH_MAKER_FEES,
        fee_multiplier=Fraction(1, 2),
        scheduled_ms=now + 60_000,
    )
    fee_schedule.schedule(
        engine,
        series_ticker=None,
        event_ticker=event_ticker,
        fee_type=FeeType.FLAT,
        fee_multiplier=None,
        scheduled_ms=now + 120_000,
    )
    assert await schedule.follow_changes(env.alice, env.clock.now_ms()) == 0  # not yet due
    assert schedule(env.cent_ticker) == (FeeType.QUADRATIC, Fraction(1))

    env.clock.advance(60)
    lifecycle.advance(engine, env.clock.now_ms())
    changed = await schedule.follow_changes(env.alice, env.clock.now_ms())
    series_markets = [
        t for t, m in engine.markets.items() if engine.events[m.event_ticker].series_ticker == series_ticker
    ]
    assert changed == len(series_markets)
    assert schedule(env.cent_ticker) == (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1, 2))

    env.clock.advance(60)
    lifecycle.advance(engine, env.clock.now_ms())
    assert await schedule.follow_changes(env.alice, env.clock.now_ms()) == len(_tickers_of(env, event_ticker))
    assert schedule(env.cent_ticker) == (FeeType.FLAT, Fraction(1, 2))  # type overridden, series multiplier
    assert schedule(env.cent_ticker) == engine.fee_schedule(event_ticker)  # the exchange agrees
    assert await schedule.follow_changes(env.alice, env.clock.now_ms()) == 0  # each change applies once
