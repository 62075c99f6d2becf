"""The lazy tape (``Tape(engine, lazy=True)``, ``virtual.py``) is the same exchange as the eager
one: replaying the same recorded changes -- adds, cancels from the front and the back, decreases,
trades at the touch, snapshots, freezes -- with our orders resting and crossing among them, in some
markets only, must report the same engine events in the same order, draw the same ids, take the
same priorities, leave our orders, cash and positions, every market's volume, open interest and
last price, and every ladder's sizes the same. Only the tape's own resting orders are kept
elsewhere until an order of ours enters their market or the tape trades at their level, and again
once none of ours rests there (cancelled, decreased to nothing, filled): the scripts do all three.
An order of ours that does not stay (filled or cancelled at once) takes in only the levels it can
meet, which go back out right after it; a lazy market's engine queues hold nothing."""

from __future__ import annotations

import random

import pytest

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.events import EngineEvent
from kalshiflow.sim.recorded.tape import Tape

TICKERS = ("KXTEST-26JAN01-T1", "KXTEST-26JAN01-T2", "KXTEST-26JAN01-T3", "KXTEST-26JAN01-T4")
TRADED = TICKERS[:2]  # our orders go only here
QUIET = TICKERS[3]  # no order of ours, no crossing change: its tape orders stay outside the engine
START_MS = 1_790_000_000_000
TRADER = "trader"


def _ours(engine: Engine, ticker: str) -> list[str]:
    """Our resting orders in ``ticker``, in entry order on each side."""
    return [
        order_id
        for side in (BookSide.BID, BookSide.ASK)
        for order_id in engine._resting_by_key.get((TRADER, ticker, side), {})
    ]


def _assert_lazy_queues_empty(engine: Engine, tape: Tape) -> None:
    """A lazy market's tape orders are all outside the engine's queues (and no other order rests
    there): an entry left behind would be matched again when its level is taken in."""
    for ticker in [] if tape.virtual is None else tape.virtual.markets:
        book = engine.books[ticker]
        assert not any(level.queue for ladder in (book.yes, book.no) for level in ladder.levels.values())


