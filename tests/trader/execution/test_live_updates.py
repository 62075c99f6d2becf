"""Stream messages move the ledger: fills from the WS ``fill`` channel and from REST are booked once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from fractions import Fraction

import pytest
from tests.exchange.client.exchange_client_kit import Key
from tests.exchange.stream.stream_kit import ReferenceSink
from tests.trader.execution.trader_exec_kit import Desk
from tests.waiting import until

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.ws_models import ChannelNotice, EventFeeUpdate, MarketPositionUpdate, NoticeKind
from kalshiflow.exchange.ws_status import BackoffPolicy
from kalshiflow.exchange.ws_stream import KalshiStream, StreamConfig
from kalshiflow.trader.execution.in_flight import OrderIntent
from kalshiflow.trader.state.live_updates import LiveUpdates, ResyncNeeded
from kalshiflow.trader.state.orders import OrderState


@pytest.fixture
async def live(desk: Desk, alice_key: Key) -> AsyncIterator[LiveUpdates]:
    config = StreamConfig(
        url=desk.ws_url, command_timeout_s=2.0, backoff=BackoffPolicy(initial_s=0.02, max_s=0.2), seed=1
    )
    stream = KalshiStream(config, alice_key.signer(), ReferenceSink(), clock=desk.clock)
    stream.start()
    await stream.wait_live()
    await stream.subscribe(["fill", "user_orders", "market_positions"])
    updates = LiveUpdates(desk.ledger, desk.clock)
    consumer = asyncio.create_task(updates.run(stream.events))
    try:
        yield updates
    finally:
        consumer.cancel()
        await stream.close()


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
async def test_fills_delivered_by_ws_and_rest_are_booked_once(
    desk: Desk, live: LiveUpdates, side: BookSide
) -> None:
    result = await desk.executor.place(
        OrderIntent(desk.ticker, side, Price.parse("0.45"), Count.contracts(5))
    )
    order = desk.ledger.orders[result.client_order_id]
    await desk.bob_rests(side.opposite, "0.45", 2)
    await until(lambda: order.filled == Count.contracts(2), what="ws partial fill")
    assert order.state is OrderState.PARTIALLY_FILLED
    await desk.bob_rests(side.opposite, "0.45", 3)
    await until(lambda: order.state is OrderState.FILLED, what="ws fill")
    assert live.fills_booked == 2
    assert await desk.sync_fills() == 0  # REST shows the same two trades: nothing new
    sign = 1 if side is BookSide.BID else -1
    assert desk.ledger.position(desk.ticker).position == sign * Count.contracts(5)
    assert [f.source for f in desk.ledger.fills] == ["ws", "ws"]


async def test_user_orders_channel_reports_a_cancel_made_elsewhere(desk: Desk, live: LiveUpdates) -> None:
    result = await desk.executor.place(
        OrderIntent(desk.ticker, BookSide.BID, Price.parse("0.30"), Count.contracts(2))
    )
    order = desk.ledger.orders[result.client_order_id]
    assert order.order_id is not None
    await desk.alice.cancel_order(order.order_id)  # behind the executor's back
    await until(lambda: order.state is OrderState.CANCELED, what="user_orders cancel")
    assert order.reserved == 0


def test_position_update_is_compared_not_written(desk: Desk) -> None:
    mismatches = []
    updates = LiveUpdates(desk.ledger, desk.clock, on_mismatch=mismatches.append)
    update = MarketPositionUpdate(
        sid=1,
        ticker=desk.ticker,
        position=Count.contracts(4),
        position_cost=Money(0),
        realized_pnl=Money(0),
        fees_paid=Money(0),
        position_fee_cost=Money(0),
        volume=Count(0),
    )
    updates.handle(update)
    assert desk.ledger.position(desk.ticker).position == 0
    [mismatch] = mismatches
    assert mismatch.difference == Count.contracts(4)


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_channel_notice_flags_resync(desk: Desk, kind: NoticeKind) -> None:
    seen: list[ResyncNeeded] = []
    updates = LiveUpdates(desk.ledger, desk.clock, on_resync=seen.append)
    updates.handle(ChannelNotice(kind, "fill", 3, "test"))
    assert updates.needs_resync
    assert seen[0].reason == kind.value
    updates.clear_resync()
    assert not updates.needs_resync


@pytest.mark.parametrize("kind", [NoticeKind.GAP, NoticeKind.TERMINAL_ERROR])
def test_a_notice_about_the_lifecycle_channel_alone_does_not_stop_trading(
    desk: Desk, kind: NoticeKind
) -> None:
    """It carries only fee pushes for the trader; the next calibration reads the fee changes."""
    seen: list[ResyncNeeded] = []
    updates = LiveUpdates(desk.ledger, desk.clock, on_resync=seen.append)
    updates.handle(ChannelNotice(kind, "market_lifecycle_v2", 1, "test"))
    assert not updates.needs_resync
    assert seen == []
    updates.handle(ChannelNotice(NoticeKind.OVERFLOW, None, 1, "test"))  # may have dropped fills
    assert updates.needs_resync


def test_a_pushed_fee_update_goes_to_its_handler(desk: Desk) -> None:
    pushed: list[EventFeeUpdate] = []
    updates = LiveUpdates(desk.ledger, desk.clock, on_fee_update=pushed.append)
    update = EventFeeUpdate(5, 9, "KXBTCD-26MAY2018", "flat", Fraction(1, 2))
    updates.handle(update)
    assert pushed == [update]
    assert not updates.needs_resync
