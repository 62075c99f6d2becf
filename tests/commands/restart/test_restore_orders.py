"""Restart mid-order with the store: the new trader restores its predecessor's orders in flight.

The first ``TraderCore`` journals into a ``TraderStore`` and dies; a new core on the same database
and account restores the store's live orders (``restore_orders``, what ``TraderApp`` runs before
its startup calibration) and then starts. Reconciliation resolves them with their original purpose
and close reason -- never adopted as external, never sent twice -- and a create that never reached
the exchange is rejected after the usual "not found" reads.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from tests.trader.scenarios.scenario_kit import PREFIX, Scenario, buy, scenario_config

from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.sim.state import SimOrder
from kalshiflow.store.trader_repo import TraderStore
from kalshiflow.trader.calibration.drift import DriftKind
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.execution.in_flight import ExecOutcome
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder
from kalshiflow.trader.state.restore import restore_orders

CONTRACTS = Count.contracts(4)


def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'trader.db'}"


async def first_run(env: Scenario, db: str) -> tuple[TraderCore, TraderStore]:
    """The first trader, journaling. No stream: no live message may resolve an order before it dies."""
    core = await env.new_core(scenario_config(), stream=False)
    store = TraderStore(db, env.clock)
    store.attach(core.ledger.bus)
    return core, store


async def die(env: Scenario, store: TraderStore) -> None:
    """The trader process dies: nothing is cleaned up on the exchange; what it journaled is kept."""
    await env.kill_core()
    store.close()


async def restart(env: Scenario, db: str) -> tuple[TraderCore, TraderStore, int]:
    """A new core on the same database: restore, then the startup calibration (``core.start()``)."""
    core = await env.new_core(scenario_config(), stream=False, start=False)
    store = TraderStore(db, env.clock)
    store.attach(core.ledger.bus)
    restored = await restore_orders(core.ledger, store)
    env.startup = await core.start()
    return core, store, restored


async def hold(env: Scenario, ticker: str, side: OutcomeSide, contracts: int) -> None:
    """Open a position by crossing at the ask; without a stream, a calibration books its fills."""
    core = env.the_core
    result = await core.open_position(ticker, buy(side), env.ask_of(ticker, side), Count.contracts(contracts))
    assert result.execution is not None
    assert result.execution.outcome is ExecOutcome.PLACED
    await env.calibrate()
    sign = 1 if side is OutcomeSide.YES else -1
    assert core.ledger.position(ticker).position == sign * Count.contracts(contracts)


def on_exchange(env: Scenario, cid: str) -> list[SimOrder]:
    return [o for o in env.sim.engine.orders.values() if o.client_order_id == cid]


def drift_kinds(env: Scenario) -> set[DriftKind]:
    assert env.startup is not None
    return {e.kind for e in env.startup.report.corrections}


@pytest.mark.parametrize("crossing", [False, True], ids=["resting", "filled"])
@pytest.mark.parametrize("side", [OutcomeSide.YES, OutcomeSide.NO], ids=["yes", "no"])
async def test_lost_create_is_restored_as_an_open_order_not_external(
    env: Scenario, tmp_path: Path, side: OutcomeSide, crossing: bool
) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    first, store = await first_run(env, db)
    price = env.ask_of(ticker, side) if crossing else Price.parse("0.30")
    env.sim.faults.schedule_lost_responses(1)  # the create is the next request
    result = await first.open_position(ticker, buy(side), price, CONTRACTS)
    assert result.execution is not None
    assert result.execution.outcome is ExecOutcome.UNKNOWN
    cid = result.execution.client_order_id
    assert cid.startswith(PREFIX)
    await die(env, store)  # before any read resolved the order

    second, store, restored = await restart(env, db)
    try:
        assert restored == 1
        [exchange_order] = on_exchange(env, cid)  # exactly one: nothing was sent again
        order = second.ledger.orders[cid]
        assert order.purpose is OrderPurpose.OPEN
        assert order.order_id == exchange_order.order_id
        sign = 1 if side is OutcomeSide.YES else -1
        if crossing:
            assert order.state is OrderState.FILLED  # resolved by the read of the orders in flight
            assert second.ledger.position(ticker).position == sign * CONTRACTS
        else:
            assert order.state is OrderState.RESTING
            assert order.remaining == CONTRACTS
            assert DriftKind.ORDER_RESOLVED in drift_kinds(env)
        assert DriftKind.EXTERNAL_ORDER not in drift_kinds(env)
        assert not [o for o in second.ledger.orders.values() if o.purpose is OrderPurpose.EXTERNAL]
    finally:
        store.close()
    # teardown: ledger == exchange (cash, positions, resting orders and reservations), a further
    # calibration corrects nothing, no client_order_id twice


async def test_lost_close_is_restored_as_a_close_with_its_reason(env: Scenario, tmp_path: Path) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    first, store = await first_run(env, db)
    await hold(env, ticker, OutcomeSide.YES, 4)
    env.sim.faults.schedule_lost_responses(1)
    closed = await first.close_position(ticker, "take_profit")
    assert closed.execution is not None
    assert closed.execution.outcome is ExecOutcome.UNKNOWN
    cid = closed.execution.client_order_id
    await die(env, store)

    second, store, restored = await restart(env, db)
    try:
        assert restored == 1
        [exchange_order] = on_exchange(env, cid)
        assert exchange_order.reduce_only
        order = second.ledger.orders[cid]
        assert (order.purpose, order.close_reason) == (OrderPurpose.CLOSE, "take_profit")
        assert order.reduce_only
        assert order.state is OrderState.FILLED  # it crossed Bob's bid
        assert order.order_id == exchange_order.order_id
        assert second.ledger.position(ticker).position == 0
    finally:
        store.close()


async def test_acknowledged_resting_order_keeps_its_state_and_purpose(env: Scenario, tmp_path: Path) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    first, store = await first_run(env, db)
    result = await first.open_position(ticker, buy(OutcomeSide.YES), Price.parse("0.30"), CONTRACTS)
    assert result.execution is not None
    assert result.execution.outcome is ExecOutcome.PLACED
    cid = result.execution.client_order_id
    await die(env, store)

    second, store, restored = await restart(env, db)
    try:
        assert restored == 1
        order = second.ledger.orders[cid]
        assert (order.purpose, order.state) == (OrderPurpose.OPEN, OrderState.RESTING)
        assert order.order_id == result.execution.order_id
        assert drift_kinds(env) <= {DriftKind.INITIAL_SYNC}  # a fresh ledger's baseline: no order drift
        await second.executor.cancel(cid)  # a trader's order: the new trader may manage it
        assert order.state is OrderState.CANCELED
    finally:
        store.close()


async def test_pending_order_never_sent_is_rejected_after_the_misses_and_never_sent(
    env: Scenario, tmp_path: Path
) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    first, store = await first_run(env, db)
    cid = f"{PREFIX}never-sent"
    # The process died between recording the order and sending it.
    first.ledger.record_pending(
        TrackedOrder(
            client_order_id=cid,
            ticker=ticker,
            side=BookSide.BID,
            yes_price=Price.parse("0.30"),
            count=CONTRACTS,
            purpose=OrderPurpose.OPEN,
            created_ms=env.clock.now_ms(),
        )
    )
    await die(env, store)
    env.clock.advance(30)  # the restart takes a while: past the read-lag grace and stale-pending age

    second, store, restored = await restart(env, db)
    try:
        assert restored == 1
        order = second.ledger.orders[cid]
        assert order.purpose is OrderPurpose.OPEN
        misses = second.config.calibration.not_found_misses_before_gone
        calibrations = 1  # the startup calibration
        while order.is_live:
            assert order.state is OrderState.UNKNOWN
            assert calibrations < misses, "still in flight after N calibrations"
            await env.calibrate()
            calibrations += 1
        assert order.state is OrderState.REJECTED
        assert order.reserved == 0
        assert on_exchange(env, cid) == []  # never sent
        store.flush()
        assert cid not in {o.client_order_id for o in store.resting_orders()}  # a later restart skips it
    finally:
        store.close()


async def test_restart_with_nothing_in_flight_is_unchanged(env: Scenario, tmp_path: Path) -> None:
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    _, store = await first_run(env, db)
    await hold(env, ticker, OutcomeSide.NO, 3)  # a position, but no order left in flight
    await die(env, store)

    second, store, restored = await restart(env, db)
    try:
        assert restored == 0
        assert second.ledger.live_orders() == []
        assert second.ledger.position(ticker).position == -Count.contracts(3)  # adopted as before
        assert drift_kinds(env) <= {DriftKind.INITIAL_SYNC}  # a fresh ledger's baseline only
        assert second.ledger.orders == {}
        assert env.startup is not None
        assert env.startup.report.ok
    finally:
        store.close()


def rewrite_stored_order(db: str, cid: str, *, order_id: str, ahead_ms: int) -> None:
    """Make a stored order look like one of a previous run on a faster simulator clock (``--speed``)
    whose exchange is gone: its times ``ahead_ms`` past the clock, an exchange id no one knows."""
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        conn.execute(
            "UPDATE trader_orders SET order_id = ?, created_ms = created_ms + ?, updated_ms = updated_ms + ?"
            " WHERE client_order_id = ?",
            (order_id, ahead_ms, ahead_ms, cid),
        )


async def test_order_of_a_faster_clock_gone_from_the_exchange_is_cancelled_outside_at_startup(
    env: Scenario, tmp_path: Path
) -> None:
    """``run --speed 5``, stopped hard, run again: the restored orders carry times ahead of the new
    clock. A time in the clock's future is no evidence of a recent change, so the startup
    calibration settles the orders the exchange does not show (cancelled outside) instead of
    leaving them for the stale-order check to DELETE and GET, both 404, over and over."""
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)
    first, store = await first_run(env, db)
    result = await first.open_position(ticker, buy(OutcomeSide.YES), Price.parse("0.30"), CONTRACTS)
    assert result.execution is not None
    assert result.execution.order_id is not None
    cid = result.execution.client_order_id
    await die(env, store)
    await env.by_hand.cancel_order(result.execution.order_id)  # the old exchange and its book are gone
    rewrite_stored_order(db, cid, order_id="0f0e0d0c-unknown-to-this-exchange", ahead_ms=120_000)

    second, store, restored = await restart(env, db)
    try:
        assert restored == 1
        order = second.ledger.orders[cid]
        assert order.state is OrderState.CANCELED
        assert order.reserved == 0
        assert DriftKind.ORDER_CANCELED_OUTSIDE in drift_kinds(env)
        assert second.ledger.live_orders() == []
    finally:
        store.close()
    # teardown: the ledger's cash equals the exchange's (no reservation held for a phantom order)


async def test_a_stale_order_cancel_that_keeps_failing_backs_off(
    env: Scenario, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An order the exchange answers 404 for (DELETE and the read-back GET) stays live until a
    calibration settles it; meanwhile the stale-order check must not repeat the same failing
    cancel on every exit tick: each failure pushes the next try further out."""
    db, ticker = db_url(tmp_path), env.tickers[0]
    env.quote(ticker)  # YES bid 0.44: an order at 0.30 is far behind the touch (stale)
    first, store = await first_run(env, db)
    result = await first.open_position(ticker, buy(OutcomeSide.YES), Price.parse("0.30"), CONTRACTS)
    assert result.execution is not None
    assert result.execution.order_id is not None
    cid = result.execution.client_order_id
    await die(env, store)
    await env.by_hand.cancel_order(result.execution.order_id)
    rewrite_stored_order(db, cid, order_id="0f0e0d0c-unknown-to-this-exchange", ahead_ms=0)

    second, store, _ = await restart(env, db)  # restarted at once: within the read-lag grace, kept
    try:
        order = second.ledger.orders[cid]
        assert order.state is OrderState.RESTING
        caplog.set_level(logging.INFO, logger="kalshiflow.exchange.rest")
        for _ in range(50):  # 10 s of exit ticks, 200 ms apart
            await second.exits.exit_tick()
            env.clock.advance(0.2)
        deletes = [
            r for r in caplog.records if r.msg.startswith("rest.error") and r.args and r.args[0] == "DELETE"
        ]
        assert 1 <= len(deletes) <= 5, len(deletes)
        assert order.state is OrderState.RESTING  # a failed cancel is no proof either way
        await env.calibrate()  # past the grace: the exchange does not show it, cancelled outside
        assert order.state is OrderState.CANCELED
    finally:
        store.close()