def _replay(lazy: bool, seed: int) -> tuple[list[str], list[object], list[str], int, int, int]:
    rng = random.Random(seed)
    clock = ManualClock(START_MS)
    engine = Engine(clock, 0)
    log: list[str] = []

    def record(event: EngineEvent) -> None:
        log.append(repr(event))

    engine.add_listener(record)
    tape = Tape(engine, lazy=lazy)
    engine.add_account(TRADER, 10**12, balance_precision=1)
    for ticker in TICKERS:
        tape.list_market(ticker, PriceGrid.named("linear_cent"), START_MS + 86_400_000)
        tape.snapshot(ticker, [(4000, 500), (4100, 300)], [(5500, 400), (5600, 200)])
    released_again = 0  # markets an order of ours released after the tape followed them again
    ever_released: set[str] = set()
    for step in range(3_000):
        _assert_lazy_queues_empty(engine, tape)
        clock.set_ms(START_MS + step * 100)
        ticker = rng.choice(TICKERS)
        roll = rng.random()
        ever_released |= tape.released
        if 0.04 <= roll < 0.08 and ticker in TRADED and _ours(engine, ticker):
            order_id = rng.choice(_ours(engine, ticker))
            if rng.random() < 0.7:
                engine.cancel_order(TRADER, order_id)
            else:  # to nothing, or by part of it
                remaining = engine.orders[order_id].remaining_count
                engine.decrease_order(TRADER, order_id, None, rng.choice([0, remaining // 2]))
            continue
        if roll < 0.04 and ticker in TRADED:
            if ticker in ever_released and ticker not in tape.released:
                released_again += 1  # (the eager tape releases nothing)
            engine.create_order(
                TRADER,
                OrderRequest(
                    ticker,
                    rng.choice([BookSide.BID, BookSide.ASK]),
                    rng.randint(38, 62) * 100,
                    rng.randint(1, 4) * 100,
                    rng.choice([TimeInForce.GOOD_TILL_CANCELED, TimeInForce.IMMEDIATE_OR_CANCEL]),
                    SelfTradePrevention.MAKER,
                ),
            )
        elif roll < 0.05:
            wide = 0 if ticker == QUIET else 4  # a quiet market's recorded book never crosses
            yes = [(rng.randint(36, 40 + wide) * 100, rng.randint(1, 9) * 100) for _ in range(3)]
            no = [(rng.randint(52, 56 + wide) * 100, rng.randint(1, 9) * 100) for _ in range(3)]
            tape.snapshot(ticker, sorted(dict(yes).items()), sorted(dict(no).items()))
        elif roll < 0.053:
            tape.freeze([ticker])  # until the market's next snapshot
        else:
            side = rng.choice([OutcomeSide.YES, OutcomeSide.NO])
            ladder = tape.recorded[ticker][side]
            if ladder and rng.random() < 0.45:
                price = max(ladder) if rng.random() < 0.5 else rng.choice(list(ladder))
                delta = -ladder[price] if rng.random() < 0.4 else -rng.randint(1, ladder[price])
            else:
                low = 36 if side is OutcomeSide.YES else 52
                top = low + (5 if ticker == QUIET else 10)  # else now and then across the other ladder
                price = rng.randint(low, top) * 100
                delta = rng.randint(1, 6) * 100
            tape.delta(ticker, side, price, delta)
    account = engine.accounts[TRADER]
    lazy_markets = [] if tape.virtual is None else list(tape.virtual.markets)
    parks = 0 if tape.virtual is None else tape.virtual.parked
    reparks = 0 if tape.virtual is None else tape.virtual.reparked
    _assert_lazy_queues_empty(engine, tape)
    for ticker in lazy_markets:  # the tape's resting orders, as the engine would hold them
        tape.virtual.release(ticker)  # type: ignore[union-attr]
    resting = [
        repr(order)
        for ticker in TICKERS
        for ladder in (engine.books[ticker].yes, engine.books[ticker].no)
        for price in ladder.prices
        for order in ladder.orders_at(price)
    ]
    state: list[object] = [
        resting,
        engine.rng.getstate(),
        engine._priority,
        account.balance,
        sorted((t, repr(p)) for t, p in account.positions.items()),
        [repr(engine.orders[oid]) for oid in account.order_ids],
        [repr(f) for f in account.fills],
        [(t, m.volume, m.open_interest, m.last_price) for t, m in sorted(engine.markets.items())],
        [(t, b.yes.ascending(), b.no.ascending()) for t, b in sorted(engine.books.items())],
        [repr(t) for t in engine.trades],
        engine.fees_collected,
        repr(tape.metrics),
        [
            (t, side, price, tape.shown(t, side, price))
            for t in TICKERS
            for side in (OutcomeSide.YES, OutcomeSide.NO)
            for price in range(100, 10_000, 100)
        ],
    ]
    return log, state, lazy_markets, parks, released_again, reparks


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_lazy_tape_replays_exactly_as_the_eager_one(seed: int) -> None:
    eager_log, eager_state, _, _, _, _ = _replay(False, seed)
    lazy_log, lazy_state, still_lazy, parks, released_again, reparks = _replay(True, seed)
    assert any("FillEvent" in line and TRADER in line for line in eager_log)  # we did trade
    assert any("TradeEvent" in line and QUIET in line for line in eager_log)  # so did the quiet tape
    assert any("OrderEvent" in line and "CANCEL" in line.upper() for line in eager_log)  # and cancel
    assert parks > 0  # traded markets were followed again once our orders left them
    assert reparks > 0  # and orders of ours that did not stay took in only the levels they met
    assert released_again > 0  # and released again by a later order of ours
    assert QUIET in still_lazy
    assert lazy_log == eager_log
    for lazy_part, eager_part in zip(lazy_state, eager_state, strict=True):
        assert lazy_part == eager_part
