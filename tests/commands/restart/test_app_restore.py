"""``TraderApp`` restores the store's orders in flight before its startup calibration.

The app runs in-process on its embedded simulator (as ``kalshiflow run`` does; the policy never
trades). Before the app reads the store, the database already holds what a dead predecessor left:
an opening order recorded as ``pending`` whose create never reached the exchange. The app must put
it back with its purpose, and its calibrations must reject it after the "not found" reads -- it is
never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.waiting import until

import kalshiflow.commands.run_app as app_module
from kalshiflow.clock import Clock
from kalshiflow.commands import startup
from kalshiflow.commands.run_app import AppState, RunOptions, TraderApp
from kalshiflow.config import Settings, load_settings
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.environments import ExchangeConnection
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.sim.runner import SimHandle, SimulatorConfig
from kalshiflow.store.trader_repo import TraderStore
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Observe, PolicyLike
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

CID = "kf-left-by-the-dead-run"


class NeverTrades:
    name = "never-trades"

    def decide(self, observation: Sequence[float]) -> Any:
        raise AssertionError("the observer never produces an observation")


def never_trades(
    settings: Settings, core: TraderCore, feed: MarketDataFeed, clock: Clock
) -> tuple[PolicyLike, Observe]:
    return NeverTrades(), lambda _ticker, _book: None


def journal_pending_order(db: str, ticker: str, clock: Clock) -> None:
    """What the dead run left in the store: recorded, never sent (it died before the send)."""
    store = TraderStore(db, clock)
    ledger = Ledger()
    store.attach(ledger.bus)
    ledger.record_pending(
        TrackedOrder(
            client_order_id=CID,
            ticker=ticker,
            side=BookSide.BID,
            yes_price=Price.parse("0.05"),
            count=Count.contracts(1),
            purpose=OrderPurpose.OPEN,
            created_ms=clock.now_ms() - 60_000,  # it died a minute ago
        )
    )
    store.close()


def first_market(handle: SimHandle) -> str:
    return sorted(handle.sim.engine.markets)[0]


def app_after_a_dead_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leave: Callable[[str, str, Clock], None]
) -> tuple[str, RunOptions, list[SimHandle]]:
    """Options for an app on its embedded simulator whose database already holds what ``leave``
    journals for the simulator's first market (run before the app reads the store); the database
    URL, the options and the simulator handles as they start."""
    db = f"sqlite:///{tmp_path / 'trader.db'}"
    settings = load_settings(
        environ={},
        overrides={"run": {"db": db}, "markets": {"top_n": 3}, "calibration": {"interval_s": 2}},
    )
    options = RunOptions(
        settings=settings, sim_seed=3, sim_markets=4, sim_speed=4.0, sim_data_dir=tmp_path / "sim"
    )
    handles: list[SimHandle] = []
    real = startup.embedded_simulator

    async def embedded(
        stack: contextlib.AsyncExitStack, config: SimulatorConfig, clock: Any = None
    ) -> tuple[SimHandle, ExchangeConnection]:
        handle, connection = await real(stack, config, clock)
        handles.append(handle)
        await asyncio.to_thread(leave, db, first_market(handle), clock)  # before the app reads it
        return handle, connection

    monkeypatch.setattr(app_module, "embedded_simulator", embedded)
    return db, options, handles


@pytest.mark.timeout(90)
async def test_app_restores_a_pending_order_and_rejects_it_without_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, options, handles = app_after_a_dead_run(tmp_path, monkeypatch, journal_pending_order)
    seen_at_ready: list[TrackedOrder] = []
    stop, ready = asyncio.Event(), asyncio.Event()

    def on_ready(state: AppState) -> None:
        assert state.core is not None
        seen_at_ready.append(state.core.ledger.orders[CID])
        ready.set()

    app = TraderApp(options, never_trades)
    runner = asyncio.create_task(app.run(stop, on_ready), name="trader-app")
    try:
        await until(lambda: ready.is_set() or runner.done(), 45, "trader ready")
        if runner.done():
            runner.result()  # a startup failure surfaces here
        [order] = seen_at_ready
        assert order.purpose is OrderPurpose.OPEN  # restored as ours, not adopted as external
        await until(lambda: order.state is OrderState.REJECTED or runner.done(), 30, "order rejected")
        assert order.state is OrderState.REJECTED, order
        assert order.reserved == 0
    finally:
        stop.set()
        rc = await asyncio.wait_for(runner, 30)
    assert rc == 0
    [handle] = handles
    assert not [o for o in handle.sim.engine.orders.values() if o.client_order_id == CID]  # never sent
    store = TraderStore(db, app.clock)
    try:
        assert CID not in {o.client_order_id for o in store.resting_orders()}  # a later run skips it
    finally:
        store.close()


def journal_open_position(db: str, ticker: str, clock: Clock) -> None:
    """What the dead run left in the store: a position the exchange this run trades does not hold."""
    store = TraderStore(db, clock)
    ledger = Ledger()
    store.attach(ledger.bus)
    ledger.overwrite_position(ticker, Count.contracts(-3), Money.dollars(1), clock.now_ms() - 60_000)
    store.close()


@pytest.mark.timeout(90)
async def test_app_writes_flat_the_stored_positions_the_exchange_does_not_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, options, handles = app_after_a_dead_run(tmp_path, monkeypatch, journal_open_position)
    stop, ready = asyncio.Event(), asyncio.Event()
    app = TraderApp(options, never_trades)
    runner = asyncio.create_task(app.run(stop, lambda _state: ready.set()), name="trader-app")
    try:
        await until(lambda: ready.is_set() or runner.done(), 45, "trader ready")
        if runner.done():
            runner.result()  # a startup failure surfaces here
    finally:
        stop.set()
        rc = await asyncio.wait_for(runner, 30)
    assert rc == 0
    store = TraderStore(db, app.clock)
    try:
        assert store.latest_positions() == ()  # status shows no position nobody holds
        [handle] = handles
        [flat] = [p for p in store.latest_positions(include_flat=True) if p.ticker == first_market(handle)]
        assert flat.position_e2 == 0
    finally:
        store.close()


def journal_resting_order_and_position(db: str, ticker: str, clock: Clock) -> None:
    """A dead run (another simulator) left an acknowledged order resting and a NO position."""
    store = TraderStore(db, clock)
    ledger = Ledger()
    store.attach(ledger.bus)
    then = clock.now_ms() - 60_000
    ledger.record_pending(
        TrackedOrder(
            client_order_id=CID,
            ticker=ticker,
            side=BookSide.BID,
            yes_price=Price.parse("0.05"),
            count=Count.contracts(1),
            purpose=OrderPurpose.OPEN,
            created_ms=then,
        )
    )
    ledger.on_acknowledged(CID, "0f0e0d0c-of-the-old-exchange", Count(0), Count.contracts(1), then)
    ledger.overwrite_position(ticker, Count.contracts(-3), Money.dollars(1), then)
    store.close()


@pytest.mark.timeout(90)
async def test_restart_corrections_are_counted_by_kind_on_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order cancelled outside and a stored position written flat must not show only as
    "drift $0.00": the console says how many corrections of which kind."""
    _, options, _ = app_after_a_dead_run(tmp_path, monkeypatch, journal_resting_order_and_position)
    stop, ready = asyncio.Event(), asyncio.Event()
    app = TraderApp(options, never_trades)
    runner = asyncio.create_task(app.run(stop, lambda _state: ready.set()), name="trader-app")
    try:
        await until(lambda: ready.is_set() or runner.done(), 45, "trader ready")
        if runner.done():
            runner.result()
        lines = [f"{e.status}  {e.result_text}" for e in app.state.lifecycle.history]
    finally:
        stop.set()
        rc = await asyncio.wait_for(runner, 30)
    assert rc == 0
    [sync] = [line for line in lines if "syncing state" in line]
    assert "1 correction: 1 order cancelled outside" in sync, sync
    assert any("1 stored position not on the exchange, written flat" in line for line in lines), lines
