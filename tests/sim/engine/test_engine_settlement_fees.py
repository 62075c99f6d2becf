"""Market close, determination and settlement; trading fees; balance-precision rounding; known bugs."""

from __future__ import annotations

import pytest
from tests.sim.engine.engine_kit import (
    IOC,
    TICKER,
    count,
    dollars,
    ladder_of,
    make_engine,
    place,
    position,
    price,
    signed,
)

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.orders import BookSide, OrderStatus, UpdateReason
from kalshiflow.domain.settlement import MarketResult
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.state import MarketStatus

SIDES = pytest.mark.parametrize("side", list(BookSide), ids=lambda s: s.value)


def _money_in_the_system(engine: Engine) -> int:
    reserved = sum(o.reserved for o in engine.orders.values() if o.is_resting)
    escrow = sum(max(0, p.position) for a in engine.accounts.values() for p in a.positions.values()) * 10_000
    return sum(a.balance for a in engine.accounts.values()) + reserved + engine.fees_collected + escrow


def _settle(engine: Engine, result: MarketResult) -> None:
    lifecycle.determine(engine, TICKER, result)
    clock = engine.clock
    assert hasattr(clock, "advance")
    clock.advance(60)
    lifecycle.advance(engine, clock.now_ms())


# ----------------------------------------------------------------- close and settlement
@SIDES
def test_market_close_cancels_resting_orders_and_frees_cash(side: BookSide) -> None:
    engine, clock = make_engine()
    start = engine.accounts["alice"].balance
    order = place(engine, "alice", side, price("0.40"), count("5")).order
    clock.advance(3_600)
    lifecycle.advance(engine, clock.now_ms())
    assert engine.markets[TICKER].status is MarketStatus.CLOSED
    assert order.status is OrderStatus.CANCELED
    assert order.last_update_reason is UpdateReason.CLOSE_CANCEL
    assert engine.accounts["alice"].balance == start
    assert ladder_of(engine, side) == []
    with pytest.raises(ExchangeError) as closed:
        engine.cancel_order("alice", order.order_id)
    assert closed.value.status == 404


@SIDES
@pytest.mark.parametrize("result", [MarketResult.YES, MarketResult.NO])
def test_settlement_pays_one_dollar_per_winning_contract(side: BookSide, result: MarketResult) -> None:
    engine, _ = make_engine()
    place(engine, "bob", side.opposite, price("0.60"), count("10"))
    place(engine, "alice", side, price("0.40"), count("10"), tif=IOC)
    alice_before = engine.accounts["alice"].balance
    bob_before = engine.accounts["bob"].balance
    _settle(engine, result)
    alice_wins = (side is BookSide.BID) == (result is MarketResult.YES)
    winner, loser = ("alice", "bob") if alice_wins else ("bob", "alice")
    winner_before, loser_before = (alice_before, bob_before) if alice_wins else (bob_before, alice_before)
    assert engine.accounts[winner].balance == winner_before + dollars("10")
    assert engine.accounts[loser].balance == loser_before
    assert engine.markets[TICKER].status is MarketStatus.FINALIZED
    assert TICKER not in engine.accounts["alice"].positions
    (row,) = engine.accounts[winner].settlements
    assert row.revenue == dollars("10")
    assert row.result is result
    assert _money_in_the_system(engine) == engine.deposits


@SIDES
def test_void_refunds_each_holder_its_cost(side: BookSide) -> None:
    engine, _ = make_engine()
    place(engine, "bob", side.opposite, price("0.60"), count("10"))
    place(engine, "alice", side, price("0.40"), count("10"), tif=IOC)
    alice_before = engine.accounts["alice"].balance
    bob_before = engine.accounts["bob"].balance
    _settle(engine, MarketResult.VOID)
    assert engine.accounts["alice"].balance == alice_before + dollars("4")
    assert engine.accounts["bob"].balance == bob_before + dollars("6")


@SIDES
def test_only_the_net_position_settles(side: BookSide) -> None:
    engine, _ = make_engine()
    # alice buys 10 of her outcome at 0.40, then sells 4 back at 0.55 (buys the other outcome at 0.45).
    place(engine, "bob", side.opposite, price("0.60"), count("10"))
    place(engine, "alice", side, price("0.40"), count("10"), tif=IOC)
    place(engine, "carol", side, price("0.55"), count("4"))
    place(engine, "alice", side.opposite, price("0.45"), count("4"), tif=IOC)
    assert position(engine, "alice") == signed(side, count("6"))
    before = engine.accounts["alice"].balance
    _settle(engine, MarketResult.YES if side is BookSide.BID else MarketResult.NO)
    assert engine.accounts["alice"].balance == before + dollars("6")


# ----------------------------------------------------------------- fees
@SIDES
@pytest.mark.parametrize(
    ("fee_type", "maker_fee"),
    [
        (FeeType.QUADRATIC, 0),
        (FeeType.QUADRATIC_WITH_MAKER_FEES, 42_000),  # roundup(0.0175 x 10 x 0.4 x 0.6) = $0.0420
    ],
)
def test_taker_pays_taker_fee_and_maker_pays_only_on_maker_fee_series(
    side: BookSide, fee_type: FeeType, maker_fee: int
) -> None:
    engine, _ = make_engine(fee_type=fee_type)
    maker = place(engine, "alice", side, price("0.40"), count("10")).order
    taker = place(engine, "bob", side.opposite, price("0.60"), count("10"), tif=IOC)
    (taker_fill,) = taker.fills
    (maker_fill,) = engine.accounts["alice"].fills
    assert taker_fill.fee == 168_000  # roundup(0.07 x 10 x 0.4 x 0.6) = $0.1680
    assert maker_fill.fee == maker_fee
    assert taker.order.taker_fees == 168_000
    assert maker.maker_fees == maker_fee
    assert engine.fees_collected == 168_000 + maker_fee
    # Cash moved exactly: price plus fee, nothing else.
    assert engine.accounts["bob"].balance == dollars("1000") - dollars("6") - 168_000
    assert engine.accounts["alice"].balance == dollars("1000") - dollars("4") - maker_fee
    assert _money_in_the_system(engine) == engine.deposits


