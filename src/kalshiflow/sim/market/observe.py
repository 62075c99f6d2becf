"""What the realism report watches during a headless run: every trade, every book change, and a
snapshot of every trading market's book once per sampling interval.

Trades are recorded with the market's true probability at the moment (the model's value at the
event that traded), so calibration can be measured both against realised outcomes and against the
exact expectation (far less noisy: the outcome is a Bernoulli of that probability). Statistics here
are floats: they describe the market, nothing is paid from them.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field

from kalshiflow.domain.fees import trade_fee
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE, Count, Price
from kalshiflow.sim.events import BookDelta, EngineEvent, TradeEvent
from kalshiflow.sim.market.headless import HeadlessMarket
from kalshiflow.sim.market.profile import EventShape

CHEAP_CENTS = 10


@dataclass(frozen=True, slots=True)
class TradeRow:
    ticker: str
    archetype: str
    price_cents: float  # YES price
    contracts: float
    taker_bought_yes: bool
    q: float  # true YES probability when it traded


@dataclass(frozen=True, slots=True)
class BookRow:
    archetype: str
    state: str  # "two_sided", "one_sided", "empty"
    spread_cents: float | None
    spread_ticks: int | None
    mid_cents: float | None
    q: float
    levels: int
    depth_contracts: float


@dataclass(frozen=True, slots=True)
class StrategyRow:
    """One hypothetical 1-contract purchase by a reference strategy (price and fee in cents)."""

    strategy: str
    ticker: str
    bought_yes: bool
    price_cents: float
    fee_cents: float
    q: float


@dataclass
class Observer:
    market: HeadlessMarket
    seed: int = 0
    trades: list[TradeRow] = field(default_factory=list)
    books: list[BookRow] = field(default_factory=list)
    strategies: list[StrategyRow] = field(default_factory=list)
    deltas: Counter[str] = field(default_factory=Counter)
    samples: Counter[str] = field(default_factory=Counter)  # market-minutes observed, by archetype
    trades_by_archetype: Counter[str] = field(default_factory=Counter)
    deltas_by_archetype: Counter[str] = field(default_factory=Counter)
    ladder_checks: int = 0
    ladder_true_violations: int = 0
    ladder_book_violations: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(f"observer-{self.seed}")
        self.market.engine.add_listener(self.on_event)

    def archetype(self, ticker: str) -> str | None:
        state = self.market.model.markets.get(ticker)
        return None if state is None else state.event.archetype

    def on_event(self, event: EngineEvent) -> None:
        if isinstance(event, TradeEvent):
            archetype = self.archetype(event.ticker)
            q = self.market.model.true_probability(event.ticker)
            if archetype is None or q is None:
                return
            self.trades.append(
                TradeRow(
                    event.ticker,
                    archetype,
                    event.yes_price / 100,
                    event.count / COUNT_SCALE,
                    event.taker_book_side is BookSide.BID,
                    q,
                )
            )
            self.trades_by_archetype[archetype] += 1
        elif isinstance(event, BookDelta):
            archetype = self.archetype(event.ticker)
            if archetype is not None:
                self.deltas_by_archetype[archetype] += 1

    def sample(self) -> None:
        """Snapshot every trading market's book; price the reference strategies' entries."""
        model, engine = self.market.model, self.market.engine
        for ticker, state in model.markets.items():
            market = state.market
            if not market.is_trading:
                continue
            q = state.event.outcome.true_probability(state.payoff, engine.clock.now_ms())
            book = engine.books[ticker]
            bid, ask = book.best_yes_bid(), book.best_yes_ask()
            levels = len(book.yes.prices) + len(book.no.prices)
            depth = sum(book.yes.size_at(p) for p in book.yes.prices) + sum(
                book.no.size_at(p) for p in book.no.prices
            )
            archetype = state.event.archetype
            self.samples[archetype] += 1
            if bid is not None and ask is not None:
                ticks = len([p for p in market.grid.tradable if bid < p <= ask])
                row = BookRow(
                    archetype,
                    "two_sided",
                    (ask - bid) / 100,
                    ticks,
                    (ask + bid) / 200,
                    q,
                    levels,
                    depth / COUNT_SCALE,
                )
                self._strategies(ticker, q, bid, ask)
            else:
                row = BookRow(
                    archetype,
                    "one_sided" if levels else "empty",
                    None,
                    None,
                    None,
                    q,
                    levels,
                    depth / COUNT_SCALE,
                )
            self.books.append(row)
        self._check_ladders()

    def _strategies(self, ticker: str, q: float, bid: int, ask: int) -> None:
        engine = self.market.engine
        series = engine.series[engine.events[engine.markets[ticker].event_ticker].series_ticker]

        def fee(price: int) -> float:
            return (
                trade_fee(series.fee_type, True, Price(price), Count(COUNT_SCALE), series.fee_multiplier)
                / 10_000
            )

        buy_yes = self._rng.random() < 0.5
        price = ask if buy_yes else PRICE_SCALE - bid
        self.strategies.append(StrategyRow("always_cross", ticker, buy_yes, price / 100, fee(price), q))
        for yes, cost in ((True, ask), (False, PRICE_SCALE - bid)):
            if cost <= CHEAP_CENTS * 100:
                self.strategies.append(StrategyRow("buy_cheap_hold", ticker, yes, cost / 100, fee(cost), q))

    def _check_ladders(self) -> None:
        """Strike ladders: true probability must fall with the strike, and no higher strike may be
        bid above a lower strike's ask (a riskless arbitrage on the book)."""
        model, engine = self.market.model, self.market.engine
        for event in model.events.values():
            states = [model.markets[t] for t in event.markets if t in model.markets]
            ladder = sorted(
                (
                    s
                    for s in states
                    if s.payoff.upper is None and s.payoff.lower is not None and s.market.is_trading
                ),
                key=lambda s: s.payoff.lower or 0.0,
            )
            if len(ladder) < 2 or any(s.archetype.shape is EventShape.PAIR for s in ladder):
                continue
            now = engine.clock.now_ms()
            for low, high in itertools.pairwise(ladder):
                self.ladder_checks += 1
                q_low = event.outcome.true_probability(low.payoff, now)
                q_high = event.outcome.true_probability(high.payoff, now)
                if q_high > q_low + 1e-12:
                    self.ladder_true_violations += 1
                high_bid = engine.books[high.market.ticker].best_yes_bid()
                low_ask = engine.books[low.market.ticker].best_yes_ask()
                if high_bid is not None and low_ask is not None and high_bid > low_ask:
                    self.ladder_book_violations += 1
