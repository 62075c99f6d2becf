"""Fixtures shared by the client, execution, calibration and scenario tests (one definition each).

``alice_key`` / ``bob_key``: two RSA keys, generated once per run (a key costs ~0.1 s).
``loopback_sim``: the simulator of ``make_sim`` (seed 7, 24 generated markets, Alice and Bob funded,
no synthetic participants) served on loopback, port 0, on a ``SteppingClock`` shared with the
clients the tests make. Registered for the whole suite by ``pytest_plugins`` in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from tests.exchange.client.exchange_client_kit import Key, SteppingClock, make_key, make_sim

from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.serve import ServerAddress, running_server


@dataclass(frozen=True)
class LoopbackSim:
    sim: SimExchange
    clock: SteppingClock
    address: ServerAddress


@pytest.fixture(scope="session")
def alice_key() -> Key:
    return make_key("alice-key")


@pytest.fixture(scope="session")
def bob_key() -> Key:
    return make_key("bob-key")


@pytest.fixture
async def loopback_sim(alice_key: Key, bob_key: Key) -> AsyncIterator[LoopbackSim]:
    clock = SteppingClock()
    sim = make_sim(clock, [alice_key, bob_key])
    async with running_server(build_app(sim)) as address:
        yield LoopbackSim(sim, clock, address)
