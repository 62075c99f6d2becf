"""Order rules: reduce-only, expiration, amend, decrease, cancel, cancel-all and request validation.

A rejected request raises ``ExchangeError`` and leaves balances, orders and books exactly as they
were; every rejection test compares a snapshot of the state before and after.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.sim.engine.engine_kit import (
    FOK,
    IOC,
    TICKER,
    count,
    cross_price,
    ladder_of,
    make_engine,
    place,
    position,
    price,
    signed,
    snapshot,
    yes_price,
)

from kalshiflow.domain.orders import BookSide, OrderStatus, TimeInForce, UpdateReason
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.errors import ExchangeError

SIDES = pytest.mark.parametrize("side", list(BookSide), ids=lambda s: s.value)


def _hold(engine: Engine, account: str, side: BookSide, size: int) -> None:
    """Give ``account`` a position in ``side``'s outcome, bought from carol at $0.50."""
    place(engine, "carol", side.opposite, price("0.50"), size)
    place(engine, account, side, price("0.50"), size)


def _rejected(engine: Engine, action: Callable[[], object]) -> ExchangeError:
    before = snapshot(engine)
    with pytest.raises(ExchangeError) as caught:
        action()
    assert snapshot(engine) == before, "a rejected request changed the state"
    return caught.value


# ----------------------------------------------------------------- reduce-only
@SIDES
def test_reduce_only_is_capped_to_the_position(side: BookSide) -> None:
    engine, _ = make_engine()
    _hold(engine, "alice", side, count("3"))
    # Selling the outcome = buying the other one; reduce_only caps 10 to the 3 held.
    result = place(engine, "alice", side.opposite, price("0.40"), count("10"), reduce_only=True)
    assert result.order.initial_count == count("3")
    assert result.order.reserved == 0
    assert ladder_of(engine, side.opposite) == [(price("0.40"), count("3"))]


@SIDES
def test_reduce_only_behind_an_order_claiming_the_closing_room_holds_no_cash(side: BookSide) -> None:
    # An ordinary order already claims the 3 held, so the close would have no closing room left if it
    # were an ordinary order; but a reduce-only order can never open exposure: it holds nothing.
    engine, _ = make_engine()
    _hold(engine, "alice", side, count("3"))
    place(engine, "alice", side.opposite, price("0.40"), count("3"))
    before = engine.accounts["alice"].balance
    close = place(engine, "alice", side.opposite, price("0.30"), count("3"), reduce_only=True)
    assert close.order.is_resting
    assert close.order.reserved == 0
    assert engine.accounts["alice"].balance == before


@SIDES
def test_reduce_only_without_a_position_to_reduce_is_rejected(side: BookSide) -> None:
    engine, _ = make_engine()
    _hold(engine, "alice", side, count("3"))
    # Buying more of what alice holds would not reduce it.
    error = _rejected(
        engine, lambda: place(engine, "alice", side, price("0.40"), count("1"), reduce_only=True)
    )
    assert (error.status, error.details) == (400, "reduce only")
    error = _rejected(engine, lambda: place(engine, "bob", side, price("0.40"), count("1"), reduce_only=True))
    assert error.status == 400


@SIDES
def test_reduce_only_counts_resting_reduce_only_orders(side: BookSide) -> None:
    engine, _ = make_engine()
    _hold(engine, "alice", side, count("3"))
    place(engine, "alice", side.opposite, price("0.40"), count("2"), reduce_only=True)
    second = place(engine, "alice", side.opposite, price("0.40"), count("5"), reduce_only=True)
    assert second.order.initial_count == count("1")
    _rejected(
        engine,
        lambda: place(engine, "alice", side.opposite, price("0.40"), count("1"), reduce_only=True),
    )


@SIDES
def test_reduce_only_taker_never_flips_the_position(side: BookSide) -> None:
    engine, _ = make_engine()
    _hold(engine, "alice", side, count("3"))
    place(engine, "bob", side, price("0.55"), count("10"))
    result = place(
        engine, "alice", side.opposite, cross_price(price("0.55")), count("10"), reduce_only=True, tif=IOC
    )
    assert sum(f.count for f in result.fills) == count("3")
    assert position(engine, "alice") == 0


