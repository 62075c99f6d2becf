"""Matching: resting, crossing at the resting price, price-time priority, partial fills, TIF, post-only, STP.

Every test runs for both legs: ``side`` buys its own outcome at an own price (YES price for a bid,
NO price for an ask) and the other side crosses it at ``cross_price``.
"""

from __future__ import annotations

import pytest
from tests.sim.engine.engine_kit import (
    FOK,
    IOC,
    MAKER,
    TAKER_AT_CROSS,
    count,
    cross_price,
    ladder_of,
    make_engine,
    place,
    position,
    price,
    signed,
    snapshot,
)

from kalshiflow.domain.orders import BookSide, OrderStatus, UpdateReason
from kalshiflow.sim.errors import ExchangeError

SIDES = pytest.mark.parametrize("side", list(BookSide), ids=lambda s: s.value)


@SIDES
def test_order_below_the_opposite_best_rests_on_its_own_ladder(side: BookSide) -> None:
    engine, _ = make_engine()
    result = place(engine, "alice", side, price("0.40"), count("10"))
    assert result.fills == ()
    assert result.order.status is OrderStatus.RESTING
    assert ladder_of(engine, side) == [(price("0.40"), count("10"))]
    assert ladder_of(engine, side.opposite) == []


@SIDES
def test_resting_order_reserves_cost_plus_taker_fee(side: BookSide) -> None:
    engine, _ = make_engine()
    before = engine.accounts["alice"].balance
    order = place(engine, "alice", side, price("0.40"), count("10")).order
    # 10 x $0.40 + roundup(0.07 x 10 x 0.4 x 0.6) = $4.00 + $0.168
    assert order.reserved == 4_000_000 + 168_000
    assert engine.accounts["alice"].balance == before - order.reserved


@SIDES
def test_crossing_order_executes_at_the_resting_price(side: BookSide) -> None:
    engine, _ = make_engine()
    maker = place(engine, "alice", side, price("0.40"), count("10")).order
    # The taker is willing to pay 0.70 for the other outcome (i.e. it would sell this one at 0.30).
    taker = place(engine, "bob", side.opposite, price("0.70"), count("10"))
    assert [f.count for f in taker.fills] == [count("10")]
    assert taker.fills[0].yes_price == maker.yes_price
    assert taker.fills[0].is_taker
    assert maker.status is OrderStatus.EXECUTED
    assert taker.order.status is OrderStatus.EXECUTED
    assert position(engine, "alice") == signed(side, count("10"))
    assert position(engine, "bob") == -signed(side, count("10"))
    assert ladder_of(engine, side) == []
    assert ladder_of(engine, side.opposite) == []
    # The taker paid the complement of the maker's price, not its own limit.
    bob_pos = engine.accounts["bob"].positions["KXTEST-26JAN01-T50"]
    assert bob_pos.cost == 10 * (1_000_000 - 400_000)


@SIDES
def test_better_price_fills_before_earlier_order(side: BookSide) -> None:
    engine, _ = make_engine()
    early_worse = place(engine, "alice", side, price("0.40"), count("5")).order
    later_better = place(engine, "bob", side, price("0.42"), count("5")).order
    taker = place(engine, "carol", side.opposite, cross_price(price("0.42")), count("5"))
    assert [f.order_id for f in taker.fills] == [taker.order.order_id]
    assert later_better.status is OrderStatus.EXECUTED
    assert early_worse.status is OrderStatus.RESTING
    assert early_worse.fill_count == 0


@SIDES
def test_earlier_order_at_the_same_price_fills_first(side: BookSide) -> None:
    engine, _ = make_engine()
    first = place(engine, "alice", side, price("0.40"), count("5")).order
    second = place(engine, "bob", side, price("0.40"), count("5")).order
    place(engine, "carol", side.opposite, cross_price(price("0.40")), count("7"))
    assert (first.fill_count, first.status) == (count("5"), OrderStatus.EXECUTED)
    assert (second.fill_count, second.remaining_count) == (count("2"), count("3"))
    assert ladder_of(engine, side) == [(price("0.40"), count("3"))]


