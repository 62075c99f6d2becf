"""A request that never reached the exchange changed nothing there: the trader knows it at once.

The connection was never established (the exchange down, a port nothing listens on): the REST
transport says so (``AmbiguousError.request_sent`` false). A cancel that never left used to mark its
order ``unknown``, and the next calibration "found it resting" as a drift correction; a create that
never left held its cash as ``unknown`` until enough reads had not found it. Both outcomes are
known, not ambiguous: the order rests as it did, the create was never made.
"""

from __future__ import annotations

from tests.trader.scenarios.scenario_kit import Scenario
from tests.trader.scenarios.test_outage_logs import outage

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.trader.execution.intents import ExecOutcome, OrderIntent
from kalshiflow.trader.state.orders import OrderState


async def test_a_cancel_that_never_left_leaves_the_order_resting_and_no_drift(env: Scenario) -> None:
    core = await env.new_core(stream=False)
    placed = await core.executor.place(
        OrderIntent(env.tickers[0], BookSide.BID, Price.parse("0.05"), Count.contracts(1))
    )
    assert placed.outcome is ExecOutcome.PLACED
    cash = core.ledger.cash
    with outage(core.rest):
        result = await core.executor.cancel(placed.client_order_id)
    assert result.outcome is ExecOutcome.FAILED, result
    order = core.ledger.orders[placed.client_order_id]
    assert order.state is OrderState.RESTING
    assert core.ledger.cash == cash
    cycle = await env.calibrate()
    assert cycle.report.drift == (), cycle.report.drift  # nothing to correct: it rests, as it did
    assert (await core.executor.cancel(placed.client_order_id)).outcome is ExecOutcome.CANCELED


async def test_a_create_that_never_left_is_rejected_at_once_and_frees_its_cash(env: Scenario) -> None:
    core = await env.new_core(stream=False)
    cash = core.ledger.cash
    with outage(core.rest):
        result = await core.executor.place(
            OrderIntent(env.tickers[0], BookSide.BID, Price.parse("0.05"), Count.contracts(1))
        )
    assert result.outcome is ExecOutcome.REJECTED, result
    assert "nothing was sent" in result.detail
    order = core.ledger.orders[result.client_order_id]
    assert order.state is OrderState.REJECTED
    assert core.ledger.cash == cash
    assert core.executor.in_flight() == []
    assert [o for o in await env.by_hand.orders() if o.client_order_id == result.client_order_id] == []
    cycle = await env.calibrate()
    assert cycle.report.drift == (), cycle.report.drift