@SIDES
def test_resting_reduce_only_maker_is_cancelled_once_the_position_is_gone(side: BookSide) -> None:
    engine, _ = make_engine()
    _hold(engine, "alice", side, count("3"))
    resting = place(engine, "alice", side.opposite, price("0.40"), count("3"), reduce_only=True).order
    # alice closes the position with another (non reduce-only) order first ...
    place(engine, "bob", side, price("0.45"), count("3"))
    place(engine, "alice", side.opposite, cross_price(price("0.45")), count("3"), tif=IOC)
    assert position(engine, "alice") == 0
    # ... so a taker reaching her reduce-only order cancels it instead of flipping her.
    taker = place(engine, "bob", side, cross_price(price("0.40")), count("3"), tif=IOC)
    assert taker.fills == ()
    assert resting.status is OrderStatus.CANCELED
    assert resting.last_update_reason is UpdateReason.REDUCE_ONLY_CANCEL
    assert position(engine, "alice") == 0


# ----------------------------------------------------------------- expiration
@SIDES
def test_order_is_cancelled_at_its_expiration(side: BookSide) -> None:
    engine, clock = make_engine()
    expires = clock.now_ms() + 30_000
    order = place(engine, "alice", side, price("0.40"), count("5"), expiration_ms=expires).order
    reserved = order.reserved
    balance = engine.accounts["alice"].balance
    clock.advance(29.999)
    lifecycle.advance(engine, clock.now_ms())
    assert order.is_resting
    clock.advance(0.001)
    lifecycle.advance(engine, clock.now_ms())
    assert order.status is OrderStatus.CANCELED
    assert order.last_update_reason is UpdateReason.EXPIRY_CANCEL
    assert engine.accounts["alice"].balance == balance + reserved
    assert ladder_of(engine, side) == []


@pytest.mark.parametrize("tif", [IOC, FOK], ids=lambda t: t.value)
def test_expiration_is_only_allowed_with_good_till_canceled(tif: TimeInForce) -> None:
    engine, clock = make_engine()
    _rejected(
        engine,
        lambda: place(
            engine,
            "alice",
            BookSide.BID,
            price("0.40"),
            count("1"),
            tif=tif,
            expiration_ms=clock.now_ms() + 1,
        ),
    )


def test_expiration_in_the_past_is_rejected() -> None:
    engine, clock = make_engine()
    error = _rejected(
        engine,
        lambda: place(engine, "alice", BookSide.BID, price("0.40"), count("1"), expiration_ms=clock.now_ms()),
    )
    assert error.status == 400


# ----------------------------------------------------------------- amend
@SIDES
def test_amend_to_a_new_price_loses_time_priority(side: BookSide) -> None:
    engine, _ = make_engine()
    first = place(engine, "alice", side, price("0.41"), count("5")).order
    second = place(engine, "bob", side, price("0.40"), count("5")).order
    engine.amend_order("alice", first.order_id, TICKER, side, yes_price(side, price("0.40")), count("5"))
    assert ladder_of(engine, side) == [(price("0.40"), count("10"))]
    place(engine, "carol", side.opposite, cross_price(price("0.40")), count("5"))
    assert second.status is OrderStatus.EXECUTED
    assert first.remaining_count == count("5")
    assert first.last_update_reason is UpdateReason.AMEND


@SIDES
def test_amend_that_only_decreases_size_keeps_time_priority(side: BookSide) -> None:
    engine, _ = make_engine()
    first = place(engine, "alice", side, price("0.40"), count("5")).order
    second = place(engine, "bob", side, price("0.40"), count("5")).order
    reserved = first.reserved
    engine.amend_order("alice", first.order_id, TICKER, side, first.yes_price, count("3"))
    assert first.remaining_count == count("3")
    assert first.reserved < reserved
    place(engine, "carol", side.opposite, cross_price(price("0.40")), count("3"))
    assert first.status is OrderStatus.EXECUTED
    assert second.remaining_count == count("5")


@SIDES
def test_amend_that_crosses_trades_immediately(side: BookSide) -> None:
    engine, _ = make_engine()
    other = place(engine, "bob", side.opposite, price("0.55"), count("4")).order
    mine = place(engine, "alice", side, price("0.40"), count("6")).order
    result = engine.amend_order(
        "alice", mine.order_id, TICKER, side, yes_price(side, cross_price(price("0.55"))), count("6")
    )
    assert [f.count for f in result.fills] == [count("4")]
    assert other.status is OrderStatus.EXECUTED
    assert mine.remaining_count == count("2")
    assert ladder_of(engine, side) == [(cross_price(price("0.55")), count("2"))]
    assert position(engine, "alice") == signed(side, count("4"))