@SIDES
def test_sweep_walks_levels_best_first_and_rests_the_remainder(side: BookSide) -> None:
    engine, _ = make_engine()
    place(engine, "alice", side, price("0.45"), count("2"))
    place(engine, "alice", side, price("0.44"), count("3"))
    place(engine, "alice", side, price("0.40"), count("4"))
    taker = place(engine, "bob", side.opposite, cross_price(price("0.44")), count("10"))
    assert [(f.yes_price, f.count) for f in taker.fills] == [
        (taker.fills[0].yes_price, count("2")),
        (taker.fills[1].yes_price, count("3")),
    ]
    assert taker.order.status is OrderStatus.RESTING
    assert taker.order.remaining_count == count("5")
    assert ladder_of(engine, side.opposite) == [(cross_price(price("0.44")), count("5"))]
    assert ladder_of(engine, side) == [(price("0.40"), count("4"))]
    assert not engine.books["KXTEST-26JAN01-T50"].is_crossed()


@SIDES
def test_fractional_counts_fill_partially(side: BookSide) -> None:
    engine, _ = make_engine()
    maker = place(engine, "alice", side, price("0.50"), count("2.50")).order
    taker = place(engine, "bob", side.opposite, price("0.50"), count("0.75"))
    assert taker.fills[0].count == count("0.75")
    assert maker.remaining_count == count("1.75")
    assert position(engine, "bob") == -signed(side, count("0.75"))


@SIDES
def test_fill_or_kill_without_enough_liquidity_fills_nothing(side: BookSide) -> None:
    engine, _ = make_engine()
    maker = place(engine, "alice", side, price("0.40"), count("5")).order
    bob_before = engine.accounts["bob"].balance
    result = place(engine, "bob", side.opposite, price("0.60"), count("6"), tif=FOK)
    assert result.fills == ()
    assert result.order.status is OrderStatus.CANCELED
    assert result.order.remaining_count == 0
    assert maker.remaining_count == count("5")
    assert engine.accounts["bob"].balance == bob_before
    assert ladder_of(engine, side.opposite) == []


@SIDES
def test_fill_or_kill_with_enough_liquidity_fills_completely(side: BookSide) -> None:
    engine, _ = make_engine()
    place(engine, "alice", side, price("0.40"), count("3"))
    place(engine, "carol", side, price("0.39"), count("3"))
    result = place(engine, "bob", side.opposite, cross_price(price("0.39")), count("6"), tif=FOK)
    assert sum(f.count for f in result.fills) == count("6")
    assert result.order.status is OrderStatus.EXECUTED


@SIDES
def test_immediate_or_cancel_remainder_is_cancelled(side: BookSide) -> None:
    engine, _ = make_engine()
    place(engine, "alice", side, price("0.40"), count("4"))
    result = place(engine, "bob", side.opposite, price("0.60"), count("10"), tif=IOC)
    assert sum(f.count for f in result.fills) == count("4")
    assert result.order.status is OrderStatus.CANCELED
    assert result.order.remaining_count == 0
    assert result.order.reserved == 0
    assert ladder_of(engine, side.opposite) == []


@SIDES
def test_post_only_that_would_cross_is_rejected_and_changes_nothing(side: BookSide) -> None:
    engine, _ = make_engine()
    place(engine, "alice", side, price("0.40"), count("5"))
    before = snapshot(engine)
    with pytest.raises(ExchangeError) as rejected:
        place(engine, "bob", side.opposite, price("0.60"), count("5"), post_only=True)
    assert (rejected.value.status, rejected.value.code, rejected.value.details) == (
        400,
        "invalid_order",
        "post only cross",
    )
    assert snapshot(engine) == before


@SIDES
def test_post_only_that_does_not_cross_rests(side: BookSide) -> None:
    engine, _ = make_engine()
    place(engine, "alice", side, price("0.40"), count("5"))
    result = place(engine, "bob", side.opposite, price("0.59"), count("5"), post_only=True)
    assert result.order.status is OrderStatus.RESTING
    assert result.fills == ()


