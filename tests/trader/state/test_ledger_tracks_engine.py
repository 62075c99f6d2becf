"""The ledger, fed only by the exchange's own events, tracks the account to the micro-dollar.

The simulator engine runs in-process; the trader's orders are recorded in the ledger before they
are sent (as execution does), and fills and order updates reach it the way the stream delivers
them. After every step the ledger's cash estimate must equal the exchange's available balance and
its positions must equal the exchange's -- with no reconciliation in between.
"""

from __future__ import annotations

import pytest
from tests.sim.engine.engine_kit import make_engine
from tests.trader.state.ledger_walk import TRADER, walk, wire

from kalshiflow.trader.state.ledger import Ledger


@pytest.mark.parametrize("seed", range(12))
def test_ledger_cash_and_positions_equal_the_exchange_after_every_step(seed: int) -> None:
    engine, clock = make_engine(balance=200 * 1_000_000)
    ledger = Ledger()
    ledger.overwrite_cash(engine.accounts[TRADER].balance, clock.now_ms())
    wire(engine, ledger)
    assert walk(engine, ledger, seed) == []  # steps after which cash differed from the exchange
    resting = {o.client_order_id for o in engine.orders.values() if o.account_id == TRADER and o.is_resting}
    assert {o.client_order_id for o in ledger.live_orders()} == resting
