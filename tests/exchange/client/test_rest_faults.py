"""A flaky exchange: 429 bursts, 5xx, lost responses, read lag, timeouts, an unreachable host.

Client and simulator share a ``SteppingClock``: every wait the client makes (pacing, backoff,
resolve polls) moves the simulator's time too, so recovery is proven without real sleeps.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from tests.exchange.client.exchange_client_kit import (
    ClientEnv,
    Key,
    SteppingClock,
    make_client,
    orders_with_client_id,
)

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.ratelimits import Tier
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.errors import AmbiguousError, AmbiguousOrderError, ErrorKind
from kalshiflow.exchange.ratelimit import Backoff, Pacer, PacerConfig
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.rest_transport import RestSettings


async def test_429_burst_slows_reads_down_and_all_succeed(env: ClientEnv) -> None:
    env.sim.faults.update({"rate_limit_burst_requests": 3})
    before = env.clock.now_ms()
    balances = [await env.alice.balance() for _ in range(5)]
    assert len(balances) == 5
    assert env.alice.pacer.rate_limited == 3
    assert env.clock.now_ms() > before  # the client paused after each 429


async def test_basic_tier_reads_are_paced_without_a_single_429(env: ClientEnv, alice_key: Key) -> None:
    assert env.sim.limiters is not None
    env.sim.limiters.set_tier("alice-key", Tier.BASIC)  # read: 200 tokens/s, 400 burst = 40 reads
    client = make_client(env.rest_url, alice_key, env.clock, tier=Tier.BASIC)
    try:
        before = env.clock.now_ms()
        results = await asyncio.gather(*(client.balance() for _ in range(60)))
    finally:
        await client.aclose()
    assert len(results) == 60
    assert client.pacer.rate_limited == 0
    assert env.clock.now_ms() - before >= 1_000  # 20 reads beyond the burst at 20 reads/s


async def test_5xx_on_reads_is_retried_and_succeeds(env: ClientEnv) -> None:
    env.sim.faults.schedule_5xx(2)
    markets = await env.alice.list_markets()
    assert len(markets) == len(env.sim.engine.markets)
    assert env.sim.faults.pending_5xx == 0


async def test_5xx_on_create_is_ambiguous_and_not_resent(env: ClientEnv) -> None:
    env.sim.faults.schedule_5xx(1)
    with pytest.raises(AmbiguousOrderError) as excinfo:
        await env.alice.create_order(env.cent_ticker, BookSide.BID, Price.parse("0.20"), Count.contracts(1))
    err = excinfo.value
    assert err.kind is ErrorKind.AMBIGUOUS
    assert err.status == 500
    assert await env.alice.resolve_order(err.client_order_id, env.cent_ticker) is None
    assert orders_with_client_id(env.sim, err.client_order_id) == 0  # the sim's 500 did not act


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
async def test_ambiguous_create_is_resolved_by_client_order_id(env: ClientEnv, side: BookSide) -> None:
    env.sim.faults.schedule_lost_responses(1)
    with pytest.raises(AmbiguousOrderError) as excinfo:
        await env.alice.create_order(env.cent_ticker, side, Price.parse("0.40"), Count.contracts(2))
    err = excinfo.value
    assert err.ticker == env.cent_ticker
    assert err.request_sent
    found = await env.alice.resolve_order(err.client_order_id, env.cent_ticker)
    assert found is not None
    assert found.book_side is side
    assert found.client_order_id == err.client_order_id
    assert orders_with_client_id(env.sim, err.client_order_id) == 1


async def test_create_order_resolving_finds_the_order_without_resending(env: ClientEnv) -> None:
    env.sim.faults.schedule_lost_responses(1)
    placement = await env.alice.create_order_resolving(
        env.cent_ticker, BookSide.BID, Price.parse("0.33"), Count.contracts(1), client_order_id="lost-once"
    )
    assert placement.resolved_by_read
    assert placement.response is None
    assert placement.resolved is not None
    assert placement.order_id == placement.resolved.order_id
    assert orders_with_client_id(env.sim, "lost-once") == 1


async def test_create_order_resolving_without_a_fault_uses_the_answer(env: ClientEnv) -> None:
    placement = await env.alice.create_order_resolving(
        env.cent_ticker, BookSide.ASK, Price.parse("0.66"), Count.contracts(1)
    )
    assert not placement.resolved_by_read
    assert placement.response is not None
    assert orders_with_client_id(env.sim, placement.client_order_id) == 1


async def test_read_lag_makes_resolve_miss_first_then_find(env: ClientEnv) -> None:
    env.sim.faults.update({"read_lag_ms": 1_500})
    env.sim.faults.schedule_lost_responses(1)
    order = env.alice.new_order(env.cent_ticker, BookSide.BID, Price.parse("0.27"), Count.contracts(1))
    with pytest.raises(AmbiguousOrderError):
        await env.alice.place(order)
    assert await env.alice.resolve_order(order.client_order_id, env.cent_ticker) is None  # lagging read
    assert orders_with_client_id(env.sim, order.client_order_id) == 1  # yet it exists
    await env.clock.sleep(2)
    found = await env.alice.resolve_order(order.client_order_id, env.cent_ticker)
    assert found is not None
    assert found.client_order_id == order.client_order_id


async def test_resolving_polls_through_read_lag(env: ClientEnv) -> None:
    env.sim.faults.update({"read_lag_ms": 1_500})
    env.sim.faults.schedule_lost_responses(1)
    before = env.clock.now_ms()
    placement = await env.alice.create_order_resolving(
        env.cent_ticker, BookSide.BID, Price.parse("0.28"), Count.contracts(1), client_order_id="lagged"
    )
    assert placement.resolved_by_read
    assert env.clock.now_ms() - before >= 1_500  # it missed while the read lagged
    assert orders_with_client_id(env.sim, "lagged") == 1


async def test_resolving_gives_up_with_the_same_error_and_never_resends(env: ClientEnv) -> None:
    env.sim.faults.update({"read_lag_ms": 3_600_000})
    env.sim.faults.schedule_lost_responses(1)
    with pytest.raises(AmbiguousOrderError) as excinfo:
        await env.alice.create_order_resolving(
            env.cent_ticker,
            BookSide.BID,
            Price.parse("0.29"),
            Count.contracts(1),
            client_order_id="hidden",
            polls=3,
        )
    assert excinfo.value.client_order_id == "hidden"
    assert orders_with_client_id(env.sim, "hidden") == 1


async def test_read_timeout_is_retried_then_reported_as_ambiguous(env: ClientEnv, alice_key: Key) -> None:
    env.sim.faults.update({"latency_ms": 300})
    settings = RestSettings(timeout_s=0.05, read_backoff=Backoff(base_s=0.01, cap_s=0.01, max_attempts=2))
    client = make_client(env.rest_url, alice_key, env.clock, settings=settings)
    try:
        with pytest.raises(AmbiguousError) as excinfo:
            await client.balance()
    finally:
        await client.aclose()
    assert excinfo.value.request_sent
    assert "timed out" in str(excinfo.value)


async def test_unreachable_host_is_a_clear_connection_error() -> None:
    clock = SteppingClock()
    url = "http://127.0.0.1:1/trade-api/v2"  # nothing listens on port 1: connection refused
    client = make_client(url, None, clock)
    try:
        with pytest.raises(AmbiguousError) as excinfo:
            await client.exchange_status()
    finally:
        await client.aclose()
    err = excinfo.value
    assert not err.request_sent
    assert f"cannot connect to {url}" in str(err)
    assert "--url" in str(err)
    assert err.__cause__ is None
    assert err.__suppress_context__
    assert clock.slept_s > 0  # reads retried with backoff before giving up


async def test_an_unreachable_exchange_warns_once_and_its_retries_stay_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The console shows warnings: one line when the exchange cannot be reached, not one per retry
    of every call (a calibration's eight reads printed eight a retry); every attempt stays in the
    log at info, the last one given up on included."""
    caplog.set_level(logging.INFO, logger="kalshiflow.exchange")
    client = make_client("http://127.0.0.1:1/trade-api/v2", None, SteppingClock())
    try:
        for call in (client.exchange_status, client.exchange_status):
            with pytest.raises(AmbiguousError):
                await call()
    finally:
        await client.aclose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("rest.unreachable cannot connect to http://127.0.0.1:1/trade-api/v2")
    retries = [m for m in infos if m.startswith("rest.retry ")]
    transport = [m for m in infos if m.startswith("rest.transport_error ")]
    assert retries
    assert len(transport) == len(retries) + 2  # every attempt, the last one of each call included
    assert client.unreachable


class _DownFor(httpx.AsyncBaseTransport):
    """The real loopback transport, refusing the first ``failures`` connections as a stopped server does."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.failures > 0:
            self.failures -= 1
            raise httpx.ConnectError("All connection attempts failed", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_an_outage_is_one_warning_when_it_starts_and_one_when_it_ends(
    env: ClientEnv, alice_key: Key, caplog: pytest.LogCaptureFixture
) -> None:
    """Concurrent reads during an outage, then the exchange answers: two warnings in all, and every
    read succeeds."""
    caplog.set_level(logging.INFO, logger="kalshiflow.exchange")
    client = KalshiRestClient(
        env.rest_url,
        alice_key.signer(),
        clock=env.clock,
        pacer=Pacer(env.clock, PacerConfig(tier=Tier.PRESTIGE)),
        settings=RestSettings(read_backoff=Backoff(max_attempts=10)),
        transport=_DownFor(6),
    )
    try:
        results = await asyncio.gather(*(client.balance() for _ in range(4)))
    finally:
        await client.aclose()
    assert len(results) == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [w.split(" ")[0] for w in warnings] == ["rest.unreachable", "rest.reachable"], warnings
    assert "(6 failed attempts)" in warnings[1]
    assert not client.unreachable
