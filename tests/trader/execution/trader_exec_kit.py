"""Helpers of the execution tests: a trader desk (ledger + executor) on a funded simulator account.

The desk talks to the real simulator over loopback with a ``SteppingClock`` shared by client and
simulator, so read lag and cooldowns move with virtual time and nothing sleeps. ``check_books``
is the invariant every test ends with: the ledger equals the exchange (cash to the last $0.000001,
positions), and no ``client_order_id`` was used twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import httpx
from tests.exchange.client.exchange_client_kit import SteppingClock

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.trader.execution.in_flight import OrderExecutor
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.live_updates import apply_order_view, apply_rest_fills

ALICE = "alice-key"  # the trader's account id (= key id)
BOB = "bob-key"  # the counterparty


def fee_type_of(sim: SimExchange) -> Callable[[str], tuple[FeeType, Fraction]]:
    """The ledger's fee lookup, read straight from the engine: (fee type, multiplier) per ticker."""
    engine = sim.engine

    def _fee_terms(ticker: str) -> tuple[FeeType, Fraction]:
        series = engine.series[engine.events[engine.markets[ticker].event_ticker].series_ticker]
        return series.fee_type, series.fee_multiplier

    return _fee_terms


@dataclass
class Desk:
    sim: SimExchange
    clock: SteppingClock
    alice: KalshiRestClient
    bob: KalshiRestClient
    ws_url: str
    ticker: str
    other_ticker: str
    ledger: Ledger
    executor: OrderExecutor
    admin: httpx.AsyncClient | None = None

    async def sync_fills(self) -> int:
        """Book the account's REST fills (the adapter reconciliation uses); returns how many were new."""
        return apply_rest_fills(self.ledger, await self.alice.fills())

    async def sync_orders(self) -> None:
        """Apply the exchange's view of every order the ledger has linked to an exchange id."""
        for order in list(self.ledger.orders.values()):
            if order.order_id is not None and order.is_live:
                apply_order_view(self.ledger, await self.alice.order(order.order_id), self.clock.now_ms())

    def engine_orders_with(self, client_order_id: str) -> int:
        return sum(1 for o in self.sim.engine.orders.values() if o.client_order_id == client_order_id)

    async def bob_rests(self, side: BookSide, price: str, contracts: int) -> str:
        result = await self.bob.create_order(
            self.ticker, side, Price.parse(price), Count.contracts(contracts)
        )
        return result.order_id


async def check_books(desk: Desk) -> None:
    """Ledger == exchange (cash, positions) and no client_order_id used twice."""
    await desk.sync_fills()
    balance = await desk.alice.balance()
    assert desk.ledger.cash == balance.balance, (
        f"cash: ledger {desk.ledger.cash.dollars_str(6)} != exchange {balance.balance.dollars_str(6)}"
    )
    exchange_positions = {p.ticker: int(p.position) for p in await desk.alice.positions() if p.position}
    ledger_positions = {p.ticker: int(p.position) for p in desk.ledger.open_positions()}
    assert ledger_positions == exchange_positions
    account = desk.sim.engine.account(ALICE)
    ids = Counter(desk.sim.engine.orders[oid].client_order_id for oid in account.order_ids)
    assert all(n == 1 for n in ids.values()), ids.most_common(3)
