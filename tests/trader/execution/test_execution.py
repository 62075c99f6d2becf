"""The executor against the simulator: orders recorded before sending, ambiguity resolved by reading."""

from __future__ import annotations

import pytest
from tests.trader.execution.trader_exec_kit import Desk, check_books

from kalshiflow.domain.orders import BookSide, OutcomeSide, TimeInForce
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.ledger import OrderChanged, OrderSnapshot
from kalshiflow.exchange.errors import ErrorKind
from kalshiflow.features.valuation import Valuation
from kalshiflow.trader.execution.closing import FILLS_PENDING_MAX_MS, PositionCloser
from kalshiflow.trader.execution.in_flight import CREATE_OUTCOMES, ExecOutcome, OrderIntent
from kalshiflow.trader.exit_rules.base import ExitDecision, ExitReason
from kalshiflow.trader.state.ledger import LedgerError
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

SIDES = [BookSide.BID, BookSide.ASK]


def buy(desk: Desk, side: BookSide, price: str, contracts: int, **kw: object) -> OrderIntent:
    return OrderIntent(desk.ticker, side, Price.parse(price), Count.contracts(contracts), **kw)  # type: ignore[arg-type]


def test_create_policy_table_in_both_directions() -> None:
    assert CREATE_OUTCOMES[ErrorKind.AMBIGUOUS] is ExecOutcome.UNKNOWN
    definitive = [k for k in ErrorKind if k is not ErrorKind.AMBIGUOUS]
    assert all(CREATE_OUTCOMES[k] is ExecOutcome.REJECTED for k in definitive)
    assert set(CREATE_OUTCOMES) == set(ErrorKind)


def test_close_intent_needs_a_reason_and_is_always_reduce_only() -> None:
    with pytest.raises(ValueError, match="close_reason"):
        OrderIntent("T", BookSide.ASK, Price.parse("0.5"), Count.contracts(1), OrderPurpose.CLOSE)
    close = OrderIntent(
        "T", BookSide.ASK, Price.parse("0.5"), Count.contracts(1), OrderPurpose.CLOSE, "take_profit"
    )
    assert close.sends_reduce_only


@pytest.mark.parametrize("side", SIDES)
async def test_place_records_pending_before_sending_then_rests(desk: Desk, side: BookSide) -> None:
    seen_before_send: list[OrderState] = []
    original_place = desk.alice.place

    async def spying_place(order):  # type: ignore[no-untyped-def]
        seen_before_send.append(desk.ledger.orders[order.client_order_id].state)
        return await original_place(order)

    desk.alice.place = spying_place  # type: ignore[method-assign]
    result = await desk.executor.place(buy(desk, side, "0.40", 5))
    assert seen_before_send == [OrderState.PENDING]
    assert result.outcome is ExecOutcome.PLACED
    order = desk.ledger.orders[result.client_order_id]
    assert order.state is OrderState.RESTING
    assert order.order_id == result.order_id
    assert order.reserved > 0
    assert desk.engine_orders_with(result.client_order_id) == 1


async def test_definitive_rejection_releases_the_reservation(desk: Desk) -> None:
    cash = desk.ledger.cash
    result = await desk.executor.place(buy(desk, BookSide.BID, "0.40", 5, order_group_id="no-such-group"))
    assert result.outcome is ExecOutcome.REJECTED
    assert desk.ledger.orders[result.client_order_id].state is OrderState.REJECTED
    assert desk.ledger.cash == cash
    assert desk.engine_orders_with(result.client_order_id) == 0


