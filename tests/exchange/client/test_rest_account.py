"""Account-level reads over loopback: queue positions, API limits and endpoint costs (and the pacer
sized from them), scheduled fee changes."""

from __future__ import annotations

from fractions import Fraction

import pytest
from tests.exchange.client.exchange_client_kit import ClientEnv

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.ratelimits import DEFAULT_COST, TIER_LIMITS, Tier, cost_of
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.errors import NotFoundError
from kalshiflow.exchange.models_account import QueuePosition
from kalshiflow.sim import fee_schedule


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
async def test_queue_position_reads_the_contracts_ahead(env: ClientEnv, side: BookSide) -> None:
    price = Price.parse("0.4000")
    await env.bob.create_order(env.cent_ticker, side, price, Count.contracts(4))
    mine = await env.alice.create_order(env.cent_ticker, side, price, Count.contracts(1))
    assert await env.alice.queue_position(mine.order_id) == Count.contracts(4)
    listed = await env.alice.queue_positions(market_tickers=[env.cent_ticker])
    assert listed == [QueuePosition(mine.order_id, env.cent_ticker, Count.contracts(4))]
    await env.alice.cancel_order(mine.order_id)
    with pytest.raises(NotFoundError):
        await env.alice.queue_position(mine.order_id)
    assert await env.alice.queue_positions() == []


async def test_pacer_adopts_the_buckets_the_exchange_reports(env: ClientEnv) -> None:
    """Configured for Prestige, the account is Basic on the exchange: the exchange's answer wins."""
    assert env.sim.limiters is not None
    env.sim.limiters.set_tier("alice-key", Tier.BASIC)
    limits = await env.alice.account_limits()
    basic = TIER_LIMITS[Tier.BASIC]
    assert (limits.usage_tier, limits.tier, limits.read, limits.write) == (
        "basic",
        Tier.BASIC,
        basic.read,
        basic.write,
    )
    pacer = env.alice.pacer
    pacer.adopt_limits(limits.read, limits.write)
    utilization = pacer.config.utilization_pct
    assert pacer.bucket_size("write") == (
        basic.write.refill_per_s * utilization // 100,
        basic.write.capacity * utilization // 100,
    )
    assert pacer.tokens_available("write") <= basic.write.capacity * utilization // 100


async def test_endpoint_costs_agree_with_the_shared_cost_table(env: ClientEnv) -> None:
    costs = await env.alice.endpoint_costs()
    assert costs.default_cost == DEFAULT_COST
    assert costs.costs[("DELETE", "/portfolio/events/orders/{order_id}")] == 2
    for (method, path), cost in costs.costs.items():
        assert cost == cost_of(method, path)


async def test_a_pacer_priced_by_the_exchanges_answer_bills_what_the_simulator_bills(env: ClientEnv) -> None:
    """The simulator's answer, adopted, prices concrete requests (ids in the path, query strings)
    as the shared cost table the simulator's buckets charge: template matching is what connects them."""
    costs = await env.alice.endpoint_costs()
    pacer = env.alice.pacer
    pacer.adopt_costs(costs.default_cost, costs.costs)
    requests = [
        ("POST", "/trade-api/v2/portfolio/events/orders"),
        ("DELETE", "/trade-api/v2/portfolio/events/orders/0f3c-9a"),
        ("POST", "/trade-api/v2/portfolio/events/orders/0f3c-9a/amend"),
        ("POST", "/trade-api/v2/portfolio/events/orders/batched"),
        ("DELETE", "/trade-api/v2/portfolio/orders/abc"),
        ("POST", "/trade-api/v2/portfolio/orders"),
        ("GET", "/trade-api/v2/portfolio/orders/abc"),
        ("GET", "/trade-api/v2/markets?limit=5"),
        ("GET", "/trade-api/v2/portfolio/orders/queue_positions"),
    ]
    for method, path in requests:
        assert pacer.cost_of(method, path).tokens == cost_of(method, path), (method, path)


async def test_fee_changes_are_read_with_exact_multipliers(env: ClientEnv) -> None:
    engine = env.sim.engine
    event_ticker = engine.markets[env.cent_ticker].event_ticker
    series_ticker = engine.events[event_ticker].series_ticker
    due_ms = env.clock.now_ms() + 3_600_000
    fee_schedule.schedule(
        engine,
        series_ticker=series_ticker,
        event_ticker=None,
        fee_type=FeeType.QUADRATIC_WITH_MAKER_FEES,
        fee_multiplier=Fraction(1, 10),
        scheduled_ms=due_ms,
    )
    fee_schedule.schedule(
        engine,
        series_ticker=None,
        event_ticker=event_ticker,
        fee_type=None,
        fee_multiplier=None,
        scheduled_ms=due_ms,
    )
    (series_change,) = await env.alice.series_fee_changes(series_ticker=series_ticker)
    assert (series_change.fee_type, series_change.fee_multiplier, series_change.scheduled_ms) == (
        FeeType.QUADRATIC_WITH_MAKER_FEES,
        Fraction(1, 10),
        due_ms,
    )
    (event_change,) = await env.alice.event_fee_changes(event_ticker=event_ticker)
    assert (
        event_change.series_ticker,
        event_change.fee_type_override,
        event_change.fee_multiplier_override,
    ) == (
        series_ticker,
        None,
        None,
    )
