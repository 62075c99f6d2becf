"""Stopping honestly (issue 8): every cancel is confirmed by a read, every position is accounted for.

* A 5xx on a cancel at shutdown is retried and the order read back; the report says cancelled only
  what the exchange shows as no longer resting, and names what is still resting (exit non-zero).
* ``flatten_on_stop`` reports exactly what was closed and what was left, and why -- including a
  position outside the run's markets.
* A create interrupted before it was sent (the actor cancelled at stop) is rejected, not left
  ``pending``.
"""

from __future__ import annotations

import asyncio

from tests.commands.restart.test_restore_orders import hold
from tests.trader.scenarios.scenario_kit import Scenario, buy, scenario_config

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.trader.lifecycle.shutdown import LeftReason, stop_trading
from kalshiflow.trader.state.orders import OrderState

CONTRACTS = Count.contracts(4)


async def rest_an_order(env: Scenario) -> str:
    core = env.the_core
    result = await core.open_position(env.tickers[0], buy(OutcomeSide.YES), Price.parse("0.30"), CONTRACTS)
    assert result.execution is not None
    assert result.execution.state is OrderState.RESTING
    return result.execution.client_order_id


async def test_cancel_answered_5xx_is_retried_and_confirmed_by_a_read(env: Scenario) -> None:
    env.quote(env.tickers[0])
    core = await env.new_core(scenario_config(), stream=False)
    cid = await rest_an_order(env)
    env.sim.faults.schedule_5xx(1)  # the first cancel fails
    report = await stop_trading(core, flatten=False)
    assert report.ok
    assert report.cancelled == (cid,)
    assert report.still_live == ()
    assert core.ledger.orders[cid].state is OrderState.CANCELED
    assert not [o for o in env.sim.engine.orders.values() if o.client_order_id == cid and o.is_resting]


async def test_cancel_that_keeps_failing_is_reported_still_resting(env: Scenario) -> None:
    env.quote(env.tickers[0])
    core = await env.new_core(scenario_config(), stream=False)
    cid = await rest_an_order(env)
    env.sim.faults.schedule_5xx(100)
    try:
        report = await stop_trading(core, flatten=False, cancel_attempts=2)
    finally:
        env.sim.faults.reset()
    assert not report.ok
    assert report.cancelled == ()
    assert report.still_live == (cid,)
    assert "still resting" in report.summary()
    assert [o for o in env.sim.engine.orders.values() if o.client_order_id == cid and o.is_resting]
    await env.the_core.executor.cancel(cid)  # leave the account clean for the invariants


async def test_flatten_reports_closed_and_left_positions_with_reasons(env: Scenario) -> None:
    inside, outside = env.tickers[0], env.tickers[1]
    env.quote(inside)
    env.quote(outside)
    core = await env.new_core(scenario_config(), stream=False)
    await hold(env, inside, OutcomeSide.YES, 3)
    await hold(env, outside, OutcomeSide.NO, 2)
    del core.markets[outside]  # a position the account holds outside this run's markets
    env.external_tickers.add(outside)
    await env.sync_books()
    report = await stop_trading(core, flatten=True)
    await env.calibrate()
    assert [c.ticker for c in report.closed] == [inside]
    assert report.closed[0].contracts == Count.contracts(3)
    [left] = report.left_open
    assert (left.ticker, left.position, left.reason) == (outside, -Count.contracts(2), LeftReason.NOT_TRADED)
    summary = report.summary()
    # Units as ``status`` writes them: the signed count, then contracts and the side held.
    assert f"closed 1 position ({inside} 3.00 contracts YES)" in summary
    assert f"left open 1: {outside} -2.00 (2.00 contracts NO; not one of this run's markets)" in summary
    assert core.ledger.position(inside).position == 0


async def test_positions_without_flatten_are_all_listed(env: Scenario) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(), stream=False)
    await hold(env, ticker, OutcomeSide.YES, 2)
    report = await stop_trading(core, flatten=False)
    assert report.closed == ()
    [left] = report.left_open
    assert (left.ticker, left.reason) == (ticker, LeftReason.FLATTEN_OFF)


async def test_create_cancelled_before_it_is_sent_is_rejected_not_pending(env: Scenario) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(), stream=False)
    entered, never = asyncio.Event(), asyncio.Event()

    async def slow_journal(_order: object) -> None:
        entered.set()
        await never.wait()  # the stop arrives while the order is being journaled

    core.executor.journal = slow_journal
    task = asyncio.create_task(
        core.open_position(ticker, buy(OutcomeSide.YES), Price.parse("0.30"), CONTRACTS)
    )
    await entered.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    [order] = core.ledger.orders.values()
    assert order.state is OrderState.REJECTED
    assert order.reserved == 0