@pytest.mark.parametrize("side", SIDES)
async def test_partial_fills_via_counterparty_booked_from_rest(desk: Desk, side: BookSide) -> None:
    result = await desk.executor.place(buy(desk, side, "0.45", 5))
    await desk.bob_rests(side.opposite, "0.45", 2)  # bob takes 2 of our 5
    assert await desk.sync_fills() == 1
    order = desk.ledger.orders[result.client_order_id]
    assert (order.state, order.filled) == (OrderState.PARTIALLY_FILLED, Count.contracts(2))
    await desk.bob_rests(side.opposite, "0.45", 3)
    assert await desk.sync_fills() == 1
    assert await desk.sync_fills() == 0  # the same fills again: booked once
    assert (order.state, order.filled, order.reserved) == (OrderState.FILLED, Count.contracts(5), 0)
    sign = 1 if side is BookSide.BID else -1
    assert desk.ledger.position(desk.ticker).position == sign * Count.contracts(5)


@pytest.mark.parametrize("side", SIDES)
async def test_taking_create_partly_filled_by_the_answer_then_by_fills(desk: Desk, side: BookSide) -> None:
    await desk.bob_rests(side.opposite, "0.50", 2)
    result = await desk.executor.place(buy(desk, side, "0.50", 5))
    order = desk.ledger.orders[result.client_order_id]
    assert (order.state, order.filled, order.remaining) == (
        OrderState.PARTIALLY_FILLED,
        Count.contracts(2),
        Count.contracts(3),
    )
    await desk.sync_fills()  # the fill the create answer already counted must not count twice
    assert (order.filled, order.remaining) == (Count.contracts(2), Count.contracts(3))


@pytest.mark.parametrize("side", SIDES)
async def test_ambiguous_create_is_resolved_by_client_order_id(desk: Desk, side: BookSide) -> None:
    desk.sim.faults.schedule_lost_responses(1)
    result = await desk.executor.place(buy(desk, side, "0.40", 4))
    assert result.outcome is ExecOutcome.UNKNOWN
    order = desk.ledger.orders[result.client_order_id]
    assert order.state is OrderState.UNKNOWN
    [resolved] = await desk.executor.resolve_unknown()
    assert resolved.outcome is ExecOutcome.RESOLVED
    assert order.state is OrderState.RESTING
    assert order.order_id is not None
    assert desk.engine_orders_with(result.client_order_id) == 1
    assert await desk.executor.resolve_unknown() == []  # nothing left in flight


async def test_read_lag_first_resolve_misses_second_finds(desk: Desk) -> None:
    desk.sim.faults.update({"read_lag_ms": 2_000})
    desk.sim.faults.schedule_lost_responses(1)
    result = await desk.executor.place(buy(desk, BookSide.BID, "0.40", 4))
    order = desk.ledger.orders[result.client_order_id]
    [first] = await desk.executor.resolve_unknown()
    assert first.outcome is ExecOutcome.NOT_FOUND
    assert (order.state, order.not_found_reads) == (OrderState.UNKNOWN, 1)
    desk.clock.advance(3)
    [second] = await desk.executor.resolve_unknown()
    assert second.outcome is ExecOutcome.RESOLVED
    assert (order.state, order.not_found_reads) == (OrderState.RESTING, 0)
    assert desk.engine_orders_with(result.client_order_id) == 1
    desk.sim.faults.update({"read_lag_ms": 0})


async def test_order_never_sent_is_rejected_after_n_misses_and_never_before(desk: Desk) -> None:
    cash = desk.ledger.cash
    crashed = TrackedOrder(
        "t-crashed",
        desk.ticker,
        BookSide.BID,
        Price.parse("0.40"),
        Count.contracts(3),
        OrderPurpose.OPEN,
        created_ms=desk.clock.now_ms(),
    )
    desk.ledger.record_pending(crashed)  # recorded, then the process died before sending
    assert await desk.executor.resolve_unknown() == []  # too fresh: a send may still be under way
    desk.clock.advance(desk.executor.config.stale_pending_s)
    for miss in (1, 2):
        [result] = await desk.executor.resolve_unknown()
        assert result.outcome is ExecOutcome.NOT_FOUND
        assert crashed.state is OrderState.PENDING
        assert crashed.not_found_reads == miss
    [result] = await desk.executor.resolve_unknown()
    assert result.outcome is ExecOutcome.GAVE_UP
    assert crashed.state is OrderState.REJECTED
    assert desk.ledger.cash == cash
    with pytest.raises(LedgerError):  # its id is spent for good
        desk.ledger.record_pending(
            TrackedOrder(
                "t-crashed",
                desk.ticker,
                BookSide.BID,
                Price.parse("0.4"),
                Count.contracts(1),
                OrderPurpose.OPEN,
                created_ms=0,
            )
        )


