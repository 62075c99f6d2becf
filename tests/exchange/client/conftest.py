"""Fixtures of the REST client tests: the real simulator on loopback, port 0, with funded accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.exchange.client.exchange_client_kit import ClientEnv, Key, make_client
from tests.loopback_sim import LoopbackSim


@pytest.fixture
async def env(loopback_sim: LoopbackSim, alice_key: Key, bob_key: Key) -> AsyncIterator[ClientEnv]:
    sim, clock, address = loopback_sim.sim, loopback_sim.clock, loopback_sim.address
    markets = list(sim.engine.markets.values())
    cent = next(m.ticker for m in markets if m.grid.structure == "linear_cent")
    subcent = next(m.ticker for m in markets if m.grid.structure != "linear_cent")
    alice = make_client(address.rest_url, alice_key, clock)
    bob = make_client(address.rest_url, bob_key, clock)
    admin = httpx.AsyncClient(base_url=address.base_url + "/sim/admin", timeout=10)
    try:
        yield ClientEnv(sim, clock, address.rest_url, alice, bob, admin, cent, subcent)
    finally:
        for client in (alice, bob):
            await client.aclose()
        await admin.aclose()
