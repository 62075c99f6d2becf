"""The recorded-session fill model: its pure rules, and the engine carrying them out (properties).

The pure functions (``plan_level_change``, ``queue_fill``, ``walk_depth``) are checked on their own;
then random recorded books and level changes are replayed through a real ``Engine`` by the ``Tape``
with one order of ours, and after every recorded change the engine must agree with the rules: we
never fill more than the recorded depth, a resting order never fills while recorded size is queued
ahead of it, a removed touch fills us exactly ``queue_fill`` of it, the tape never shows more than
the recording, and our cash moves by exactly price x count + fee (integers).
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.recorded.fill_model import plan_level_change, queue_fill, walk_depth
from kalshiflow.sim.recorded.tape import Tape
from kalshiflow.sim.state import SimOrder

TICKER = "KXTEST-26JAN01-T1"
START_MS = 1_790_000_000_000
TRADER = "trader"
BALANCE = 10**12  # Money units ($1,000,000)
YES_PRICES = st.integers(20, 48).map(lambda c: c * 100)  # recorded YES bids: 20c..48c
NO_PRICES = st.integers(20, 51).map(lambda c: c * 100)  # recorded NO bids: 20c..51c (YES ask >= 49c)
SIZES = st.integers(1, 30).map(lambda n: n * 100)  # whole contracts, in 0.01 units


# ---------------------------------------------------------------------------- the pure rules
@given(st.integers(0, 5_000), st.integers(0, 5_000), st.data(), st.booleans(), st.booleans())
def test_a_level_plan_never_shows_more_than_the_recording(
    before: int, after: int, data: st.DataObject, at_touch: bool, resync: bool
) -> None:
    shown = data.draw(st.integers(0, before))
    plan = plan_level_change(before, after, shown, at_touch=at_touch, resync=resync)
    shown_after = shown + plan.add - plan.removed
    assert 0 <= shown_after <= after
    assert plan.removed <= shown
    if plan.trade:
        assert at_touch  # only a best level removed entirely trades
        assert not resync
        assert after == 0
    if resync or not at_touch:
        assert plan.cancel_front == 0  # cancels away from the touch never move us up


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 20_000))
def test_a_trade_fills_us_only_beyond_the_queue_ahead(ahead: int, ours: int, traded: int) -> None:
    filled, left = queue_fill(ahead, ours, traded)
    assert 0 <= filled <= ours
    assert filled == max(0, min(ours, traded - ahead))
    assert left == max(0, ahead - traded)
    if traded <= ahead:
        assert filled == 0


@given(
    st.lists(st.tuples(st.integers(1, 99), st.integers(0, 500)), max_size=8).map(
        lambda levels: sorted({p: s for p, s in levels}.items())
    ),
    st.integers(1, 99),
    st.integers(0, 3_000),
)
def test_walking_the_depth_never_takes_more_than_shown(
    levels: list[tuple[int, int]], limit: int, count: int
) -> None:
    fills = walk_depth(levels, limit, count)
    depth = dict(levels)
    assert sum(n for _, n in fills) <= min(count, sum(s for p, s in levels if p <= limit))
    for price, taken in fills:
        assert price <= limit
        assert 0 < taken <= depth[price]
    if sum(s for p, s in levels if p <= limit) >= count:
        assert sum(n for _, n in fills) == count  # enough depth: the order fills completely


# ---------------------------------------------------------------------------- through the engine
def _venue() -> tuple[Engine, Tape]:
    engine = Engine(ManualClock(START_MS), 0)
    tape = Tape(engine)
    engine.add_account(TRADER, BALANCE, balance_precision=1)  # exact posting: every unit visible
    tape.list_market(TICKER, PriceGrid.named("linear_cent"), START_MS + 86_400_000)
    return engine, tape


def _ladder(levels: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted({p: s for p, s in levels}.items())


Op = tuple[str, OutcomeSide, int, int]
OPS = st.one_of(
    st.tuples(st.just("delta"), st.just(OutcomeSide.YES), YES_PRICES, st.integers(-3_000, 3_000)),
    st.tuples(st.just("delta"), st.just(OutcomeSide.NO), NO_PRICES, st.integers(-3_000, 3_000)),
    st.tuples(st.just("remove"), st.sampled_from([OutcomeSide.YES, OutcomeSide.NO]), st.just(0), st.just(0)),
    st.tuples(st.just("ours"), st.just(OutcomeSide.YES), st.just(0), st.integers(-3_000, 3_000)),
)


def _recorded_depth_at_or_below(tape: Tape, yes_limit: int) -> int:
    """Recorded NO size a YES buyer at ``yes_limit`` may take (NO bids at >= 1 - limit)."""
    no = tape.recorded[TICKER][OutcomeSide.NO]
    return sum(size for price, size in no.items() if price >= 10_000 - yes_limit)


def _queue_ahead(engine: Engine, order: SimOrder) -> int:
    return engine.books[TICKER].yes.ahead_of(order, order.yes_price)


def _check_tape_within_recording(tape: Tape) -> None:
    for side, ladder in tape.recorded[TICKER].items():
        for price in set(ladder) | {p for p, _ in _engine_levels(tape, side)}:
            assert tape.shown(TICKER, side, price) <= ladder.get(price, 0)


def _engine_levels(tape: Tape, side: OutcomeSide) -> list[tuple[int, int]]:
    book = tape.engine.books[TICKER]
    return (book.yes if side is OutcomeSide.YES else book.no).ascending()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(YES_PRICES, SIZES), min_size=1, max_size=6).map(_ladder),
    st.lists(st.tuples(NO_PRICES, SIZES), min_size=1, max_size=6).map(_ladder),
    st.data(),
    st.integers(1, 40).map(lambda n: n * 100),
    st.lists(OPS, max_size=40),
)
def test_the_engine_fills_us_as_the_model_says(
    yes: list[tuple[int, int]], no: list[tuple[int, int]], data: st.DataObject, our_count: int, ops: list[Op]
) -> None:
    # Half the time we join a recorded level (a queue ahead of us), else any price (inside, crossing).
    our_price = data.draw(
        st.one_of(st.sampled_from([p for p, _ in yes]), st.integers(20, 55).map(lambda c: c * 100))
    )
    engine, tape = _venue()
    tape.snapshot(TICKER, yes, no)
    _check_tape_within_recording(tape)
    crossable = _recorded_depth_at_or_below(tape, our_price)
    result = engine.create_order(
        TRADER,
        OrderRequest(
            TICKER,
            BookSide.BID,
            our_price,
            our_count,
            TimeInForce.GOOD_TILL_CANCELED,
            SelfTradePrevention.MAKER,
        ),
    )
    order = result.order
    fills = list(result.fills)
    taken = sum(f.count for f in fills)
    assert taken <= crossable  # a crossing order never takes more than the recorded depth
    assert taken == min(our_count, crossable)  # ... and takes all it may (walking the levels)
    asks = sorted((10_000 - price, size) for price, size in tape.recorded[TICKER][OutcomeSide.NO].items())
    by_price: dict[int, int] = {}
    for fill in fills:
        by_price[fill.yes_price] = by_price.get(fill.yes_price, 0) + fill.count
    assert sorted(by_price.items()) == walk_depth(asks, our_price, our_count)  # level by level
    if order.is_resting:
        # We join the back of our level: everything recorded there is ahead of us.
        assert _queue_ahead(engine, order) == tape.recorded[TICKER][OutcomeSide.YES].get(our_price, 0)
    for kind, side, price, change in ops:
        ladder = tape.recorded[TICKER][side]
        if kind == "remove":
            if not ladder:
                continue
            price = max(ladder)
            change = -ladder[price]
        elif kind == "ours":  # a change at the level we rest at (size ahead of or behind us)
            price = our_price
        before_filled = order.fill_count
        ahead = _queue_ahead(engine, order) if order.is_resting else 0
        remaining = order.remaining_count
        removes_our_touch = (
            side is OutcomeSide.YES
            and price == order.yes_price
            and ladder
            and price == max(ladder)
            and ladder.get(price, 0) + change <= 0
        )
        traded = tape.shown(TICKER, side, price) if removes_our_touch else 0
        # Keep the recording itself uncrossed (a real book never is).
        yes_best = max(tape.recorded[TICKER][OutcomeSide.YES], default=0)
        if side is OutcomeSide.NO and change > 0 and price + yes_best >= 10_000:
            continue
        removes_a_touch_we_bid_at = (
            side is OutcomeSide.YES
            and bool(ladder)
            and price == max(ladder)
            and ladder.get(price, 0) + change <= 0
            and order.yes_price >= price
        )
        arrives_crossing_us = side is OutcomeSide.NO and change > 0 and price >= 10_000 - order.yes_price
        tape.delta(TICKER, side, price, change)
        new_fills = order.fill_count - before_filled
        if new_fills:
            # Only a removed touch (a trade) or an order arriving across our price fills us: never a
            # partial decrease, never a change below the touch.
            assert removes_a_touch_we_bid_at or arrives_crossing_us
            event("a resting order filled")
            # Filled only once nothing recorded is queued ahead of us any more.
            if order.is_resting:
                assert _queue_ahead(engine, order) == 0
            else:
                level = engine.books[TICKER].yes
                assert all(o.priority > order.priority for o in level.orders_at(order.yes_price))
        if removes_our_touch and remaining:
            event("our touch removed while we rest")
            assert new_fills == queue_fill(ahead, remaining, traded)[0]
        _check_tape_within_recording(tape)
    # Money: every fill moved our cash by exactly its cost plus its fee, nothing else.
    account = engine.accounts[TRADER]
    spent = BALANCE - account.balance - order.reserved
    assert spent == order.taker_fill_cost + order.taker_fees + order.maker_fill_cost + order.maker_fees
    assert order.fill_count == order.initial_count - order.remaining_count


# ---------------------------------------------------------------------------- the rules by example
def _bid(engine: Engine, price: int, contracts: int) -> SimOrder:
    request = OrderRequest(
        TICKER,
        BookSide.BID,
        price,
        contracts * 100,
        TimeInForce.GOOD_TILL_CANCELED,
        SelfTradePrevention.MAKER,
    )
    return engine.create_order(TRADER, request).order


def _book(yes_cents: dict[int, int], no_cents: dict[int, int]) -> tuple[Engine, Tape]:
    engine, tape = _venue()
    tape.snapshot(
        TICKER,
        [(c * 100, n * 100) for c, n in sorted(yes_cents.items())],
        [(c * 100, n * 100) for c, n in sorted(no_cents.items())],
    )
    return engine, tape


def test_a_crossing_order_walks_the_recorded_levels_and_rests_the_rest() -> None:
    engine, tape = _book({40: 10}, {55: 3, 54: 4})  # YES asks: 45c x 3, 46c x 4
    order = _bid(engine, 46_00, 10)
    assert order.fill_count == 7_00  # 3 at 45c, 4 at 46c, then no more depth
    assert order.taker_fill_cost == 45_00 * 3_00 + 46_00 * 4_00
    assert order.remaining_count == 3_00  # rests at 46c, alone
    tape.delta(TICKER, OutcomeSide.NO, 54_00, 2_00)  # the recording refills 46c: it meets our bid
    assert order.fill_count == 9_00
    assert tape.shown(TICKER, OutcomeSide.NO, 55_00) == 0  # depth we took is not regenerated


def test_partial_decreases_at_our_level_move_us_up_but_never_fill_us() -> None:
    engine, tape = _book({40: 10}, {50: 5})
    order = _bid(engine, 40_00, 5)
    tape.delta(TICKER, OutcomeSide.YES, 40_00, 10_00)  # 10 join behind us
    tape.delta(TICKER, OutcomeSide.YES, 40_00, -15_00)  # 15 leave, 5 stay: 10 ahead + 5 behind cancelled
    assert order.fill_count == 0
    assert _queue_ahead(engine, order) == 0
    assert tape.shown(TICKER, OutcomeSide.YES, 40_00) == 5_00


def test_decreases_below_the_touch_are_cancels_from_the_back() -> None:
    engine, tape = _book({40: 10, 39: 10}, {50: 5})
    order = _bid(engine, 39_00, 5)
    tape.delta(TICKER, OutcomeSide.YES, 39_00, -8_00)  # not the touch: cancels behind us first
    assert _queue_ahead(engine, order) == 2_00  # the level shrank below our queue ahead
    assert order.fill_count == 0


def test_a_removed_touch_trades_through_the_queue_ahead_then_us() -> None:
    engine, tape = _book({40: 10}, {50: 5})
    order = _bid(engine, 40_00, 5)
    tape.delta(TICKER, OutcomeSide.YES, 40_00, 3_00)  # 3 behind us
    tape.delta(TICKER, OutcomeSide.YES, 40_00, -13_00)  # the level is gone: 13 traded
    assert order.fill_count == 3_00  # 10 ahead first, then 3 of our 5 (queue_fill(10, 5, 13))
    assert queue_fill(10_00, 5_00, 13_00) == (3_00, 0)
    assert not order.taker_fill_cost  # a maker fill
    assert order.maker_fill_cost == 40_00 * 3_00


def test_a_removed_touch_with_nothing_behind_us_does_not_fill_us() -> None:
    engine, tape = _book({40: 10}, {50: 5})
    order = _bid(engine, 40_00, 5)
    tape.delta(TICKER, OutcomeSide.YES, 40_00, -10_00)
    assert order.fill_count == 0  # what traded was the queue ahead of us (conservative)
    assert order.is_resting


def test_a_frozen_market_ignores_deltas_until_its_next_snapshot() -> None:
    engine, tape = _book({40: 10}, {50: 5})
    order = _bid(engine, 40_00, 5)
    tape.freeze([TICKER])
    tape.delta(TICKER, OutcomeSide.YES, 40_00, -10_00)
    tape.delta(TICKER, OutcomeSide.NO, 60_00, 50_00)  # would cross us: ignored while frozen
    assert order.fill_count == 0
    assert tape.metrics.deltas_ignored == 2
    tape.snapshot(TICKER, [(40_00, 4_00)], [(50_00, 5_00)])  # a resync cancels, never trades
    assert order.fill_count == 0
    assert tape.shown(TICKER, OutcomeSide.YES, 40_00) == 4_00


def test_a_snapshot_that_empties_our_level_cancels_it_and_does_not_fill_us() -> None:
    engine, tape = _book({40: 10}, {50: 5})
    order = _bid(engine, 40_00, 5)
    tape.delta(TICKER, OutcomeSide.YES, 40_00, 3_00)  # 3 behind us: a removal by a delta would fill 3
    tape.snapshot(TICKER, [(39_00, 10_00)], [(50_00, 5_00)])
    assert order.fill_count == 0
    assert tape.shown(TICKER, OutcomeSide.YES, 40_00) == 0
    assert tape.shown(TICKER, OutcomeSide.YES, 39_00) == 10_00


def test_an_order_sent_during_a_freeze_gets_no_fill_from_the_stale_recorded_depth() -> None:
    engine, tape = _book({40: 10}, {55: 3, 54: 4})  # YES asks: 45c x 3, 46c x 4
    tape.freeze([TICKER])
    order = _bid(engine, 99_00, 10)  # a closing order a time rule sends during the pause: crosses all
    assert order.fill_count == 0  # the recorded depth before the freeze is no longer offered
    assert order.is_resting
    assert tape.shown(TICKER, OutcomeSide.NO, 55_00) == 0
    assert tape.shown(TICKER, OutcomeSide.YES, 40_00) == 0
    tape.snapshot(TICKER, [(40_00, 10_00)], [(55_00, 3_00)])  # the market resumes from its snapshot
    assert order.fill_count == 3_00  # the snapshot's 45c ask arrives across our resting bid: it fills
    assert tape.shown(TICKER, OutcomeSide.YES, 40_00) == 10_00
    assert tape.shown(TICKER, OutcomeSide.NO, 54_00) == 0  # 46c is gone in the snapshot, not restored


def test_our_resting_order_keeps_its_place_across_a_freeze() -> None:
    engine, tape = _book({40: 10}, {50: 5})
    order = _bid(engine, 40_00, 5)  # 10 ahead of us
    tape.freeze([TICKER])
    assert order.is_resting  # our orders stay at the exchange: the recording only lost sight
    assert _queue_ahead(engine, order) == 0  # the stale depth ahead of us is gone with the rest
    tape.snapshot(TICKER, [(40_00, 12_00)], [(50_00, 5_00)])
    assert _queue_ahead(engine, order) == 0  # the snapshot's size at our price joins behind us
    assert tape.shown(TICKER, OutcomeSide.YES, 40_00) == 12_00
    tape.delta(TICKER, OutcomeSide.YES, 40_00, -12_00)  # the level trades away: we are first
    assert order.fill_count == 5_00
