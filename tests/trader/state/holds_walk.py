"""A random walk of the trader's order life against the real engine, checking the cash each side holds.

``ledger_walk`` covers plain orders sent the instant they are recorded. This walk adds what a live
trader also does and what changes an order's *hold* (the cash the exchange keeps back for the part
that would open exposure): reduce-only closes, amends and decreases of resting orders, and the race
of a send -- the order is recorded in the ledger, then, before it reaches the exchange, a
counterparty fills one of the trader's resting orders (the position, and so the closing room, the
exchange sees on arrival is not the one the ledger saw when it recorded the order). The ledger is
fed only by the engine's events (``ledger_walk.wire``) and by the create's answer.

After every step, everything is quiescent (no send in flight), so the ledger's cash must equal the
exchange's available balance and each live order's hold must equal the exchange's, to the
micro-dollar: a difference there is what calibration would report as cash drift.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field

from tests.sim.engine.engine_kit import TICKER, make_engine
from tests.trader.state.ledger_walk import TRADER, wire

from kalshiflow.clock import ManualClock
from kalshiflow.domain.netting import closable
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Count, Price
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder

GTC = TimeInForce.GOOD_TILL_CANCELED
IOC = TimeInForce.IMMEDIATE_OR_CANCEL
COUNTERPARTIES = ("bob", "carol")


@dataclass(frozen=True, slots=True)
class Moves:
    """Which of the trader's moves the walk makes besides plain sends and cancels."""

    reduce_only: bool = False
    amend: bool = False
    decrease: bool = False
    race: bool = False  # a counterparty trades between the ledger's record and the send
    late_answer: bool = False  # ... or after the send, seen by the ledger before the create's answer


ALL_MOVES = Moves(reduce_only=True, amend=True, decrease=True, race=True, late_answer=True)


@dataclass(slots=True)
class Mismatch:
    """The first step after which the ledger and the exchange disagreed, and how."""

    step: int
    move: str
    cash: int  # ledger cash minus exchange balance
    holds: dict[str, tuple[int, int]] = field(default_factory=dict)  # cid -> (ledger, exchange)


def new_pair() -> tuple[Engine, Ledger]:
    """An engine with one market and three funded accounts, and a ledger in step with the trader's."""
    engine, clock = make_engine(balance=200 * 1_000_000)
    ledger = Ledger()
    ledger.overwrite_cash(engine.accounts[TRADER].balance, clock.now_ms())
    wire(engine, ledger)
    return engine, ledger


def send(
    engine: Engine,
    ledger: Ledger,
    cid: str,
    side: BookSide,
    yes_price: int,
    size: int,
    *,
    tif: TimeInForce = GTC,
    reduce_only: bool = False,
    in_flight: list[OrderRequest] | None = None,
    answer_after: list[OrderRequest] | None = None,
) -> None:
    """Record an order as execution does, let ``in_flight`` counterparty orders reach the exchange
    first (the race of a send), send it, let ``answer_after`` counterparty orders trade a second
    later but reach the ledger before the create's answer (the race of the answer), then apply it."""
    now = engine.clock.now_ms()
    purpose = OrderPurpose.CLOSE if reduce_only else OrderPurpose.OPEN
    ledger.record_pending(
        TrackedOrder(cid, TICKER, side, Price(yes_price), Count(size), purpose, now, reduce_only=reduce_only)
    )
    _counterparties(engine, in_flight)
    req = OrderRequest(
        TICKER, side, yes_price, size, tif, SelfTradePrevention.TAKER_AT_CROSS, cid, reduce_only=reduce_only
    )
    try:
        result = engine.create_order(TRADER, req)
    except ExchangeError as err:
        ledger.on_rejected(cid, err.code, now)
        return
    if answer_after:
        clock = engine.clock
        assert isinstance(clock, ManualClock)
        clock.advance(1.0)
        _counterparties(engine, answer_after)
    order = result.order
    ledger.on_acknowledged(
        cid, order.order_id, Count(order.fill_count), Count(order.remaining_count), now, result.ts_ms
    )


def _counterparties(engine: Engine, orders: list[OrderRequest] | None) -> None:
    for i, req in enumerate(orders or ()):
        with contextlib.suppress(ExchangeError):
            engine.create_order(COUNTERPARTIES[i % 2], req)


def counterparty(side: BookSide, yes_price: int, size: int) -> OrderRequest:
    return OrderRequest(TICKER, side, yes_price, size, GTC, SelfTradePrevention.TAKER_AT_CROSS)


