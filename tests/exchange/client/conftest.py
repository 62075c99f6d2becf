"""Fixtures of the REST client tests: the real simulator on loopback, port 0, with funded accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.exchange.client.exchange_client_kit import (
    ClientEnv,
    Key,
    SteppingClock,
    make_client,
    make_key,
    make_sim,
)

from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.serve import running_server


@pytest.fixture(scope="session")
def alice_key() -> Key:
    return make_key("alice-key")


@pytest.fixture(scope="session")
def bob_key() -> Key:
    return make_key("bob-key")


@pytest.fixture
async def env(alice_key: Key, bob_key: Key) -> AsyncIterator[ClientEnv]:
    clock = SteppingClock()
    sim = make_sim(clock, [alice_key, bob_key])
    markets = list(sim.engine.markets.values())
    cent = next(m.ticker for m in markets if m.grid.structure == "linear_cent")
    subcent = next(m.ticker for m in markets if m.grid.structure != "linear_cent")
    async with running_server(build_app(sim)) as address:
        alice = make_client(address.rest_url, alice_key, clock)
        bob = make_client(address.rest_url, bob_key, clock)
        admin = httpx.AsyncClient(base_url=address.base_url + "/sim/admin", timeout=10)
        try:
            yield ClientEnv(sim, clock, address.rest_url, alice, bob, admin, cent, subcent)
        finally:
            for client in (alice, bob):
                await client.aclose()
            await admin.aclose()
