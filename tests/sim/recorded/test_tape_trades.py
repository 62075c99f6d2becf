"""A recorded trade in a lazy market is booked outside the engine's matching
(``VirtualLevels.trade``); it must leave exactly what materializing the level and matching a tape
taker against it leaves (``Tape(..., fast_trades=False)``): the same events in the same order, ids
drawn, priorities taken, every account's cash and positions -- the tape's house accounts included
--, the exchange's fees, trades, volume, open interest and last price, ladders and metrics.

The scripts use fractional sizes at tenth-of-a-cent prices and let the tape's accounts keep whole
cents, so fills round and remainders add up to rebates: a tape order that a crossing order of ours
filled in part keeps its rounding remainder when its market is parked, and a later recorded trade
at its level must carry it as matching would (as the taker carries its own from fill to fill)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.events import EngineEvent
from kalshiflow.sim.recorded import virtual
from kalshiflow.sim.recorded.tape import TAPE_MAKER, TAPE_TAKER, Tape

TICKERS = ("KXTRADE-26JAN01-T1", "KXTRADE-26JAN01-T2", "KXTRADE-26JAN01-T3")
START_MS = 1_790_000_000_000
TRADER = "trader"


def _replay(fast_trades: bool, seed: int) -> tuple[list[str], list[object]]:
    rng = random.Random(seed)
    clock = ManualClock(START_MS)
    engine = Engine(clock, 0)
    log: list[str] = []

    def record(event: EngineEvent) -> None:
        log.append(repr(event))

    engine.add_listener(record)
    tape = Tape(engine, lazy=True, fast_trades=fast_trades)
    for house in (TAPE_MAKER, TAPE_TAKER):  # whole cents: remainders carried and rebated, fill by fill
        engine.accounts[house].balance_precision = 10_000
    engine.add_account(TRADER, 10**12)
    for ticker in TICKERS:
        tape.list_market(ticker, PriceGrid.named("deci_cent"), START_MS + 86_400_000)
        tape.snapshot(ticker, [(4000, 537), (4100, 301)], [(5500, 419), (5600, 233)])
    for step in range(4_000):
        clock.set_ms(START_MS + step * 100)
        ticker = rng.choice(TICKERS)
        roll = rng.random()
        if roll < 0.03:  # ours: mostly crossing, filling tape orders in part, then gone (IOC)
            engine.create_order(
                TRADER,
                OrderRequest(
                    ticker,
                    rng.choice([BookSide.BID, BookSide.ASK]),
                    rng.randint(380, 620) * 10,
                    rng.randint(1, 350),
                    rng.choice([TimeInForce.IMMEDIATE_OR_CANCEL] * 3 + [TimeInForce.GOOD_TILL_CANCELED]),
                    SelfTradePrevention.MAKER,
                ),
            )
        elif roll < 0.06:
            resting = [
                order_id
                for side in (BookSide.BID, BookSide.ASK)
                for order_id in engine._resting_by_key.get((TRADER, ticker, side), {})
            ]
            if resting:
                engine.cancel_order(TRADER, rng.choice(resting))
        elif roll < 0.07:
            yes = [(rng.randint(360, 410) * 10, rng.randint(1, 900)) for _ in range(3)]
            no = [(rng.randint(520, 570) * 10, rng.randint(1, 900)) for _ in range(3)]
            tape.snapshot(ticker, sorted(dict(yes).items()), sorted(dict(no).items()))
        else:
            side = rng.choice([OutcomeSide.YES, OutcomeSide.NO])
            ladder = tape.recorded[ticker][side]
            if ladder and rng.random() < 0.5:
                price = max(ladder) if rng.random() < 0.6 else rng.choice(list(ladder))
                delta = -ladder[price] if rng.random() < 0.5 else -rng.randint(1, ladder[price])
            else:
                low = 360 if side is OutcomeSide.YES else 520
                price = rng.randint(low, low + 60) * 10
                delta = rng.randint(1, 600)
            tape.delta(ticker, side, price, delta)
    state: list[object] = [
        engine.rng.getstate(),
        engine._priority,
        [
            (a.account_id, a.balance, sorted((t, repr(p)) for t, p in a.positions.items()))
            for a in engine.accounts.values()
        ],
        [repr(f) for f in engine.accounts[TRADER].fills],
        [
            (t, m.volume, m.open_interest, m.last_price, list(m.volume_window))
            for t, m in engine.markets.items()
        ],
        [(t, b.yes.ascending(), b.no.ascending()) for t, b in engine.books.items()],
        [repr(t) for t in engine.trades],
        engine.fees_collected,
        repr(tape.metrics),
        sorted(tape.released),
    ]
    return log, state


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_lazy_markets_trade_is_booked_as_the_engine_would_match_it(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_log, slow_state = _replay(False, seed)
    booked = {"trades": 0, "orders": 0, "carried_rounding": 0}
    real_trade: Callable[..., None] = virtual.VirtualLevels.trade

    def counting_trade(
        self: virtual.VirtualLevels, ticker: str, side: OutcomeSide, price: int, taker_id: str
    ) -> None:
        queue = self.markets[ticker][side][price]
        booked["trades"] += 1
        booked["orders"] += len(queue)
        booked["carried_rounding"] += sum(
            1 for v in queue if v.order is not None and v.order.rounding_accumulator
        )
        real_trade(self, ticker, side, price, taker_id)

    monkeypatch.setattr(virtual.VirtualLevels, "trade", counting_trade)
    fast_log, fast_state = _replay(True, seed)
    assert booked["trades"] > 50
    assert booked["orders"] > booked["trades"]  # levels of several orders
    assert booked["carried_rounding"] > 0  # parked orders with a rounding remainder traded
    assert any("TradeEvent" in line for line in slow_log)
    assert fast_log == slow_log
    for fast_part, slow_part in zip(fast_state, slow_state, strict=True):
        assert fast_part == slow_part
