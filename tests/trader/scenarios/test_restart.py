"""Restart mid-order: the create took effect, its answer was lost, and the trader died before any read.

A new ``TraderCore`` on the same account finds the order in its startup calibration. It has no memory
of the dead core's pending ``client_order_id`` (the core keeps no store of its own), but the ``kf-``
prefix of the ``client_order_id`` shows it was placed by a trader core: the order is adopted as ours
(an ``open`` order, tracked and cancelled at stop like any other; ``order_resolved``, not
``external_order``). A fresh ledger's first sync is a baseline (``initial_sync``), not drift. Books come from the
real stream (``stream=True``) for the dying core and from REST for the restarted one.
"""

from __future__ import annotations

import pytest
from tests.trader.scenarios.scenario_kit import PREFIX, Scenario, buy, scenario_config

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.trader.calibration.drift import DriftKind
from kalshiflow.trader.execution.in_flight import ExecOutcome
from kalshiflow.trader.state.orders import OrderPurpose, OrderState


@pytest.mark.parametrize("crossing", [False, True], ids=["resting", "filled"])
@pytest.mark.parametrize("side", [OutcomeSide.YES, OutcomeSide.NO], ids=["yes", "no"])
async def test_restart_mid_order_leaves_no_duplicate_and_ledger_equals_exchange(
    env: Scenario, side: OutcomeSide, crossing: bool
) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    first = await env.new_core(scenario_config(), stream=True)
    price = env.ask_of(ticker, side) if crossing else Price.parse("0.30")
    env.sim.faults.schedule_lost_responses(1)  # the create is the next request
    result = await first.open_position(ticker, buy(side), price, Count.contracts(4))
    assert result.execution is not None
    assert result.execution.outcome is ExecOutcome.UNKNOWN
    cid = result.execution.client_order_id
    assert cid.startswith(PREFIX)
    await env.kill_core()  # dies before any read resolves the order

    second = await env.new_core(scenario_config(), stream=False)  # start(): startup calibration
    engine = env.sim.engine
    [exchange_order] = [o for o in engine.orders.values() if o.client_order_id == cid]
    adopted = second.ledger.orders.get(cid)
    sign = 1 if side is OutcomeSide.YES else -1
    if crossing:
        assert exchange_order.remaining_count == 0
        assert adopted is None  # a filled order is not listed as resting: its position is adopted
        assert second.ledger.position(ticker).position == sign * Count.contracts(4)
    else:
        assert exchange_order.is_resting
        assert adopted is not None
        assert adopted.purpose is OrderPurpose.OPEN
        assert adopted.state is OrderState.RESTING
        assert adopted.order_id == exchange_order.order_id
    env.external_tickers.add(ticker)
    kinds = {e.kind: e for e in env.startup.report.corrections} if env.startup else {}
    if crossing:
        assert env.startup is not None
        [position] = [e for e in env.startup.report.corrections if e.ticker == ticker]
        assert position.kind is DriftKind.INITIAL_SYNC
        assert position.contracts == sign * Count.contracts(4)
    else:
        assert DriftKind.EXTERNAL_ORDER not in kinds
        ours = kinds[DriftKind.ORDER_RESOLVED]
        assert (ours.ref, ours.contracts) == (exchange_order.order_id, Count.contracts(4))