@SIDES
def test_amend_with_mismatched_side_or_ticker_or_size_is_rejected(side: BookSide) -> None:
    engine, _ = make_engine()
    order = place(engine, "alice", side, price("0.40"), count("5")).order
    assert (
        _rejected(
            engine, lambda: engine.amend_order("alice", order.order_id, TICKER, side.opposite, 4000, 500)
        ).code
        == "order_side_mismatch"
    )
    assert (
        _rejected(engine, lambda: engine.amend_order("alice", order.order_id, "KXNOPE", side, 4000, 500)).code
        == "order_ticker_mismatch"
    )
    assert (
        _rejected(engine, lambda: engine.amend_order("alice", order.order_id, TICKER, side, 4000, 0)).status
        == 400
    )
    assert _rejected(
        engine, lambda: engine.amend_order("alice", order.order_id, TICKER, side, 4050, 500)
    ).code == ("invalid_price")
    assert (
        _rejected(engine, lambda: engine.amend_order("bob", order.order_id, TICKER, side, 4000, 500)).status
        == 404
    )


# ----------------------------------------------------------------- decrease and cancel
@SIDES
@pytest.mark.parametrize("how", ["reduce_by", "reduce_to"])
def test_decrease_shrinks_in_place_and_releases_cash(side: BookSide, how: str) -> None:
    engine, _ = make_engine()
    order = place(engine, "alice", side, price("0.40"), count("10")).order
    balance = engine.accounts["alice"].balance
    reserved = order.reserved
    if how == "reduce_by":
        engine.decrease_order("alice", order.order_id, count("4"), None)
    else:
        engine.decrease_order("alice", order.order_id, None, count("6"))
    assert order.remaining_count == count("6")
    assert order.last_update_reason is UpdateReason.DECREASE
    assert ladder_of(engine, side) == [(price("0.40"), count("6"))]
    assert engine.accounts["alice"].balance - balance == reserved - order.reserved > 0


@SIDES
def test_decrease_keeps_time_priority(side: BookSide) -> None:
    engine, _ = make_engine()
    first = place(engine, "alice", side, price("0.40"), count("10")).order
    place(engine, "bob", side, price("0.40"), count("5"))
    engine.decrease_order("alice", first.order_id, count("8"), None)
    place(engine, "carol", side.opposite, cross_price(price("0.40")), count("2"))
    assert first.status is OrderStatus.EXECUTED


@SIDES
@pytest.mark.parametrize(("reduce_by", "reduce_to"), [(1_000, None), (None, 0)])
def test_decrease_to_zero_cancels(side: BookSide, reduce_by: int | None, reduce_to: int | None) -> None:
    engine, _ = make_engine()
    order = place(engine, "alice", side, price("0.40"), count("10")).order
    balance = engine.accounts["alice"].balance + order.reserved
    engine.decrease_order("alice", order.order_id, reduce_by, reduce_to)
    assert order.status is OrderStatus.CANCELED
    assert engine.accounts["alice"].balance == balance
    assert ladder_of(engine, side) == []


@pytest.mark.parametrize(
    ("reduce_by", "reduce_to"),
    [(None, None), (100, 100), (0, None), (-100, None), (1_100, None), (None, 1_000), (None, 2_000)],
)
def test_invalid_decrease_is_rejected(reduce_by: int | None, reduce_to: int | None) -> None:
    engine, _ = make_engine()
    order = place(engine, "alice", BookSide.BID, price("0.40"), count("10")).order
    error = _rejected(engine, lambda: engine.decrease_order("alice", order.order_id, reduce_by, reduce_to))
    assert error.status == 400


@SIDES
def test_cancel_returns_the_remaining_count_and_frees_the_reservation(side: BookSide) -> None:
    engine, _ = make_engine()
    start = engine.accounts["alice"].balance
    order = place(engine, "alice", side, price("0.40"), count("10")).order
    place(engine, "bob", side.opposite, cross_price(price("0.40")), count("4"))
    reduced_by = engine.cancel_order("alice", order.order_id)
    assert reduced_by == count("6")
    assert order.status is OrderStatus.CANCELED
    assert order.reserved == 0
    assert ladder_of(engine, side) == []
    pos = engine.accounts["alice"].positions[TICKER]
    assert engine.accounts["alice"].balance == start - pos.cost - pos.fees_paid
    assert _rejected(engine, lambda: engine.cancel_order("alice", order.order_id)).status == 404


def test_cancel_of_someone_elses_order_is_not_found() -> None:
    engine, _ = make_engine()
    order = place(engine, "alice", BookSide.BID, price("0.40"), count("10")).order
    assert _rejected(engine, lambda: engine.cancel_order("bob", order.order_id)).status == 404


