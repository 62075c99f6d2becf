"""Fixtures of the execution tests: the simulator on loopback and a trader desk on Alice's account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.exchange.client.exchange_client_kit import Key, make_client
from tests.loopback_sim import LoopbackSim
from tests.trader.execution.trader_exec_kit import Desk, check_books, fee_type_of

from kalshiflow.trader.execution.in_flight import ExecutionConfig, OrderExecutor
from kalshiflow.trader.state.ledger import Ledger


@pytest.fixture
async def desk(loopback_sim: LoopbackSim, alice_key: Key, bob_key: Key) -> AsyncIterator[Desk]:
    sim, clock, address = loopback_sim.sim, loopback_sim.clock, loopback_sim.address
    cent = sorted(m.ticker for m in sim.engine.markets.values() if m.grid.structure == "linear_cent")
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
