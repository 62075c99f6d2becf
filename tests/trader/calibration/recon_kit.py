"""Shared helpers of the reconciliation tests: a simulator on loopback, a ledger, a reconciler.

The ledger here is deliberately *not* wired to the WebSocket: everything it learns between the
helpers' explicit acknowledgements comes from calibration, which is what these tests exercise.
``assert_ledger_matches_exchange`` is the invariant every test ends with.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import httpx
from tests.exchange.client.exchange_client_kit import SteppingClock

from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.trader.calibration.reconcile import Reconciler
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder

ALICE = "alice-key"
BOB = "bob-key"


@dataclass
class ReconEnv:
    sim: SimExchange
    clock: SteppingClock
    alice: KalshiRestClient  # the trader's client
    alice_by_hand: KalshiRestClient  # the same account, used "by hand"
    bob: KalshiRestClient
    admin: httpx.AsyncClient
    ledger: Ledger
    reconciler: Reconciler
    ticker: str
    _next_cid: int = 0

    def new_cid(self) -> str:
        self._next_cid += 1
        return f"trader-{self._next_cid:04d}"


def cent_market_with_plain_fees(sim: SimExchange) -> str:
    """A cent-grid market whose series has multiplier 1, so the ledger's reservation is the sim's."""
    for market in sim.engine.markets.values():
        series = sim.engine.series[sim.engine.events[market.event_ticker].series_ticker]
        if market.grid.structure == "linear_cent" and series.fee_multiplier == Fraction(1):
            return market.ticker
    raise AssertionError("no cent market with plain fees in the generated universe")


async def place_tracked(env: ReconEnv, side: BookSide, yes_price: str, contracts: int) -> TrackedOrder:
    """The trader's path: record pending, send, record the answer (no live updates afterwards)."""
    order = TrackedOrder(
        client_order_id=env.new_cid(),
        ticker=env.ticker,
        side=side,
        yes_price=Price.parse(yes_price),
        count=Count.contracts(contracts),
        purpose=OrderPurpose.OPEN,
        created_ms=env.clock.now_ms(),
    )
    env.ledger.record_pending(order)
    result = await env.alice.create_order(
        env.ticker, side, order.yes_price, order.count, client_order_id=order.client_order_id
    )
    env.ledger.on_acknowledged(
        order.client_order_id, result.order_id, result.fill_count, result.remaining_count, env.clock.now_ms()
    )
    return order


def engine_take(env: ReconEnv, account: str, side: BookSide, yes_price: str, contracts: int) -> None:
    """An immediate-or-cancel order straight on the engine (no HTTP): a counterparty trading."""
    env.sim.engine.create_order(
        account,
        OrderRequest(
            ticker=env.ticker,
            side=side,
            yes_price=int(Price.parse(yes_price)),
            count=int(Count.contracts(contracts)),
            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
            self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
        ),
    )


def assert_ledger_matches_exchange(env: ReconEnv) -> None:
    """Cash to the micro-dollar, every position (contracts and fee-free cost), the resting orders."""
    engine, ledger = env.sim.engine, env.ledger
    account = engine.account(ALICE)
    assert ledger.cash == account.balance
    exchange_positions = {t: (p.position, p.cost) for t, p in account.positions.items() if p.position != 0}
    ledger_positions = {p.ticker: (p.position, p.exposure) for p in ledger.open_positions()}
    assert ledger_positions == exchange_positions
    resting = {oid for oid in account.order_ids if engine.orders[oid].is_resting}
    assert {o.order_id for o in ledger.live_orders()} == resting
    for oid in resting:
        local = ledger.order_by_exchange_id(oid)
        assert local is not None
        assert local.remaining == engine.orders[oid].remaining_count
        assert local.reserved == engine.orders[oid].reserved
