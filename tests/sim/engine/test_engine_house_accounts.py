"""House accounts (``EngineCore.house_accounts``, a recording's tape): the exchange runs them, so
their cash is unlimited (no reservation, every fill covered), their order, fill and position events
reach no listener and they keep no history; the book changes and trades they cause are reported as
anyone's, and the other side of a trade with them is reported and booked exactly as with a regular
account."""

from __future__ import annotations

import pytest
from tests.sim.engine.engine_kit import TICKER, count, cross_price, make_engine, place, price

from kalshiflow.domain.orders import BookSide
from kalshiflow.sim.events import BookDelta, EngineEvent, FillEvent, OrderEvent, PositionEvent, TradeEvent

PRIVATE = (OrderEvent, FillEvent, PositionEvent)


def _owner(event: EngineEvent) -> str | None:
    if isinstance(event, OrderEvent):
        return event.order.account_id
    if isinstance(event, FillEvent):
        return event.fill.account_id
    if isinstance(event, PositionEvent):
        return event.account_id
    return None


@pytest.mark.parametrize("house", [False, True], ids=["regular", "house"])
def test_a_house_account_reserves_nothing_and_reports_nothing_private(house: bool) -> None:
    engine, _ = make_engine()
    if house:
        engine.house_accounts.add("alice")
    events: list[EngineEvent] = []
    engine.add_listener(events.append)
    before = engine.accounts["alice"].balance
    resting = place(engine, "alice", BookSide.BID, price("0.40"), count("5")).order
    assert (resting.reserved == 0) is house
    assert (engine.accounts["alice"].balance == before) is house
    place(engine, "bob", BookSide.ASK, cross_price(price("0.40")), count("2"))  # bob takes 2 of alice's 5
    engine.decrease_order("alice", resting.order_id, count("1"), None)
    engine.cancel_order("alice", resting.order_id)

    alice = [e for e in events if _owner(e) == "alice"]
    assert (alice == []) is house
    if not house:
        assert {type(e) for e in alice} == set(PRIVATE)
    bob = [type(e) for e in events if _owner(e) == "bob"]
    assert bob == [OrderEvent, FillEvent, OrderEvent, PositionEvent]  # created, then its fill
    deltas = [(e.delta, e.account_id) for e in events if isinstance(e, BookDelta)]
    assert deltas == [(500, "alice"), (-200, "alice"), (-100, "alice"), (-200, "alice")]
    assert [(e.ticker, e.count) for e in events if isinstance(e, TradeEvent)] == [(TICKER, 200)]
    # Positions and cash of the trade are booked for both sides either way.
    assert engine.accounts["alice"].positions[TICKER].position == 200
    assert engine.accounts["bob"].positions[TICKER].position == -200
    assert engine.accounts["alice"].balance + resting.reserved < before  # alice paid for her 2
    # A house account keeps no history: its finished orders, fills and client ids are forgotten.
    alice_account = engine.accounts["alice"]
    assert (resting.order_id in engine.orders) is not house
    assert (alice_account.order_ids == [] and alice_account.fills == []) is house
    assert (alice_account.client_order_ids == set()) is house


def test_a_house_account_is_never_short_of_cash() -> None:
    engine, _ = make_engine(balance=0)
    engine.house_accounts.add("alice")
    engine.accounts["bob"].balance = 10**12
    resting = place(engine, "bob", BookSide.ASK, price("0.40"), count("5")).order
    taken = place(engine, "alice", BookSide.BID, cross_price(price("0.40")), count("5"))
    assert [f.count for f in taken.fills] == [500]
    assert not resting.is_resting
    assert engine.accounts["alice"].balance < 0  # the house paid with cash it does not hold