async def test_a_failed_read_is_not_a_miss(desk: Desk) -> None:
    desk.sim.faults.schedule_lost_responses(1)
    result = await desk.executor.place(buy(desk, BookSide.BID, "0.40", 2))
    desk.sim.faults.schedule_5xx(10)  # every read retry fails
    outcomes = {r.outcome for r in await desk.executor.resolve_unknown()}
    desk.sim.faults.reset()
    assert outcomes == {ExecOutcome.UNRESOLVED}
    assert desk.ledger.orders[result.client_order_id].not_found_reads == 0
    await desk.executor.resolve_unknown()
    assert desk.ledger.orders[result.client_order_id].state is OrderState.RESTING


@pytest.mark.parametrize("side", SIDES)
async def test_cancel_resting_order(desk: Desk, side: BookSide) -> None:
    result = await desk.executor.place(buy(desk, side, "0.30", 3))
    cancel = await desk.executor.cancel(result.client_order_id)
    assert cancel.outcome is ExecOutcome.CANCELED
    order = desk.ledger.orders[result.client_order_id]
    assert (order.state, order.reserved) == (OrderState.CANCELED, 0)


@pytest.mark.parametrize("side", SIDES)
async def test_cancel_of_an_already_filled_order_reads_it_back(desk: Desk, side: BookSide) -> None:
    result = await desk.executor.place(buy(desk, side, "0.45", 2))
    await desk.bob_rests(side.opposite, "0.45", 2)  # filled on the exchange; the ledger has not heard
    cancel = await desk.executor.cancel(result.client_order_id)
    assert cancel.outcome is ExecOutcome.ALREADY_GONE
    order = desk.ledger.orders[result.client_order_id]
    assert order.state is OrderState.FILLED
    await desk.sync_fills()
    assert order.filled == Count.contracts(2)
    again = await desk.executor.cancel(result.client_order_id)
    assert again.outcome is ExecOutcome.ALREADY_GONE


async def test_amend_reprices_and_the_order_is_read_back(desk: Desk) -> None:
    result = await desk.executor.place(buy(desk, BookSide.BID, "0.30", 5))
    amended = await desk.executor.amend(result.client_order_id, Price.parse("0.32"), Count.contracts(4))
    assert amended.outcome is ExecOutcome.AMENDED
    order = desk.ledger.orders[result.client_order_id]
    assert (order.yes_price, order.count, order.state) == (
        Price.parse("0.32"),
        Count.contracts(4),
        OrderState.RESTING,
    )


@pytest.mark.parametrize("side", SIDES)
async def test_reduce_only_close_never_flips_the_position(desk: Desk, side: BookSide) -> None:
    await desk.bob_rests(side.opposite, "0.50", 3)
    opened = await desk.executor.place(buy(desk, side, "0.50", 3))
    await desk.sync_fills()
    sign = 1 if side is BookSide.BID else -1
    assert desk.ledger.position(desk.ticker).position == sign * Count.contracts(3)
    await desk.bob_rests(side, "0.55", 10)  # plenty to sell into
    close = OrderIntent(
        desk.ticker,
        side.opposite,
        Price.parse("0.55"),
        Count.contracts(8),  # more than held: the exchange must not let it open the other side
        OrderPurpose.CLOSE,
        close_reason="take_profit",
        time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
    )
    result = await desk.executor.place(close)
    assert result.outcome is ExecOutcome.PLACED
    await desk.sync_fills()
    assert desk.ledger.position(desk.ticker).position == 0
    order = desk.ledger.orders[result.client_order_id]
    assert order.reduce_only
    assert order.close_reason == "take_profit"
    assert order.is_terminal
    closing_fills = [f for f in desk.ledger.fills if f.order_id == order.order_id]
    assert sum(f.count for f in closing_fills) == Count.contracts(3)
    assert opened.outcome is ExecOutcome.PLACED


