"""A deterministic recorded-like session for observation tests: books, histories, portfolio, orders.

Why: the incremental observation must equal the reference ``compute_observation`` bit for bit on
the situations a live trader meets, in the order it meets them. ``session`` replays a seeded stream
over a few markets through a real ``BookStore`` (with the change hook feeding each market's
``MarketHistory``, as the trader wires it) on a ``ManualClock`` and yields, after every step, the
inputs of one observation. Steps mix: deltas near the touch (most of them), deltas deep in the
book, a touch emptied and refilled, snapshots (including one-sided and empty ladders), a bad
snapshot and a bad delta (invalid book), invalidations, cash, position and order changes, market
views rebuilt with equal or different values, and clock moves of 0 ms (several updates inside one
millisecond), a few ms, more than the history's 100 ms resolution and more than its 300 s horizon.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from kalshiflow.clock import ManualClock
from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price
from kalshiflow.events.trader import BookChanged
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.features import MarketHistory
from kalshiflow.features.valuation import CashView, MarketView, PositionView
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

START_MS = 1_790_000_000_000
GRIDS = ("linear_cent", "linear_cent", "tapered_deci_cent", "deci_cent")
SIDES = (OutcomeSide.YES, OutcomeSide.NO)
CLOCK_STEPS_MS = (0, 0, 0, 1, 1, 3, 20, 99, 100, 101, 250, 1_500, 12_000)
# A busy market: a sample every ~100 ms for long stretches, so old samples are dropped and compacted.
BUSY_CLOCK_STEPS_MS = (0, 1, 100, 100, 101, 150, 250)


@dataclass
class Step:
    """The inputs of one observation, as the live observer passes them."""

    ticker: str
    book: OrderBook
    history: MarketHistory
    market: MarketView
    position: PositionView | None
    cash: CashView
    orders: list[TrackedOrder]
    now_ms: int


class _Market:
    """Reference sizes of one market (to generate valid deltas) and its portfolio state."""

    def __init__(self, ticker: str, grid: PriceGrid, rng: random.Random) -> None:
        self.ticker = ticker
        self.grid = grid
        self.rng = rng
        self.tradable = [int(p) for p in grid.tradable]
        self.sizes: dict[OutcomeSide, dict[int, int]] = {OutcomeSide.YES: {}, OutcomeSide.NO: {}}
        self.split = 0
        self.position: PositionView | None = None
        self.orders: list[TrackedOrder] = []
        self.market = MarketView(ticker, MarketStatus.ACTIVE, START_MS + 3_600_000, grid)

    def fresh_ladders(self, shape: str) -> OrderbookSnapshot:
        rng = self.rng
        self.split = rng.randint(1_000, 9_000)
        for side in SIDES:
            limit = self.split if side is OutcomeSide.YES else PRICE_SCALE - self.split
            candidates = [p for p in self.tradable if limit - 2_000 <= p < limit]
            empty = shape == "empty" or (shape == "one-sided" and side is OutcomeSide.NO)
            count = 0 if empty else min(len(candidates), rng.randint(1, 18))
            self.sizes[side] = {p: rng.randint(1, 900) * 100 for p in rng.sample(candidates, count)}
        return self.snapshot()

    def snapshot(self) -> OrderbookSnapshot:
        def levels(side: OutcomeSide) -> tuple[tuple[Price, Count], ...]:
            return tuple((Price(p), Count(s)) for p, s in sorted(self.sizes[side].items()))

        return OrderbookSnapshot(1, 1, self.ticker, levels(OutcomeSide.YES), levels(OutcomeSide.NO))

    def delta(self) -> OrderbookDelta:
        rng = self.rng
        side = SIDES[rng.getrandbits(1)]
        sizes = self.sizes[side]
        limit = self.split if side is OutcomeSide.YES else PRICE_SCALE - self.split
        roll = rng.random()
        if sizes and roll < 0.7:
            ranked = sorted(sizes, reverse=True)
            price = rng.choice(ranked[: rng.choice((1, 1, 2, 3, 5, 12, 40))])
            if roll < 0.55:
                delta = rng.choice((-1, 1)) * rng.randint(1, 300) * 10
                if sizes[price] + delta <= 0:
                    delta = -delta
            else:
                delta = -sizes[price]  # a level disappears (sometimes the touch)
        else:
            free = [p for p in self.tradable if limit - 2_000 <= p < limit and p not in sizes]
            price = rng.choice(free) if free else max(sizes)
            delta = rng.randint(1, 900) * 100
        new = sizes.get(price, 0) + delta
        if new:
            sizes[price] = new
        else:
            del sizes[price]
        return OrderbookDelta(1, 2, self.ticker, side, Price(price), Count(delta))

    def portfolio_change(self, now_ms: int) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            self.position = None
        elif roll < 0.7:
            count = rng.choice((1, -1)) * rng.randint(1, 50) * 100
            self.position = PositionView(self.ticker, Count(count), Money(rng.randint(0, 40_000_000)), now_ms)
        elif self.position is not None:
            # an equal view rebuilt (the ledger builds new views on every call)
            p = self.position
            self.position = PositionView(p.ticker, p.position, p.cost_basis, p.opened_at_ms)

    def orders_change(self, now_ms: int) -> None:
        rng = self.rng
        if rng.random() < 0.3:
            self.orders = []
            return
        state = rng.choice((OrderState.RESTING, OrderState.RESTING, OrderState.PENDING, OrderState.CANCELED))
        order = TrackedOrder(
            f"{self.ticker}-{now_ms}-{len(self.orders)}",
            self.ticker,
            rng.choice((BookSide.BID, BookSide.ASK)),
            Price(rng.choice(self.tradable)),
            Count(rng.randint(1, 30) * 100),
            OrderPurpose.OPEN,
            now_ms - rng.randint(0, 90_000),
            state=state,
            filled=Count(rng.randint(0, 5) * 10),
        )
        self.orders = [*self.orders[-3:], order]

    def market_change(self, now_ms: int) -> None:
        rng = self.rng
        fee_type, multiplier = rng.choice(
            (
                (FeeType.QUADRATIC, Fraction(1)),
                (FeeType.QUADRATIC, Fraction(1, 2)),
                (FeeType.FLAT, Fraction(1)),
            )
        )
        close = self.market.close_time_ms if rng.random() < 0.5 else now_ms + rng.randint(-5_000, 10**9)
        self.market = MarketView(self.ticker, MarketStatus.ACTIVE, close, self.grid, fee_type, multiplier)


def session(
    seed: int,
    steps: int,
    markets: int = len(GRIDS),
    clock_steps_ms: tuple[int, ...] = CLOCK_STEPS_MS,
    one_cash_figure: bool = False,
) -> Iterator[Step]:
    """``steps`` observations' inputs of a seeded session over ``markets`` markets (see module
    docstring); their grids cycle through ``GRIDS``, the clock moves by one of ``clock_steps_ms``
    per step (and rarely past the history's horizon). ``one_cash_figure``: half the cash changes
    move only the available or only the reserved amount (off for the golden stream, which must
    stay the one its digest was taken on)."""
    rng = random.Random(seed)
    clock = ManualClock(START_MS)
    store = BookStore(clock)
    histories: dict[str, MarketHistory] = {}
    models: list[_Market] = []
    for i in range(markets):
        ticker = f"KXOBS-{i}"
        grid = PriceGrid.named(GRIDS[i % len(GRIDS)])
        store.register(ticker, grid)
        histories[ticker] = MarketHistory(ticker)
        models.append(_Market(ticker, grid, rng))
    changes = store.bus.subscribe("histories", [BookChanged], max_queue=1_000_000)

    def catch_up() -> None:  # as the live observer does before each observation
        for change in changes.drain():
            assert isinstance(change, BookChanged)
            histories[change.ticker].record_change(change)

    for model in models:
        store.apply_snapshot(model.fresh_ladders("full"))
    cash = CashView(Money.dollars(900), Money.dollars(15))
    for _ in range(steps):
        step_ms = rng.choice(clock_steps_ms) if rng.random() > 0.002 else 400_000
        clock.set_ms(clock.now_ms() + step_ms)
        now = clock.now_ms()
        model = rng.choice(models)
        roll = rng.random()
        if roll < 0.80:
            store.apply_delta(model.delta())
        elif roll < 0.815:
            store.apply_snapshot(model.fresh_ladders(rng.choice(("full", "full", "one-sided", "empty"))))
        elif roll < 0.82:
            # an off-grid delta: the book turns invalid until the next snapshot
            store.apply_delta(OrderbookDelta(1, 2, model.ticker, OutcomeSide.YES, Price(1), Count(100)))
        elif roll < 0.825:
            store.invalidate([model.ticker], "seq gap")
        elif roll < 0.85:
            if one_cash_figure and rng.random() < 0.5:  # a fill moves cash, a new order the reserve
                if rng.random() < 0.5:
                    cash = CashView(Money(rng.randint(0, 2_000_000_000)), cash.reserved)
                else:
                    cash = CashView(cash.available, Money(rng.randint(0, 50_000_000)))
            else:
                cash = CashView(Money(rng.randint(0, 2_000_000_000)), Money(rng.randint(0, 50_000_000)))
        elif roll < 0.90:
            model.portfolio_change(now)
        elif roll < 0.95:
            model.orders_change(now)
        elif roll < 0.97:
            model.market_change(now)
        # else: only the clock moved
        book = store.book(model.ticker)
        assert book is not None
        if not book.valid and rng.random() < 0.3:
            store.apply_snapshot(model.fresh_ladders("full"))
        catch_up()
        yield Step(
            model.ticker, book, histories[model.ticker], model.market, model.position, cash, model.orders, now
        )
