"""Calibration against the simulator: every kind of drift is detected with its size, corrected, and
reported; activity newer than the snapshot waits for the next pass; the ledger ends equal to the
exchange (cash to the micro-dollar, positions, resting orders) after every scenario."""

from __future__ import annotations

import pytest
from tests.trader.calibration.recon_kit import (
    ALICE,
    BOB,
    ReconEnv,
    assert_ledger_matches_exchange,
    engine_take,
    place_tracked,
)

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.models_portfolio import Balance
from kalshiflow.trader.calibration.drift import DriftKind
from kalshiflow.trader.calibration.report import CalibrationReport
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

SIDES = [BookSide.BID, BookSide.ASK]
GRACE_S = 6  # past the reconciler's 5 s read-lag grace


async def calibrate(env: ReconEnv) -> CalibrationReport:
    report = await env.reconciler.calibrate([env.ticker])
    assert report.ok, report.failure_reason
    return report


def kinds(report: CalibrationReport) -> list[DriftKind]:
    return [e.kind for e in report.corrections]


async def test_clean_state_has_zero_drift_after_the_startup_pass(env: ReconEnv) -> None:
    startup = await calibrate(env)
    assert startup.drift == ()  # a fresh ledger learns its cash: a baseline, not drift
    assert [e.kind for e in startup.corrections] == [DriftKind.INITIAL_SYNC]
    # the summary counts what the sync step counts, and says how much of it was drift
    assert ", 1 correction (0 drift), " in startup.summary(), startup.summary()
    assert any("1 correction" in step.detail for step in startup.steps), startup.steps
    again = await calibrate(env)
    assert again.corrections == ()
    assert again.totals.is_zero
    assert again.rest_calls == 8
    assert [s.name for s in again.steps] == [
        "fetch exchange state",
        "sync state",
        "check markets",
        "check portfolio",
        "check cash",
    ]
    assert_ledger_matches_exchange(env)


@pytest.mark.parametrize("side", SIDES)
async def test_order_placed_by_hand_is_adopted_as_external_drift(env: ReconEnv, side: BookSide) -> None:
    await calibrate(env)
    placed = await env.alice_by_hand.create_order(
        env.ticker, side, Price.parse("0.3300"), Count.contracts(7), client_order_id="by-hand-1"
    )
    report = await calibrate(env)
    (event,) = report.drift
    assert event.kind is DriftKind.EXTERNAL_ORDER
    assert event.ref == placed.order_id
    assert event.contracts == Count.contracts(7)
    assert event.money == -env.sim.engine.orders[placed.order_id].reserved  # its reservation, exactly
    adopted = env.ledger.order_by_exchange_id(placed.order_id)
    assert adopted is not None
    assert adopted.purpose is OrderPurpose.EXTERNAL
    assert report.totals.external_orders == 1
    assert_ledger_matches_exchange(env)
    assert (await calibrate(env)).corrections == ()


@pytest.mark.parametrize("side", SIDES)
async def test_order_canceled_by_hand_is_detected(env: ReconEnv, side: BookSide) -> None:
    await calibrate(env)
    order = await place_tracked(env, side, "0.4100", 5)
    env.clock.advance(GRACE_S)
    assert (await calibrate(env)).corrections == ()
    assert order.order_id is not None
    await env.alice_by_hand.cancel_order(order.order_id)
    env.clock.advance(GRACE_S)
    report = await calibrate(env)
    (event,) = report.drift
    assert event.kind is DriftKind.ORDER_CANCELED_OUTSIDE
    assert event.contracts == Count.contracts(-5)
    assert event.money > 0  # the reservation came back
    assert order.state is OrderState.CANCELED
    assert_ledger_matches_exchange(env)


async def test_balance_changed_behind_our_back_is_cash_drift_of_exactly_that_size(env: ReconEnv) -> None:
    await calibrate(env)
    before = env.sim.engine.account(ALICE).balance
    answer = await env.admin.post(f"/accounts/{ALICE}/balance", json={"balance_dollars": "1123.456789"})
    assert answer.status_code == 200
    report = await calibrate(env)
    (event,) = report.drift
    assert event.kind is DriftKind.CASH
    assert event.money == Money.parse("1123.456789") - before
    assert report.totals.cash == event.money
    assert_ledger_matches_exchange(env)