async def test_amend_shrinking_at_the_same_price_keeps_cash_exact(desk: Desk) -> None:
    result = await desk.executor.place(buy(desk, BookSide.ASK, "0.30", 5))
    amended = await desk.executor.amend(result.client_order_id, Price.parse("0.30"), Count.contracts(3))
    assert amended.outcome is ExecOutcome.AMENDED
    assert desk.ledger.orders[result.client_order_id].remaining == Count.contracts(3)


@pytest.mark.parametrize("listened", [True, False])
@pytest.mark.parametrize("side", SIDES)
async def test_journal_gets_the_pending_snapshot_the_bus_got(
    desk: Desk, side: BookSide, listened: bool
) -> None:
    """The order is journaled as it was recorded (pending), before the send; when the ledger already
    published its snapshot, the journal stores that very value rather than a second copy."""
    published = desk.ledger.bus.subscribe("test.orders", [OrderChanged]) if listened else None
    journaled: list[OrderSnapshot] = []

    async def journal(snapshot: OrderSnapshot) -> None:
        assert desk.engine_orders_with(snapshot.client_order_id) == 0  # not sent yet
        journaled.append(snapshot)

    desk.executor.journal = journal
    result = await desk.executor.place(buy(desk, side, "0.40", 5))
    assert result.outcome is ExecOutcome.PLACED
    (snapshot,) = journaled
    assert (snapshot.client_order_id, snapshot.state) == (result.client_order_id, OrderState.PENDING)
    assert snapshot.reserved == desk.ledger.orders[result.client_order_id].reserved > 0
    if published is not None:
        first = published.drain()[0]
        assert isinstance(first, OrderChanged)
        assert first.order is snapshot


@pytest.mark.parametrize("side", SIDES)
async def test_a_close_answered_as_filled_is_not_sent_again_before_its_fills_are_booked(
    desk: Desk, side: BookSide
) -> None:
    """Live, the create's answer (REST) usually arrives before the fills (the stream): the close is
    filled, the ledger still shows the position. The exit tick asked again at that moment and sent a
    second reduce-only close, which the exchange refused ("would not reduce the position") -- an error
    toward the market's circuit breaker (3 in 60 s close the market for 5 min); seen on 5 of 24
    closes in short live runs against the embedded simulator."""
    await desk.bob_rests(side.opposite, "0.50", 2)
    await desk.executor.place(buy(desk, side, "0.50", 2))
    await desk.sync_fills()
    held = desk.ledger.position(desk.ticker).position
    assert abs(held) == Count.contracts(2)
    await desk.bob_rests(side, "0.45", 10)  # a bid to sell into
    closer = PositionCloser(desk.executor, desk.ledger, desk.clock)
    grid = desk.sim.engine.markets[desk.ticker].grid
    first = await closer.close_position(desk.ticker, "take_profit", None, grid, aggressive=True)
    assert first.outcome == "placed"
    order = desk.ledger.orders[first.execution.client_order_id]  # type: ignore[union-attr]
    assert order.filled == Count.contracts(2)  # the answer says filled ...
    assert desk.ledger.position(desk.ticker).position == held  # ... the fills are not booked yet
    again = await closer.close_position(desk.ticker, "take_profit", None, grid, aggressive=True)
    assert again.outcome == "skipped_in_flight", again
    assert [o for o in desk.ledger.orders.values() if o.state is OrderState.REJECTED] == []
    await desk.sync_fills()  # the fills arrive: flat, nothing pending any more
    assert desk.ledger.position(desk.ticker).position == 0
    assert (await closer.close_position(desk.ticker, "take_profit", None, grid)).outcome == "skipped_flat"
    await check_books(desk)