def mismatch(engine: Engine, ledger: Ledger, step: int, move: str) -> Mismatch | None:
    """How the ledger differs from the exchange now (None: cash, holds and live orders all agree)."""
    resting = {
        o.client_order_id: o.reserved
        for o in engine.orders.values()
        if o.account_id == TRADER and o.is_resting
    }
    held = {o.client_order_id: int(o.reserved) for o in ledger.live_orders()}
    holds = {
        cid: (held.get(cid, -1), resting.get(cid, -1))
        for cid in resting.keys() | held.keys()
        if held.get(cid, -1) != resting.get(cid, -1)
    }
    cash = int(ledger.cash) - engine.accounts[TRADER].balance
    if int(ledger.reserved) != sum(held.values()):  # the running total the risk gate reads
        holds["(ledger total)"] = (int(ledger.reserved), sum(held.values()))
    return Mismatch(step, move, cash, holds) if cash or holds else None


def walk(seed: int, moves: Moves, steps: int = 250) -> Mismatch | None:
    """The walk; returns the first disagreement (None: the ledger tracked the exchange throughout)."""
    engine, ledger = new_pair()
    rng = random.Random(seed)
    for n in range(steps):
        side = rng.choice((BookSide.BID, BookSide.ASK))
        yes_price = rng.randrange(30, 71) * 100
        size = rng.randrange(1, 6) * 100
        roll = rng.random()
        if roll < 0.45:
            move = _trader_order(engine, ledger, rng, moves, f"t-{n}", side, yes_price, size)
        elif roll < 0.8:
            move = "counterparty"
            with contextlib.suppress(ExchangeError):
                engine.create_order(rng.choice(COUNTERPARTIES), counterparty(side, yes_price, size))
        else:
            move = _edit(engine, ledger, rng, moves)
        found = mismatch(engine, ledger, n, move)
        if found is not None:
            return found
    return None


def _trader_order(
    engine: Engine,
    ledger: Ledger,
    rng: random.Random,
    moves: Moves,
    cid: str,
    side: BookSide,
    yes_price: int,
    size: int,
) -> str:
    held = ledger.position(TICKER).position
    if moves.reduce_only and rng.random() < 0.3:
        closing = BookSide.ASK if held > 0 else BookSide.BID
        if closable(held, closing) > 0:
            send(engine, ledger, cid, closing, yes_price, size, reduce_only=True)
            return f"reduce-only {closing} {yes_price} x{size}"
    # A counterparty crosses the trader's resting orders while this one is on its way (``race``),
    # or just after it arrived, seen by the ledger before the create's answer (``late_answer``).
    crossing = [
        counterparty(o.side.opposite, o.yes_price, rng.randrange(1, 4) * 100)
        for o in ledger.live_orders()[:2]
    ]
    raced = moves.race and rng.random() < 0.5
    late = moves.late_answer and not raced and rng.random() < 0.5
    tif = rng.choice((GTC, GTC, IOC))
    send(
        engine,
        ledger,
        cid,
        side,
        yes_price,
        size,
        tif=tif,
        in_flight=crossing if raced else None,
        answer_after=crossing if late else None,
    )
    return f"{'raced ' if raced else 'late answer ' if late else ''}{side} {yes_price} x{size} {tif}"


def _edit(engine: Engine, ledger: Ledger, rng: random.Random, moves: Moves) -> str:
    live = [o for o in ledger.live_orders() if o.order_id and engine.orders[o.order_id].is_resting]
    if not live:
        return "nothing to edit"
    target = rng.choice(live)
    assert target.order_id is not None
    exchange_order = engine.orders[target.order_id]
    roll = rng.random()
    with contextlib.suppress(ExchangeError):
        if moves.amend and roll < 0.3:
            yes_price = rng.randrange(30, 71) * 100
            total = exchange_order.fill_count + rng.randrange(1, 6) * 100
            engine.amend_order(TRADER, target.order_id, TICKER, target.side, yes_price, total)
            return f"amend {target.client_order_id} to {yes_price} x{total}"
        if moves.decrease and roll < 0.6 and exchange_order.remaining_count > 100:
            engine.decrease_order(TRADER, target.order_id, 100, None)
            return f"decrease {target.client_order_id} by 1"
    engine.cancel_order(TRADER, target.order_id)
    return f"cancel {target.client_order_id}"