def test_fee_rounds_up_to_a_hundredth_of_a_cent() -> None:
    engine, _ = make_engine()
    place(engine, "alice", BookSide.BID, price("0.50"), count("1"))
    (fill,) = place(engine, "bob", BookSide.ASK, price("0.50"), count("1")).fills
    assert fill.fee == 17_500  # 0.07 x 0.25 = $0.0175 exactly
    place(engine, "alice", BookSide.BID, price("0.33"), count("1"))
    (fill,) = place(engine, "bob", BookSide.ASK, price("0.67"), count("1")).fills
    assert fill.fee == 15_500  # 0.07 x 0.33 x 0.67 = $0.015477 -> $0.0155


# ----------------------------------------------------------------- balance precision
def test_cent_precision_account_floors_cash_and_charges_a_rounding_fee() -> None:
    engine, _ = make_engine(grid="deci_cent", accounts=("bob",))
    engine.add_account("carol", dollars("100"), balance_precision=10_000)
    place(engine, "bob", BookSide.ASK, price("0.597"), count("1"))
    result = place(engine, "carol", BookSide.BID, price("0.403"), count("1"), tif=IOC)
    (fill,) = result.fills
    assert fill.fee == 16_900  # roundup(0.07 x 0.403 x 0.597 = 0.016841) = $0.0169
    # exact change -$0.4199, floored to the cent: -$0.42, rounding fee $0.0001
    assert engine.accounts["carol"].balance == dollars("100") - dollars("0.42")
    assert result.order.rounding_accumulator == 100
    assert _money_in_the_system(engine) == engine.deposits


def test_rounding_accumulator_pays_back_a_cent_once_it_reaches_one() -> None:
    engine, _ = make_engine(grid="deci_cent", accounts=("bob",))
    engine.add_account("carol", dollars("100"), balance_precision=10_000)
    order = place(engine, "carol", BookSide.BID, price("0.403"), count("2")).order  # maker: no fee
    place(engine, "bob", BookSide.ASK, price("0.597"), count("1"), tif=IOC)
    # -$0.403 floors to -$0.41: rounding $0.007 accumulates
    assert order.rounding_accumulator == 7_000
    place(engine, "bob", BookSide.ASK, price("0.597"), count("1"), tif=IOC)
    # second fill: another $0.007 -> $0.014: a $0.01 rebate is paid, $0.004 stays
    assert order.rounding_accumulator == 4_000
    assert order.status is OrderStatus.EXECUTED
    assert engine.accounts["carol"].balance == dollars("100") - dollars("0.41") - dollars("0.40")
    assert engine.accounts["carol"].balance % 10_000 == 0
    assert _money_in_the_system(engine) == engine.deposits


# ----------------------------------------------------------------- reservations
@SIDES
def test_order_that_closes_then_opens_never_drives_the_balance_negative(side: BookSide) -> None:
    engine, _ = make_engine(tickers=(TICKER, "KXOTHER-26JAN01-T1"))
    place(engine, "bob", side.opposite, price("0.50"), count("4"))
    place(engine, "alice", side, price("0.50"), count("4"))  # alice holds 4
    # Sell 10: 4 close the holding, 6 open the other outcome; only the 6 are reserved.
    place(engine, "alice", side.opposite, price("0.50"), count("10"))
    place(engine, "carol", side, price("0.50"), count("4"), tif=IOC)  # takes the closing 4 ...
    # ... which released 4/10 of the reservation although it was all for the opening 6.
    free = engine.accounts["alice"].balance
    size = free // 100 - 100
    while True:  # spend everything that now looks free on a far-away bid elsewhere
        try:
            place(engine, "alice", side, price("0.01"), size, ticker="KXOTHER-26JAN01-T1")
            break
        except ExchangeError:
            size -= 100
    place(engine, "carol", side, price("0.50"), count("6"), tif=IOC)  # the opening 6 fill
    assert position(engine, "alice") == signed(side.opposite, count("6"))
    assert engine.accounts["alice"].balance >= 0


@SIDES
def test_resting_closing_order_whose_position_is_closed_elsewhere_is_margin_cancelled(side: BookSide) -> None:
    engine, _ = make_engine(tickers=(TICKER, "KXOTHER-26JAN01-T1"))
    place(engine, "bob", side.opposite, price("0.50"), count("4"))
    place(engine, "alice", side, price("0.50"), count("4"))  # alice holds 4
    closing = place(engine, "alice", side.opposite, price("0.40"), count("4")).order
    assert closing.reserved == 0  # it only closes the holding
    place(engine, "carol", side, price("0.55"), count("4"))
    place(engine, "alice", side.opposite, price("0.45"), count("4"), tif=IOC)  # closes the holding instead
    assert position(engine, "alice") == 0
    free = engine.accounts["alice"].balance
    size = free // 100 - 100
    while True:
        try:
            place(engine, "alice", side, price("0.01"), size, ticker="KXOTHER-26JAN01-T1")
            break
        except ExchangeError:
            size -= 100
    place(engine, "carol", side, price("0.60"), count("4"), tif=IOC)  # would open 4 unpaid for
    assert closing.status is OrderStatus.CANCELED
    assert closing.last_update_reason is UpdateReason.MARGIN_CANCEL
    assert position(engine, "alice") == 0
    assert engine.accounts["alice"].balance >= 0
