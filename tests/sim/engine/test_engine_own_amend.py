"""``Engine.amend_own_resting``: the market model's amend is ``amend_order`` without the checks its
caller has already passed, so it must change the exchange exactly as ``amend_order`` does, and fail
exactly as it does when the market decides (closed, off grid, no size left).

Each case runs the same script on two identically seeded engines, one amending through each entry,
and compares every engine event and the whole state afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.sim.engine.engine_kit import (
    TICKER,
    count,
    cross_price,
    make_engine,
    place,
    price,
    snapshot,
    yes_price,
)

from kalshiflow.clock import ManualClock
from kalshiflow.domain.orders import BookSide
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.events import EngineEvent, OrderEvent
from kalshiflow.sim.state import SimOrder

SIDES = pytest.mark.parametrize("side", list(BookSide), ids=lambda s: s.value)
Amend = Callable[[Engine, SimOrder, int, int], object]


def _public(engine: Engine, order: SimOrder, yes: int, total: int) -> object:
    return engine.amend_order(order.account_id, order.order_id, order.ticker, order.side, yes, total)


def _own(engine: Engine, order: SimOrder, yes: int, total: int) -> object:
    return engine.amend_own_resting(order, yes, total)


def _event_row(event: EngineEvent) -> object:
    if isinstance(event, OrderEvent):  # the order object mutates later: record its state now
        o = event.order
        return (
            "order",
            o.order_id,
            o.yes_price,
            o.remaining_count,
            o.fill_count,
            o.status,
            o.reserved,
            event.reason,
        )
    return repr(event)


def _run(
    amend: Amend, side: BookSide, steps: list[tuple[str, int]]
) -> tuple[list[object], dict[str, object]]:
    """Alice rests an order, Bob rests one against it, then Alice amends it through ``steps``
    ((price as own cents, size in contracts)); returns every event and the final state."""
    engine, _ = make_engine()
    rows: list[object] = []
    engine.add_listener(lambda event: rows.append(_event_row(event)))
    place(engine, "bob", side.opposite, price("0.55"), count("4"))
    mine = place(engine, "alice", side, price("0.40"), count("6")).order
    for own, size in steps:
        try:
            amend(engine, mine, yes_price(side, own), mine.fill_count + count(str(size)))
        except ExchangeError as error:
            rows.append(("rejected", error.status, error.code))
        if not mine.is_resting:
            break
    return rows, snapshot(engine)


@SIDES
@pytest.mark.parametrize(
    "steps",
    [
        [(price("0.42"), 6), (price("0.42"), 3), (price("0.41"), 9)],  # re-price, shrink in place, grow
        [(cross_price(price("0.55")), 6), (price("0.30"), 2)],  # cross Bob: trade, then rest the rest
        [(4050, 6), (price("0.42"), 0), (price("0.43"), 6)],  # off the grid, no size: rejected, then fine
    ],
    ids=["move", "cross", "rejected"],
)
def test_the_own_amend_changes_the_exchange_as_the_public_amend_does(
    side: BookSide, steps: list[tuple[int, int]]
) -> None:
    public_rows, public_state = _run(_public, side, steps)
    own_rows, own_state = _run(_own, side, steps)
    assert own_rows == public_rows
    assert own_state == public_state
    assert len(public_rows) > 6  # the script did happen (orders, deltas and trades were reported)


@SIDES
def test_the_own_amend_is_refused_once_the_market_closed(side: BookSide) -> None:
    engine, clock = make_engine()
    assert isinstance(clock, ManualClock)
    order = place(engine, "alice", side, price("0.40"), count("5")).order
    clock.set_ms(engine.markets[TICKER].close_ms)
    before = snapshot(engine)
    with pytest.raises(ExchangeError) as own:
        engine.amend_own_resting(order, yes_price(side, price("0.41")), count("5"))
    with pytest.raises(ExchangeError) as public:
        _public(engine, order, yes_price(side, price("0.41")), count("5"))
    assert (own.value.status, own.value.code) == (public.value.status, public.value.code)
    assert snapshot(engine) == before
