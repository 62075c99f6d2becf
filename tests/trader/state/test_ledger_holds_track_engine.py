"""The cash the ledger holds back for each live order equals what the exchange holds, at every rest.

A difference there is not lost money, but calibration cannot tell it from lost money: it takes the
exchange's balance and reports the difference as cash drift, and when the order ends each side
releases its own hold, so the same difference comes back reversed (a 20-hour soak showed +$0.0278
then -$0.0278: one contract at $0.026 plus its taker fee, held by the ledger and not by the
exchange). These tests drive the real engine and a real ledger fed by the engine's own events
through the moves that change a hold -- reduce-only closes, a fill changing the closing room while
an order is on its way, decreases and amends -- and compare after every step.
"""

from __future__ import annotations

import pytest
from tests.sim.engine.engine_kit import TICKER
from tests.trader.state.holds_walk import ALL_MOVES, Moves, counterparty, mismatch, new_pair, send, walk
from tests.trader.state.ledger_walk import TRADER

from kalshiflow.domain.orders import BookSide
from kalshiflow.sim.engine import Engine
from kalshiflow.trader.state.ledger import Ledger

BID, ASK = BookSide.BID, BookSide.ASK


def _hold_one_yes() -> tuple[Engine, Ledger]:
    """A pair where the trader holds +1 YES (bought at $0.40 from a resting counterparty)."""
    engine, ledger = new_pair()
    engine.create_order("bob", counterparty(ASK, 4000, 100))
    send(engine, ledger, "buy", BID, 4000, 100)
    assert ledger.position(TICKER).position == 100
    return engine, ledger


def test_a_fill_during_the_send_that_makes_an_order_closing_leaves_no_hold_on_either_side() -> None:
    # The soak's case. The trader rests an ask (buy NO) for 1; then records a bid for 1, and before
    # that bid arrives, the ask fills: on arrival the bid closes the NO just bought, so the exchange
    # holds nothing for it -- the ledger, which recorded it while flat, held its full cost.
    engine, ledger = new_pair()
    send(engine, ledger, "ask", ASK, 7400, 100)  # buys NO at $0.26 if a YES buyer comes
    send(engine, ledger, "bid", BID, 2600, 100, in_flight=[counterparty(BID, 7400, 100)])
    assert ledger.position(TICKER).position == -100
    exchange_bid = next(o for o in engine.orders.values() if o.client_order_id == "bid")
    assert exchange_bid.is_resting
    assert exchange_bid.reserved == 0
    assert mismatch(engine, ledger, 0, "raced bid") is None
    # Once it fills, both sides release the same (nothing), so no difference appears either.
    engine.create_order("carol", counterparty(ASK, 2600, 100))
    assert ledger.position(TICKER).position == 0
    assert mismatch(engine, ledger, 1, "bid filled") is None


def test_a_fill_after_the_arrival_seen_before_the_answer_does_not_change_the_hold() -> None:
    # The answer's race: the bid arrives while the trader is flat (the exchange holds its cost);
    # a second later the resting ask fills, and that fill reaches the ledger before the bid's
    # answer. The ledger re-takes the hold as of the arrival, not as of the answer.
    engine, ledger = new_pair()
    send(engine, ledger, "ask", ASK, 7400, 100)
    send(engine, ledger, "bid", BID, 2600, 100, answer_after=[counterparty(BID, 7400, 100)])
    assert ledger.position(TICKER).position == -100
    exchange_bid = next(o for o in engine.orders.values() if o.client_order_id == "bid")
    assert exchange_bid.reserved > 0
    assert mismatch(engine, ledger, 0, "late answer") is None


def test_a_reduce_only_close_behind_an_order_on_its_side_holds_nothing_on_the_exchange() -> None:
    # +1 YES held, an ordinary ask for 1 already claims the closing room; a reduce-only close for 1
    # can never open exposure, so neither side holds anything for it.
    engine, ledger = _hold_one_yes()
    send(engine, ledger, "ask", ASK, 6000, 100)
    send(engine, ledger, "close", ASK, 5500, 100, reduce_only=True)
    exchange_close = next(o for o in engine.orders.values() if o.client_order_id == "close")
    assert exchange_close.is_resting
    assert exchange_close.reserved == 0
    assert mismatch(engine, ledger, 0, "close") is None


def test_a_decrease_frees_the_same_part_of_the_hold_on_both_sides() -> None:
    engine, ledger = new_pair()
    send(engine, ledger, "bid", BID, 4000, 300)
    order_id = ledger.orders["bid"].order_id
    assert order_id is not None
    engine.decrease_order(TRADER, order_id, 100, None)
    assert mismatch(engine, ledger, 0, "decrease") is None
    engine.create_order("bob", counterparty(ASK, 4000, 100))  # a partial fill after the decrease
    assert mismatch(engine, ledger, 1, "fill") is None


def test_an_amend_back_up_after_a_decrease_re_reserves_on_both_sides() -> None:
    # The exchange keeps a decreased order's initial count, so only the remainder shows the growth.
    engine, ledger = new_pair()
    send(engine, ledger, "bid", BID, 4000, 300)
    order_id = ledger.orders["bid"].order_id
    assert order_id is not None
    engine.decrease_order(TRADER, order_id, 100, None)
    engine.amend_order(TRADER, order_id, TICKER, BID, 4000, 300)  # same price, initial count unchanged
    assert mismatch(engine, ledger, 0, "amend up") is None


@pytest.mark.parametrize(
    "moves",
    [
        Moves(reduce_only=True),
        Moves(race=True),
        Moves(race=True, late_answer=True),
        Moves(decrease=True),
        Moves(amend=True),
        ALL_MOVES,
    ],
    ids=["reduce_only", "race", "late_answer", "decrease", "amend", "all"],
)
@pytest.mark.parametrize("seed", range(8))
def test_ledger_holds_and_cash_equal_the_exchange_after_every_step(moves: Moves, seed: int) -> None:
    assert walk(seed, moves) is None
