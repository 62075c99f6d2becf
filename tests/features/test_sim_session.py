"""On a recorded simulator session no feature is constant and no two features duplicate each other.

The engine runs in-process on a manual clock with its synthetic participants for three simulated
hours (tests/sim/market/sim_harness.py). Its ``BookDelta`` events are then replayed, as the stream
client would deliver them (``OrderbookDelta``), into a ``BookStore`` and a ``MarketHistory`` per
market. Every 5 s of clock time the actor's view is observed for every market with a valid book.
A small scripted trader buys at the touch, rests and reprices orders and closes positions in half
the markets, so portfolio and order features move as they would live.
"""

from __future__ import annotations

import math
import random
from itertools import combinations

import pytest
from tests.features.features_kit import SCALES
from tests.sim.market.sim_harness import build_market

from kalshiflow.clock import ManualClock
from kalshiflow.domain.fees import trade_fee
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price, notional
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.features import SCHEMA_V1, MarketHistory, compute_observation
from kalshiflow.features.valuation import CashView, MarketView, PositionView
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.sim.events import BookDelta
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

HOURS = 3
OBSERVE_EVERY_MS = 5_000


class ScriptedTrader:
    """Positions, cash and resting orders that change over the session (fills are assumed)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cash = int(SCALES.bankroll)
        self.reserved = 0
        self.positions: dict[str, PositionView] = {}
        self.orders: dict[str, list[TrackedOrder]] = {}
        self.n = 0

    def act(self, ticker: str, book: OrderBook, market: MarketView, now_ms: int) -> None:
        rng = self.rng
        roll = rng.random()
        held = self.positions.get(ticker)
        if roll < 0.01 and held is None:
            side = rng.choice((OutcomeSide.YES, OutcomeSide.NO))
            ask = book.best_ask(side)
            if ask is not None:
                count = Count.contracts(rng.randint(1, 60))
                fee = trade_fee(market.fee_type, True, ask, count, market.fee_multiplier)
                cost = notional(ask, count) + fee
                self.cash -= cost
                signed = count if side is OutcomeSide.YES else -count
                self.positions[ticker] = PositionView(ticker, Count(signed), Money(cost), now_ms, fee)
        elif roll < 0.015 and held is not None:
            side = OutcomeSide.YES if held.position > 0 else OutcomeSide.NO
            bid = book.best_bid(side) or Price(0)
            self.cash += notional(bid, Count(abs(held.position)))
            del self.positions[ticker]
        elif roll < 0.04:
            self.reprice(ticker, book, now_ms)

    def reprice(self, ticker: str, book: OrderBook, now_ms: int) -> None:
        rng = self.rng
        kept = [o for o in self.orders.get(ticker, []) if rng.random() < 0.5]
        for _ in range(rng.randint(0, 2)):
            side = rng.choice((BookSide.BID, BookSide.ASK))
            touch = book.best_bid(side.outcome_side)
            if touch is None:
                continue
            own = book.grid.step_down(touch, rng.randint(0, 3)) or touch
            yes_price = own if side is BookSide.BID else PRICE_SCALE - own
            count = Count.contracts(rng.randint(1, 50))
            self.n += 1
            kept.append(
                TrackedOrder(
                    f"c{self.n}",
                    ticker,
                    side,
                    Price(yes_price),
                    count,
                    OrderPurpose.OPEN,
                    now_ms,
                    state=OrderState.RESTING,
                    filled=Count(rng.choice((0, 0, count // 2))),
                )
            )
        self.orders[ticker] = kept
        self.reserved = sum(
            notional(Price(o.yes_price if o.side is BookSide.BID else PRICE_SCALE - o.yes_price), o.count)
            for orders in self.orders.values()
            for o in orders
        )


def record_session(seed: int) -> list[tuple[float, ...]]:
    sim = build_market(seed=seed, n_markets=8, keep_alive=True)
    sim.run(HOURS * 3_600, step_s=1.0)
    clock = ManualClock(sim.events[0].ts_ms if hasattr(sim.events[0], "ts_ms") else 0)
    store = BookStore(clock)
    histories: dict[str, MarketHistory] = {}
    markets: dict[str, MarketView] = {}
    traded = set(sorted(sim.engine.markets)[::2])
    trader = ScriptedTrader(seed)
    rows: list[tuple[float, ...]] = []
    next_obs = clock.now_ms() + OBSERVE_EVERY_MS
    seq = 1

    def observe_until(limit_ms: int) -> None:
        nonlocal next_obs
        while next_obs < limit_ms:
            clock.set_ms(next_obs)
            for ticker, history in histories.items():
                book = store.book(ticker)
                assert book is not None
                if ticker in traded:
                    trader.act(ticker, book, markets[ticker], next_obs)
                obs = compute_observation(
                    SCHEMA_V1,
                    book,
                    history,
                    markets[ticker],
                    trader.positions.get(ticker),
                    CashView(Money(max(trader.cash, 0)), Money(trader.reserved)),
                    trader.orders.get(ticker, []),
                    next_obs,
                    SCALES,
                )
                if obs is not None:
                    rows.append(obs)
            next_obs += OBSERVE_EVERY_MS

    for event in sim.events:
        if not isinstance(event, BookDelta):
            continue
        observe_until(event.ts_ms)
        clock.set_ms(max(event.ts_ms, clock.now_ms()))
        ticker = event.ticker
        if ticker not in histories:  # a new market's book starts empty: subscribe with a snapshot
            sim_market = sim.engine.markets[ticker]
            store.register(ticker, sim_market.grid)
            assert store.apply_snapshot(OrderbookSnapshot(1, 1, ticker, (), ()))
            histories[ticker] = MarketHistory(ticker)
            markets[ticker] = MarketView(ticker, MarketStatus.ACTIVE, sim_market.close_ms, sim_market.grid)
        seq += 1
        assert store.apply_delta(
            OrderbookDelta(1, seq, ticker, event.side, Price(event.price), Count(event.delta), event.ts_ms)
        )
        book = store.book(ticker)
        assert book is not None
        histories[ticker].record(book, clock.now_ms())
    return rows


def centred(values: list[float]) -> tuple[list[float], float]:
    """Values minus their mean, and the norm of that vector (for Pearson correlations)."""
    mean = math.fsum(values) / len(values)
    shifted = [v - mean for v in values]
    return shifted, math.sqrt(math.fsum(v * v for v in shifted))


@pytest.fixture(scope="module")
def columns() -> dict[str, list[float]]:
    rows = record_session(seed=3)  # its listings include deci-cent and tapered grids
    assert len(rows) > 10_000
    grids = {row[SCHEMA_V1.index("tick_size")] for row in rows}
    assert len(grids) >= 2  # whole-cent and sub-cent markets both observed
    return {name: [row[i] for row in rows] for i, name in enumerate(SCHEMA_V1.names)}


def test_session_observations_are_finite_and_in_range(columns: dict[str, list[float]]) -> None:
    for spec in SCHEMA_V1.features:
        values = columns[spec.name]
        assert all(math.isfinite(v) and spec.low <= v <= spec.high for v in values), spec.name


def test_no_feature_is_constant(columns: dict[str, list[float]]) -> None:
    constant = [name for name, values in columns.items() if len(set(values)) < 2]
    assert constant == []


def test_no_two_features_are_duplicates_or_perfectly_correlated(columns: dict[str, list[float]]) -> None:
    names = list(columns)
    identical = [(a, b) for a, b in combinations(names, 2) if columns[a] == columns[b]]
    assert identical == []
    centred_columns = {name: centred(values) for name, values in columns.items()}
    perfect = []
    for a, b in combinations(names, 2):
        (xs, nx), (ys, ny) = centred_columns[a], centred_columns[b]
        r = math.fsum(x * y for x, y in zip(xs, ys, strict=True)) / (nx * ny)
        if abs(r) > 1 - 1e-9:
            perfect.append((a, b, r))
    assert perfect == []
