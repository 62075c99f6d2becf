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
from tests.exchange.client.exchange_client_kit import Key, make_client
from tests.loopback_sim import LoopbackSim
from tests.trader.scenarios.scenario_kit import Scenario, check_invariants, plain_fee_cent_markets


@pytest.fixture
async def env(loopback_sim: LoopbackSim, alice_key: Key) -> AsyncIterator[Scenario]:
    sim, clock, address = loopback_sim.sim, loopback_sim.clock, loopback_sim.address
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