async def test_a_close_whose_fills_never_arrive_stops_blocking_the_market_after_a_while(desk: Desk) -> None:
    await desk.bob_rests(BookSide.ASK, "0.50", 1)
    await desk.executor.place(buy(desk, BookSide.BID, "0.50", 1))
    await desk.sync_fills()
    await desk.bob_rests(BookSide.BID, "0.45", 10)
    closer = PositionCloser(desk.executor, desk.ledger, desk.clock)
    grid = desk.sim.engine.markets[desk.ticker].grid
    assert (
        await closer.close_position(desk.ticker, "stop_loss", None, grid, aggressive=True)
    ).outcome == "placed"
    blocked = await closer.close_position(desk.ticker, "stop_loss", None, grid, aggressive=True)
    assert blocked.outcome == "skipped_in_flight"
    await desk.clock.sleep(FILLS_PENDING_MAX_MS / 1000)
    # Fills lost on the stream are booked by the next calibration; meanwhile the exit rules may try
    # again (reduce-only: the exchange refuses what would not reduce).
    late = await closer.close_position(desk.ticker, "stop_loss", None, grid, aggressive=True)
    assert late.outcome != "skipped_in_flight"


class _AskAt:
    """A valid book whose best bid of either side is ``price``: the closer's exit limit."""

    valid = True

    def __init__(self, price: str) -> None:
        self.price = Price.parse(price)

    def best_bid(self, side: OutcomeSide) -> Price | None:
        return self.price


def _reprice_to(order: TrackedOrder, yes_price: str) -> ExitDecision:
    """The stuck rule's decision: move ``order`` (a close selling YES) to ``yes_price``."""
    price = Price.parse(yes_price)
    valuation = Valuation(
        order.ticker, OutcomeSide.YES, order.remaining, price, Money(0), Money(0), Money(0), Money(0), None
    )
    return ExitDecision(
        order.ticker,
        ExitReason.STUCK,
        "re-price",
        OutcomeSide.YES,
        order.remaining,
        price,
        valuation,
        replaces_client_order_id=order.client_order_id,
    )


async def test_the_closer_forgets_the_reprice_time_of_closes_that_ended(desk: Desk) -> None:
    """Each re-priced close left its client_order_id in the closer's map of re-price times for the
    life of the process (one entry per re-priced close, day after day): only live ones stay."""
    await desk.bob_rests(BookSide.ASK, "0.50", 4)
    await desk.executor.place(buy(desk, BookSide.BID, "0.50", 4))
    await desk.sync_fills()
    closer = PositionCloser(desk.executor, desk.ledger, desk.clock)
    grid = desk.sim.engine.markets[desk.ticker].grid
    ended: list[str] = []
    for _ in range(3):
        placed = await closer.close_position(desk.ticker, "take_profit", _AskAt("0.90"), grid)
        assert placed.outcome == "placed", placed
        order = desk.ledger.orders[placed.execution.client_order_id]  # type: ignore[union-attr]
        [repriced] = await closer.apply([_reprice_to(order, "0.85")])
        assert repriced.outcome == "repriced", repriced
        assert (await desk.executor.cancel(order.client_order_id)).outcome is ExecOutcome.CANCELED
        ended.append(order.client_order_id)
    placed = await closer.close_position(desk.ticker, "take_profit", _AskAt("0.90"), grid)
    live = desk.ledger.orders[placed.execution.client_order_id]  # type: ignore[union-attr]
    [repriced] = await closer.apply([_reprice_to(live, "0.85")])
    assert repriced.outcome == "repriced", repriced
    assert set(closer._priced_at_ms) == {live.client_order_id}
    assert closer.closing_orders()[desk.ticker].priced_at_ms is not None
    await desk.executor.cancel(live.client_order_id)
    await closer.apply([])  # every calibration passes here, with or without decisions
    assert closer._priced_at_ms == {}