@pytest.mark.parametrize("sign", [1, -1])
async def test_position_edited_behind_our_back_is_position_drift_of_the_right_size(
    env: ReconEnv, sign: int
) -> None:
    await calibrate(env)
    body = {"position_fp": f"{sign * 12}.00", "cost_dollars": "5.400000"}
    assert (await env.admin.post(f"/accounts/{ALICE}/positions/{env.ticker}", json=body)).status_code == 200
    report = await calibrate(env)
    (event,) = report.drift
    assert event.kind is DriftKind.POSITION
    assert event.contracts == Count.contracts(sign * 12)
    assert event.money == Money.parse("5.40")
    assert report.totals.position_contracts == Count.contracts(12)
    assert_ledger_matches_exchange(env)
    # edited back to flat: the drift is the whole position, the other way
    body = {"position_fp": "0.00", "cost_dollars": "0"}
    assert (await env.admin.post(f"/accounts/{ALICE}/positions/{env.ticker}", json=body)).status_code == 200
    (event,) = (await calibrate(env)).drift
    assert event.contracts == Count.contracts(-sign * 12)
    assert_ledger_matches_exchange(env)


@pytest.mark.parametrize("side", SIDES)
async def test_fills_seen_only_through_rest_are_booked_once(env: ReconEnv, side: BookSide) -> None:
    await calibrate(env)
    order = await place_tracked(env, side, "0.4500", 6)
    env.clock.advance(1)
    engine_take(env, BOB, side.opposite, "0.4500", 4)  # partial
    env.clock.advance(1)
    engine_take(env, BOB, side.opposite, "0.4500", 2)  # the rest
    report = await calibrate(env)
    assert kinds(report) == [DriftKind.MISSED_FILL, DriftKind.MISSED_FILL]
    assert report.totals.missed_fills == 2
    assert order.state is OrderState.FILLED
    assert order.filled == Count.contracts(6)
    sign = 1 if side is BookSide.BID else -1
    assert env.ledger.position(env.ticker).position == Count(sign * 600)
    assert_ledger_matches_exchange(env)
    second = await calibrate(env)
    assert second.corrections == ()
    assert len(env.ledger.fills) == 2
    assert_ledger_matches_exchange(env)


@pytest.mark.parametrize(
    ("side", "result"), [(BookSide.BID, "yes"), (BookSide.ASK, "yes"), (BookSide.BID, "no")]
)
async def test_settlement_is_booked_exactly(env: ReconEnv, side: BookSide, result: str) -> None:
    await calibrate(env)
    await place_tracked(env, side, "0.3000", 10)
    engine_take(env, BOB, side.opposite, "0.3000", 10)
    await calibrate(env)
    pos = env.ledger.position(env.ticker)
    cost_with_fees = pos.cost_basis
    realized_before = pos.realized_pnl
    env.clock.advance(1)
    answer = await env.admin.post(
        f"/markets/{env.ticker}/determine", json={"result": result, "settle_now": True}
    )
    assert answer.status_code == 200
    report = await calibrate(env)
    (event,) = [e for e in report.corrections if e.kind is DriftKind.SETTLEMENT]
    (settlement,) = env.sim.engine.account(ALICE).settlements
    assert event.money == settlement.revenue
    assert not report.drift
    assert pos.realized_pnl == realized_before + settlement.revenue - cost_with_fees
    won = (side is BookSide.BID) == (result == "yes")
    assert settlement.revenue == (Money.dollars(10) if won else 0)
    assert_ledger_matches_exchange(env)
    assert (await calibrate(env)).corrections == ()


async def test_pending_order_never_sent_is_rejected_only_after_n_passes(env: ReconEnv) -> None:
    await calibrate(env)
    order = TrackedOrder(
        client_order_id="never-sent",
        ticker=env.ticker,
        side=BookSide.BID,
        yes_price=Price.parse("0.2000"),
        count=Count.contracts(3),
        purpose=OrderPurpose.OPEN,
        created_ms=env.clock.now_ms(),
    )
    env.ledger.record_pending(order)
    env.clock.advance(GRACE_S)
    for _ in range(2):
        report = await calibrate(env)
        assert report.corrections == ()  # no adoption, no cash drift for the reservation
        assert order.state is OrderState.PENDING
    report = await calibrate(env)
    (event,) = report.drift
    assert event.kind is DriftKind.ORDER_GONE
    assert order.state is OrderState.REJECTED
    assert order.not_found_reads == 3
    assert_ledger_matches_exchange(env)