@SIDES
def test_self_trade_taker_at_cross_cancels_incoming_and_keeps_earlier_fills(side: BookSide) -> None:
    engine, _ = make_engine()
    other = place(engine, "bob", side, price("0.45"), count("2")).order
    own = place(engine, "alice", side, price("0.44"), count("3")).order
    result = place(
        engine, "alice", side.opposite, cross_price(price("0.40")), count("10"), stp=TAKER_AT_CROSS
    )
    assert [f.count for f in result.fills] == [count("2")]
    assert other.status is OrderStatus.EXECUTED
    assert result.order.status is OrderStatus.CANCELED
    assert result.order.last_update_reason is UpdateReason.SELF_TRADE_CANCEL
    assert own.status is OrderStatus.RESTING
    assert own.remaining_count == count("3")
    assert ladder_of(engine, side.opposite) == []


@SIDES
def test_self_trade_maker_cancels_resting_own_order_and_keeps_matching(side: BookSide) -> None:
    engine, _ = make_engine()
    own = place(engine, "alice", side, price("0.45"), count("3")).order
    other = place(engine, "bob", side, price("0.44"), count("4")).order
    result = place(engine, "alice", side.opposite, cross_price(price("0.44")), count("4"), stp=MAKER)
    assert own.status is OrderStatus.CANCELED
    assert own.last_update_reason is UpdateReason.SELF_TRADE_CANCEL
    assert [f.count for f in result.fills] == [count("4")]
    assert other.status is OrderStatus.EXECUTED
    assert result.order.status is OrderStatus.EXECUTED
    assert ladder_of(engine, side) == []


@SIDES
def test_execution_prices_on_a_sub_cent_grid_stay_exact(side: BookSide) -> None:
    engine, _ = make_engine(grid="deci_cent")
    maker = place(engine, "alice", side, price("0.403"), count("1.5")).order
    result = place(engine, "bob", side.opposite, price("0.597"), count("1.5"))
    assert result.fills[0].yes_price == maker.yes_price
    alice_cost = engine.accounts["alice"].positions["KXTEST-26JAN01-T50"].cost
    assert alice_cost == 4_030 * 150  # $0.403 x 1.5 contracts, exact


def test_trade_ids_pair_one_maker_and_one_taker_fill() -> None:
    engine, _ = make_engine()
    place(engine, "alice", BookSide.BID, price("0.40"), count("5"))
    result = place(engine, "bob", BookSide.ASK, price("0.60"), count("5"))
    (taker_fill,) = result.fills
    (maker_fill,) = engine.accounts["alice"].fills
    assert maker_fill.trade_id == taker_fill.trade_id
    assert (maker_fill.is_taker, taker_fill.is_taker) == (False, True)
    assert engine.trades[-1].trade_id == taker_fill.trade_id
    assert engine.markets["KXTEST-26JAN01-T50"].last_price == price("0.40")


@SIDES
def test_self_crossing_fill_or_kill_keeps_fills_up_to_its_own_order_like_ioc(side: BookSide) -> None:
    engine, _ = make_engine()
    place(engine, "alice", side, price("0.40"), count("3"))
    own = place(engine, "bob", side, price("0.39"), count("3")).order
    result = place(engine, "bob", side.opposite, cross_price(price("0.39")), count("6"), tif=FOK)
    assert sum(f.count for f in result.fills) == count("3")
    assert result.order.status is OrderStatus.CANCELED
    assert result.order.last_update_reason is UpdateReason.SELF_TRADE_CANCEL
    assert own.remaining_count == count("3")


@SIDES
def test_an_expired_resting_order_never_trades_even_before_the_next_tick(side: BookSide) -> None:
    engine, clock = make_engine()
    expiring = place(
        engine, "alice", side, price("0.40"), count("3"), expiration_ms=clock.now_ms() + 1000
    ).order
    clock.advance(2)  # no lifecycle.advance: the matching path itself must notice
    result = place(engine, "bob", side.opposite, cross_price(price("0.40")), count("3"), tif=IOC)
    assert result.fills == ()
    assert expiring.status is OrderStatus.CANCELED
    assert expiring.last_update_reason is UpdateReason.EXPIRY_CANCEL
