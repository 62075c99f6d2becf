"""Things done behind the trader's back, and fills arriving twice, partially or only through REST.

``test_hand_placed_...``: books from REST (``stream=False``) so the ledger learns of the hand-made
changes only through ``core.calibrate()`` -- with the stream on, ``user_orders`` would tell the ledger
first and there would be nothing left to report. ``test_partial_fills_...``: the real stream
(``stream=True``) delivers fills live, and a forced WebSocket disconnect loses some of them.
"""

from __future__ import annotations

import pytest
from tests.trader.scenarios.scenario_kit import ALICE, Scenario, buy, scenario_config
from tests.waiting import until

from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.ws_models import NoticeKind
from kalshiflow.exchange.ws_status import ConnectionState
from kalshiflow.trader.calibration.drift import DriftKind
from kalshiflow.trader.state.orders import OrderPurpose, OrderState


async def test_hand_placed_and_hand_cancelled_orders_and_balance_edit_are_reported_as_drift(
    env: Scenario,
) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(), stream=False)
    placed = await core.open_position(ticker, buy(OutcomeSide.YES), Price.parse("0.30"), Count.contracts(3))
    assert placed.execution is not None
    ours = core.ledger.orders[placed.execution.client_order_id]
    assert ours.state is OrderState.RESTING
    assert ours.order_id is not None
    reserved = ours.reserved
    assert reserved > 0

    hand = await env.by_hand.create_order(
        ticker, BookSide.ASK, Price.parse("0.80"), Count.contracts(2), client_order_id="by-hand-1"
    )  # a person sells 2 YES at 0.80 (buys NO at 0.20) on the same account
    await env.by_hand.cancel_order(ours.order_id)
    balance = env.sim.engine.account(ALICE).balance
    edit = Money.parse("12.345678")
    reply = await env.admin.post(
        f"/accounts/{ALICE}/balance", json={"balance_dollars": Money(balance + edit).dollars_str(6)}
    )
    assert reply.status_code == 200, reply.text
    env.clock.advance(10)  # past the read-lag grace: a missing order now means "cancelled"
    env.external_tickers.add(ticker)

    cycle = await env.calibrate()
    drift = {e.kind: e for e in cycle.report.drift}
    assert set(drift) == {DriftKind.EXTERNAL_ORDER, DriftKind.ORDER_CANCELED_OUTSIDE, DriftKind.CASH}
    external = drift[DriftKind.EXTERNAL_ORDER]
    assert (external.ref, external.contracts) == (hand.order_id, Count.contracts(2))
    adopted = core.ledger.orders["by-hand-1"]
    assert adopted.purpose is OrderPurpose.EXTERNAL
    assert adopted.state is OrderState.RESTING
    assert Money(-external.money) == env.sim.engine.orders[hand.order_id].reserved  # cash held for it
    canceled = drift[DriftKind.ORDER_CANCELED_OUTSIDE]
    assert (canceled.ref, canceled.contracts, canceled.money) == (
        ours.order_id,
        -Count.contracts(3),
        reserved,
    )
    assert ours.state is OrderState.CANCELED
    assert drift[DriftKind.CASH].money == edit  # exactly the edit: the order changes are explained
    assert cycle.report.totals.cash == edit


def _setup_for(side: OutcomeSide) -> tuple[str, str, str]:
    """(YES bid, NO bid) of Bob's quote and the trader's resting bid, so the trader's is the best."""
    return ("0.40", "0.55", "0.42") if side is OutcomeSide.YES else ("0.44", "0.50", "0.52")


@pytest.mark.parametrize("side", [OutcomeSide.YES, OutcomeSide.NO], ids=["yes", "no"])
async def test_partial_fills_duplicate_fills_and_rest_only_fills_after_a_disconnect(
    env: Scenario, side: OutcomeSide
) -> None:
    ticker = env.tickers[0]
    yes_bid, no_bid, ours_at = _setup_for(side)
    env.quote(ticker, yes_bid, no_bid)
    core = await env.new_core(scenario_config(), stream=True)
    placed = await core.open_position(ticker, buy(side), Price.parse(ours_at), Count.contracts(8))
    assert placed.execution is not None
    order = core.ledger.orders[placed.execution.client_order_id]
    sign = 1 if side is OutcomeSide.YES else -1

    # 1. a partial fill, live through the fill channel
    env.sell_to_bids(ticker, side, ours_at, 2)
    await env.converge()
    assert (order.state, order.filled, order.remaining) == (
        OrderState.PARTIALLY_FILLED,
        Count.contracts(2),
        Count.contracts(6),
    )
    assert [f.source for f in core.ledger.fills] == ["ws"]

    # 2. every WS message twice, then REST shows the same fills again: each trade is booked once
    env.sim.faults.update({"ws_duplicate_rate": 1.0})
    env.sell_to_bids(ticker, side, ours_at, 1)
    await until(lambda: core.live.fills_duplicate >= 1, 10, "duplicated fill message")
    env.sim.faults.update({"ws_duplicate_rate": 0.0})
    await env.converge()
    cycle = await env.calibrate()
    assert cycle.report.totals.missed_fills == 0
    assert len(core.ledger.fills) == 2
    assert core.live.fills_booked == 2
    assert order.filled == Count.contracts(3)

    # 3. the connection drops; fills made meanwhile reach the ledger only through REST
    stream = env.stream
    assert stream is not None
    reconnects_before = sum(1 for r in core.live.resyncs if r.reason == NoticeKind.RECONNECTED.value)
    reply = await env.admin.post("/faults/ws_disconnect")
    assert reply.status_code == 200
    before = env.engine_fill_ids()
    env.sell_to_bids(ticker, side, ours_at, 2)  # synchronous: no message of this reaches the old session
    lost = env.engine_fill_ids() - before
    assert len(lost) == 1
    await until(
        lambda: (
            sum(1 for r in core.live.resyncs if r.reason == NoticeKind.RECONNECTED.value) > reconnects_before
            and stream.state is ConnectionState.LIVE
        ),
        10,
        "reconnect",
    )
    assert core.live.needs_resync
    await env.converge(fills=False)
    assert not lost & core.ledger.trade_ids  # the stream never delivered it
    env.clock.advance(1)
    cycle = await env.calibrate(fills=False)
    [missed] = [e for e in cycle.report.corrections if e.kind is DriftKind.MISSED_FILL]
    assert (missed.ref, missed.contracts) == (next(iter(lost)), sign * Count.contracts(2))
    assert [f.source for f in core.ledger.fills] == ["ws", "ws", "rest"]
    assert (order.state, order.filled, order.remaining) == (
        OrderState.PARTIALLY_FILLED,
        Count.contracts(5),
        Count.contracts(3),
    )
    assert core.ledger.position(ticker).position == sign * Count.contracts(5)
    again = await env.calibrate()
    assert again.report.totals.missed_fills == 0
    assert len(core.ledger.fills) == 3
