"""The tape shares one request per terms (``Tape._request``): replaying the same recorded changes
with a request built afresh for every order, as the tape did before, must leave the engine in the
same state through the same events -- the same book changes, fills, order ids and balances."""

from __future__ import annotations

import random

import pytest

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.events import EngineEvent
from kalshiflow.sim.recorded.tape import Tape

TICKERS = ("KXTEST-26JAN01-T1", "KXTEST-26JAN01-T2")
START_MS = 1_790_000_000_000
TRADER = "trader"


class _FreshRequests(Tape):
    """The tape as it was: a new request for every order."""

    def _request(
        self,
        ticker: str,
        side: BookSide,
        yes_price: int,
        count: int,
        tif: TimeInForce = TimeInForce.GOOD_TILL_CANCELED,
    ) -> OrderRequest:
        return OrderRequest(ticker, side, yes_price, count, tif, SelfTradePrevention.MAKER)


def _replay(tape_kind: type[Tape], seed: int) -> tuple[list[str], list[str], int]:
    """Random recorded changes (adds, cancels, touch trades, snapshots) of two markets with the
    trader resting and crossing orders among them; the event log, the engine's orders and cash."""
    rng = random.Random(seed)
    clock = ManualClock(START_MS)
    engine = Engine(clock, 0)
    log: list[str] = []

    def record(event: EngineEvent) -> None:
        log.append(repr(event))

    engine.add_listener(record)
    tape = tape_kind(engine)
    engine.add_account(TRADER, 10**12, balance_precision=1)
    for ticker in TICKERS:
        tape.list_market(ticker, PriceGrid.named("linear_cent"), START_MS + 86_400_000)
        tape.snapshot(ticker, [(4000, 500), (4100, 300)], [(5500, 400), (5600, 200)])
    for step in range(1_500):
        clock.set_ms(START_MS + step * 100)
        ticker = rng.choice(TICKERS)
        roll = rng.random()
        if roll < 0.04:
            side = rng.choice([BookSide.BID, BookSide.ASK])
            cents = rng.randint(38, 62)
            engine.create_order(
                TRADER,
                OrderRequest(
                    ticker,
                    side,
                    cents * 100,
                    rng.randint(1, 4) * 100,
                    rng.choice([TimeInForce.GOOD_TILL_CANCELED, TimeInForce.IMMEDIATE_OR_CANCEL]),
                    SelfTradePrevention.MAKER,
                ),
            )
        elif roll < 0.05:
            yes = [(rng.randint(36, 44) * 100, rng.randint(1, 9) * 100) for _ in range(3)]
            no = [(rng.randint(52, 60) * 100, rng.randint(1, 9) * 100) for _ in range(3)]
            tape.snapshot(ticker, sorted(dict(yes).items()), sorted(dict(no).items()))
        else:
            side = rng.choice([OutcomeSide.YES, OutcomeSide.NO])
            ladder = tape.recorded[ticker][side]
            if ladder and rng.random() < 0.45:
                price = max(ladder) if rng.random() < 0.5 else rng.choice(list(ladder))
                delta = -ladder[price] if rng.random() < 0.4 else -rng.randint(1, ladder[price])
            else:
                low = 36 if side is OutcomeSide.YES else 52
                price = rng.randint(low, low + 8) * 100
                delta = rng.randint(1, 6) * 100
            tape.delta(ticker, side, price, delta)
    return log, [repr(order) for order in engine.orders.values()], engine.accounts[TRADER].balance


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shared_tape_requests_replay_exactly_as_fresh_ones(seed: int) -> None:
    fresh = _replay(_FreshRequests, seed)
    shared = _replay(Tape, seed)
    assert any("FillEvent" in line and TRADER in line for line in fresh[0])  # the trader did trade
    assert shared[0] == fresh[0]
    assert shared[1] == fresh[1]
    assert shared[2] == fresh[2]
