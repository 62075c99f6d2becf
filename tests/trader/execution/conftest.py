"""Fixtures of the execution tests: the simulator on loopback and a trader desk on Alice's account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.exchange.client.exchange_client_kit import (
    Key,
    SteppingClock,
    make_client,
    make_key,
    make_sim,
)
from tests.trader.execution.trader_exec_kit import Desk, check_books, fee_type_of

from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.serve import running_server
from kalshiflow.trader.execution.in_flight import ExecutionConfig, OrderExecutor
from kalshiflow.trader.state.ledger import Ledger


@pytest.fixture(scope="session")
def alice_key() -> Key:
    return make_key("alice-key")


@pytest.fixture(scope="session")
def bob_key() -> Key:
    return make_key("bob-key")


@pytest.fixture
async def desk(alice_key: Key, bob_key: Key) -> AsyncIterator[Desk]:
    clock = SteppingClock()
    sim = make_sim(clock, [alice_key, bob_key])
    cent = sorted(m.ticker for m in sim.engine.markets.values() if m.grid.structure == "linear_cent")
    async with running_server(build_app(sim)) as address:
        alice = make_client(address.rest_url, alice_key, clock)
        bob = make_client(address.rest_url, bob_key, clock)
        ledger = Ledger(fee_type_of(sim))
        ids = iter(range(1, 1_000_000))
        executor = OrderExecutor(
            alice,
            ledger,
            clock,
            id_factory=lambda: f"{next(ids):06d}",
            config=ExecutionConfig(client_order_id_prefix="t-", not_found_misses_before_gone=3),
        )
        desk = Desk(sim, clock, alice, bob, address.ws_url, cent[0], cent[1], ledger, executor)
        ledger.overwrite_cash((await alice.balance()).balance, clock.now_ms())
        try:
            yield desk
            await check_books(desk)
        finally:
            await alice.aclose()
            await bob.aclose()
