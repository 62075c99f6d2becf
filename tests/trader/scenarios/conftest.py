"""Fixtures of the scenario tests: the simulator on loopback, Alice (the trader) and Bob, admin API.

The simulator runs without synthetic participants (``make_sim``: seed 7, 24 generated markets, no
scheduler), so nothing trades unless a test says so; the ``SteppingClock`` moves only when a test
advances it or a client sleeps (retry backoff, pacing). Every scenario ends with
``check_invariants`` (ledger == exchange, no client_order_id twice, limits respected).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.exchange.client.exchange_client_kit import Key, SteppingClock, make_client, make_key, make_sim
from tests.trader.scenarios.scenario_kit import Scenario, check_invariants, plain_fee_cent_markets

from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.serve import running_server


@pytest.fixture(scope="session")
def alice_key() -> Key:
    return make_key("alice-key")


@pytest.fixture(scope="session")
def bob_key() -> Key:
    return make_key("bob-key")


@pytest.fixture
async def env(alice_key: Key, bob_key: Key) -> AsyncIterator[Scenario]:
    clock = SteppingClock()
    sim = make_sim(clock, [alice_key, bob_key])
    async with running_server(build_app(sim)) as address:
        by_hand = make_client(address.rest_url, alice_key, clock)
        admin = httpx.AsyncClient(base_url=address.base_url + "/sim/admin", timeout=10)
        scenario = Scenario(
            sim,
            clock,
            address.rest_url,
            address.ws_url,
            alice_key,
            by_hand,
            admin,
            plain_fee_cent_markets(sim, 3),
        )
        try:
            yield scenario
            sim.faults.reset()
            await check_invariants(scenario)
        finally:
            await scenario.aclose()
            await by_hand.aclose()
            await admin.aclose()
