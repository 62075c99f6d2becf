"""The queue position of a resting order, kept current against the simulator's real queue.

Bob rests first at 0.40; the trader joins behind him. Carol (a third account) sells into the level,
which fills Bob first; Bob then cancels; Carol sells again, which fills the trader. The tracker reads
only when the book at the order's price level shrank (or a new order rests), publishes each new
answer on the bus, and forgets the order once it no longer rests.
"""

from __future__ import annotations

from tests.exchange.client.exchange_client_kit import START_BALANCE, make_key
from tests.trader.scenarios.scenario_kit import Scenario, buy, scenario_config, yes_price_of

from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Count, Price
from kalshiflow.events.trader import QueuePositionChanged
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.trader.state.orders import OrderState

CAROL = "carol-key"


def _carol_sells_yes(env: Scenario, ticker: str, price: str, contracts: int) -> None:
    env.sim.engine.create_order(
        CAROL,
        OrderRequest(
            ticker=ticker,
            side=BookSide.ASK,
            yes_price=int(yes_price_of(OutcomeSide.YES, price)),
            count=int(Count.contracts(contracts)),
            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
            self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
        ),
    )


async def test_queue_position_follows_fills_and_cancels_ahead_and_is_read_only_when_it_can_change(
    env: Scenario,
) -> None:
    env.sim.register_account(CAROL, make_key(CAROL).public_pem, int(START_BALANCE), CAROL)
    ticker = env.tickers[0]
    env.bid(ticker, OutcomeSide.YES, "0.40", 5)  # Bob, first in the queue at 0.40
    env.bid(ticker, OutcomeSide.NO, "0.55", 50)  # a two-sided book (the risk gate asks for one)
    core = await env.new_core(scenario_config(), stream=True)
    tracker = core.queue
    published = core.bus.subscribe("test.queue", [QueuePositionChanged])
    assert not tracker.due()  # nothing rests: nothing to read

    placed = await core.open_position(
        ticker, buy(OutcomeSide.YES), Price.parse("0.40"), Count.contracts(2), post_only=True
    )
    assert placed.execution is not None
    cid = placed.execution.client_order_id
    await env.sync_books()
    assert tracker.due()  # a new resting order
    assert await tracker.refresh() == 1
    assert tracker.ahead == {cid: Count.contracts(5)}
    [event] = published.drain()
    assert isinstance(event, QueuePositionChanged)
    assert (event.client_order_id, event.ticker, event.ahead) == (cid, ticker, Count.contracts(5))
    assert event.order_id == core.ledger.orders[cid].order_id

    # Nothing changed at the level: no read however often the tracker looks (short of the age rule).
    reads = tracker.reads
    for _ in range(5):
        env.clock.advance(tracker.config.check_s)
        assert not tracker.due()
    assert tracker.reads == reads

    # Carol fills 3 of Bob's 5 ahead: the level shrank, a read is due and finds 2 ahead.
    _carol_sells_yes(env, ticker, "0.40", 3)
    await env.sync_books()
    assert tracker.due()
    assert await tracker.refresh() == 1
    assert tracker.ahead[cid] == Count.contracts(2)

    # Bob cancels what he has left: the trader is first. Changes within ``check_s`` of a read wait
    # for the next look (coalesced), then one read covers them.
    env.cancel_bob(ticker)
    await env.sync_books()
    assert not tracker.due()  # the clock did not move since the last read
    env.clock.advance(tracker.config.check_s)
    assert tracker.due()
    assert await tracker.refresh() == 1
    assert tracker.ahead[cid] == Count.contracts(0)
    assert [e.ahead for e in published.drain() if isinstance(e, QueuePositionChanged)] == [
        Count.contracts(2),
        Count.contracts(0),
    ]
    # The exchange agrees with the single-order read.
    order_id = core.ledger.orders[cid].order_id
    assert order_id is not None
    assert await env.by_hand.queue_position(order_id) == Count.contracts(0)

    # Carol fills the trader: it no longer rests, its position is forgotten, nothing more is read.
    _carol_sells_yes(env, ticker, "0.40", 2)
    await env.sync_books()
    assert core.ledger.orders[cid].state is OrderState.FILLED
    env.clock.advance(tracker.config.max_age_s)
    assert not tracker.due()
    assert tracker.ahead == {}


async def test_an_answer_older_than_max_age_is_read_again_and_an_unchanged_one_is_not_published(
    env: Scenario,
) -> None:
    ticker = env.tickers[0]
    env.bid(ticker, OutcomeSide.YES, "0.40", 5)
    env.bid(ticker, OutcomeSide.NO, "0.55", 50)
    core = await env.new_core(scenario_config(), stream=True)
    tracker = core.queue
    published = core.bus.subscribe("test.queue", [QueuePositionChanged])
    await core.open_position(
        ticker, buy(OutcomeSide.YES), Price.parse("0.40"), Count.contracts(2), post_only=True
    )
    await env.sync_books()
    assert await tracker.refresh() == 1
    env.clock.advance(tracker.config.max_age_s - tracker.config.check_s)
    assert not tracker.due()
    env.clock.advance(tracker.config.check_s)
    assert tracker.due()  # old enough: read again (what the book cannot show, e.g. an amend)
    assert await tracker.refresh() == 0  # same answer: nothing new published
    assert len(published.drain()) == 1
    assert tracker.reads == 2