async def test_recent_pending_order_is_not_counted_as_a_miss(env: ReconEnv) -> None:
    await calibrate(env)
    order = TrackedOrder(
        "fresh",
        env.ticker,
        BookSide.ASK,
        Price.parse("0.8000"),
        Count.contracts(1),
        OrderPurpose.OPEN,
        env.clock.now_ms(),
    )
    env.ledger.record_pending(order)
    for _ in range(4):
        await calibrate(env)
    assert order.state is OrderState.PENDING
    assert order.not_found_reads == 0


@pytest.mark.parametrize("side", SIDES)
async def test_fill_newer_than_the_snapshot_is_left_for_the_next_pass(env: ReconEnv, side: BookSide) -> None:
    await calibrate(env)
    order = await place_tracked(env, side, "0.5500", 4)
    env.clock.advance(GRACE_S)
    reads = env.reconciler.rest
    original = reads.balance

    async def trade_during_the_reads() -> Balance:
        env.clock.advance(1)  # the counterparty trades after the snapshot was requested
        engine_take(env, BOB, side.opposite, "0.5500", 4)
        reads.balance = original  # type: ignore[method-assign]
        return await original()

    reads.balance = trade_during_the_reads  # type: ignore[method-assign]
    report = await calibrate(env)
    assert report.corrections == ()
    assert report.deferred_tickers == (env.ticker,)
    assert report.deferred_fills == 1
    assert report.cash_deferred
    assert order.state is OrderState.RESTING  # not taken for cancelled
    nxt = await calibrate(env)
    assert kinds(nxt) == [DriftKind.MISSED_FILL]
    assert env.ledger.orders[order.client_order_id].state is OrderState.FILLED
    assert_ledger_matches_exchange(env)


async def test_live_fill_during_the_reads_is_not_overwritten_or_booked_twice(env: ReconEnv) -> None:
    await calibrate(env)
    order = await place_tracked(env, BookSide.BID, "0.6000", 2)
    env.clock.advance(GRACE_S)
    engine_take(env, BOB, BookSide.ASK, "0.6000", 2)
    reads = env.reconciler.rest
    original = reads.fills

    async def fill_channel_delivers_meanwhile(min_ts_s: int) -> list:  # type: ignore[type-arg]
        fills = await original(min_ts_s)
        from kalshiflow.trader.state.live_updates import fill_from_rest

        env.ledger.apply_fill(fill_from_rest(fills[0]))  # as if from the WebSocket
        return fills

    reads.fills = fill_channel_delivers_meanwhile  # type: ignore[method-assign]
    report = await calibrate(env)
    reads.fills = original  # type: ignore[method-assign]
    assert env.ticker in report.deferred_tickers
    assert report.cash_deferred
    assert len(env.ledger.fills) == 1
    assert order.state is OrderState.FILLED
    assert (await calibrate(env)).corrections == ()
    assert_ledger_matches_exchange(env)


async def test_rest_calls_do_not_grow_with_positions(env: ReconEnv) -> None:
    await calibrate(env)
    tickers = sorted(env.sim.engine.markets)
    counts = []
    for n in (2, 12):
        for ticker in tickers[:n]:
            body = {"position_fp": "3.00", "cost_dollars": "1.500000"}
            await env.admin.post(f"/accounts/{ALICE}/positions/{ticker}", json=body)
        await env.reconciler.calibrate([env.ticker])
        report = await env.reconciler.calibrate([env.ticker])
        assert len(env.ledger.open_positions()) == n
        counts.append(report.rest_calls)
    assert counts[0] == counts[1]
    assert_ledger_matches_exchange(env)


async def test_exchange_error_fails_the_pass_with_the_reason(env: ReconEnv) -> None:
    await env.admin.post("/faults/schedule", json={"http_5xx": 50})
    report = await env.reconciler.calibrate([env.ticker])
    assert not report.ok
    assert "state sync failed" in report.failure_reason
    assert report.steps[0].ok is False