def test_cancel_all_cancels_every_resting_order_of_the_account_only() -> None:
    engine, _ = make_engine(tickers=(TICKER, "KXOTHER-26JAN01-T1"))
    mine = [
        place(engine, "alice", BookSide.BID, price("0.40"), count("1")).order,
        place(engine, "alice", BookSide.ASK, price("0.40"), count("2")).order,
        place(engine, "alice", BookSide.BID, price("0.30"), count("3"), ticker="KXOTHER-26JAN01-T1").order,
    ]
    theirs = place(engine, "bob", BookSide.BID, price("0.41"), count("1")).order
    assert engine.cancel_all("alice") == 3
    assert all(o.status is OrderStatus.CANCELED for o in mine)
    assert theirs.is_resting
    assert engine.accounts["alice"].balance == engine.accounts["carol"].balance
    assert engine.cancel_all("alice") == 0


# ----------------------------------------------------------------- validation
def test_duplicate_client_order_id_is_409() -> None:
    engine, _ = make_engine()
    place(engine, "alice", BookSide.BID, price("0.40"), count("1"), client_order_id="c-1")
    error = _rejected(
        engine, lambda: place(engine, "alice", BookSide.ASK, price("0.40"), count("1"), client_order_id="c-1")
    )
    assert (error.status, error.code) == (409, "order_already_exists")
    # Another account may use the same id.
    place(engine, "bob", BookSide.BID, price("0.40"), count("1"), client_order_id="c-1")


@pytest.mark.parametrize(
    ("grid", "bad_price"),
    [
        ("linear_cent", "0.405"),
        ("linear_cent", "0.0001"),
        ("deci_cent", "0.4005"),
        ("tapered_deci_cent", "0.505"),
        ("linear_cent", "0"),
        ("linear_cent", "1"),
    ],
)
@SIDES
def test_off_grid_price_is_invalid_price(grid: str, bad_price: str, side: BookSide) -> None:
    engine, _ = make_engine(grid=grid)
    error = _rejected(engine, lambda: place(engine, "alice", side, price(bad_price), count("1")))
    assert (error.status, error.code) == (400, "invalid_price")


@pytest.mark.parametrize(("grid", "good_price"), [("deci_cent", "0.405"), ("tapered_deci_cent", "0.055")])
def test_sub_cent_price_on_a_sub_cent_grid_is_accepted(grid: str, good_price: str) -> None:
    engine, _ = make_engine(grid=grid)
    assert place(engine, "alice", BookSide.BID, price(good_price), count("1")).order.is_resting


@pytest.mark.parametrize("size", [0, -100])
def test_non_positive_count_is_rejected(size: int) -> None:
    engine, _ = make_engine()
    error = _rejected(engine, lambda: place(engine, "alice", BookSide.BID, price("0.40"), size))
    assert (error.status, error.code) == (400, "invalid_order_size")


@SIDES
def test_orders_on_a_closed_market_are_409(side: BookSide) -> None:
    engine, clock = make_engine()
    clock.advance(3_600)
    error = _rejected(engine, lambda: place(engine, "alice", side, price("0.40"), count("1")))
    assert (error.status, error.code) == (409, "market_closed")
    lifecycle.advance(engine, clock.now_ms())
    assert _rejected(engine, lambda: place(engine, "alice", side, price("0.40"), count("1"))).status == 409


@SIDES
def test_insufficient_balance_is_rejected(side: BookSide) -> None:
    engine, _ = make_engine(balance=4_000_000)  # $4
    error = _rejected(engine, lambda: place(engine, "alice", side, price("0.40"), count("10")))
    assert (error.status, error.code) == (400, "insufficient_balance")
    # $4 covers 9 contracts at $0.40 plus the fee reservation.
    assert place(engine, "alice", side, price("0.40"), count("9")).order.is_resting


def test_unknown_market_and_account_are_rejected() -> None:
    engine, _ = make_engine()
    assert (
        _rejected(engine, lambda: place(engine, "alice", BookSide.BID, 4000, 100, ticker="KXNOPE")).status
        == 404
    )
    assert _rejected(engine, lambda: place(engine, "mallory", BookSide.BID, 4000, 100)).status == 401


def test_post_only_with_immediate_or_cancel_is_rejected() -> None:
    engine, _ = make_engine()
    _rejected(engine, lambda: place(engine, "alice", BookSide.BID, 4000, 100, post_only=True, tif=IOC))


def test_trading_pause_rejects_orders_but_allows_cancels() -> None:
    engine, _ = make_engine()
    order = place(engine, "alice", BookSide.BID, price("0.40"), count("1")).order
    lifecycle.set_trading_active(engine, False)
    assert (
        _rejected(engine, lambda: place(engine, "alice", BookSide.BID, 4000, 100)).code == "trading_is_paused"
    )
    engine.cancel_order("alice", order.order_id)
    assert order.status is OrderStatus.CANCELED
