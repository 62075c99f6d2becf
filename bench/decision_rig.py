"""Setup for ``bench_decision_path`` and ``bench_actor_load``: books, a real trader core, a stub venue.

``build_rig`` wires a ``BookStore``, a real ``TraderCore`` (on ``StubVenue``, whose ``place`` is the
only REST call the hot path makes) and a ``LiveObserver`` exactly as ``TraderApp`` does; each
``MarketModel`` generates valid deltas for one market that keep its touch and lean. See
``bench_decision_path``'s docstring for the shapes of the books and the deltas.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kalshiflow.clock import SystemClock
from kalshiflow.commands.decider import LiveObserver
from kalshiflow.config import Settings, load_settings
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price
from kalshiflow.events.bus import EventBus, Subscription
from kalshiflow.events.ledger import LEDGER_EVENT_TYPES
from kalshiflow.events.trader import TRADER_EVENT_TYPES
from kalshiflow.exchange.models_market import Market, MarketStatus
from kalshiflow.exchange.models_orders import CreateOrderResult, NewOrder
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.features import SCHEMA_V1, MarketHistory
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.policy.export_tools import write_mlp_policy
from kalshiflow.trader.core import CoreConfig, TraderCore
from kalshiflow.trader.decisions.actor import Actor, PolicyLike
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

SIDES = (OutcomeSide.YES, OutcomeSide.NO)
LEVELS = 15
CASH = Money.dollars(10_000)


def grid_for(i: int) -> str:
    return ("tapered_deci_cent", "deci_cent")[i % 2] if i % 10 == 9 else "linear_cent"


class MarketModel:
    """The true book of one market, used only to generate valid deltas that keep the touch."""

    def __init__(self, ticker: str, grid: PriceGrid, lean: int, rng: random.Random) -> None:
        self.ticker = ticker
        self.grid = grid
        self.rng = rng
        self.lean = lean  # +1 YES pressure, -1 NO pressure, 0 balanced
        tradable = [int(p) for p in grid.tradable]
        mid_band = [p for p in tradable if 1_500 <= p <= 8_500]
        yes_best = rng.choice(mid_band)
        ask = tradable[tradable.index(yes_best) + 1]  # one-tick spread
        no_best = PRICE_SCALE - ask
        self.best = {OutcomeSide.YES: yes_best, OutcomeSide.NO: no_best}
        self.behind = {
            side: [p for p in tradable if self.best[side] - 1_500 <= p < self.best[side]] for side in SIDES
        }
        self.sizes: dict[OutcomeSide, dict[int, int]] = {}
        for side in SIDES:
            heavy = lean == (1 if side is OutcomeSide.YES else -1)
            light = lean != 0 and not heavy
            top = sorted(self.behind[side])[-(LEVELS - 1) :]
            levels = [self.best[side], *top]
            self.sizes[side] = {p: self._size(heavy, light) for p in levels}
        self.seq = 1

    def _size(self, heavy: bool, light: bool) -> int:
        if heavy:
            return self.rng.randint(300, 800) * 100
        if light:
            return self.rng.randint(5, 40) * 100
        return self.rng.randint(50, 400) * 100

    def snapshot(self) -> OrderbookSnapshot:
        def levels(side: OutcomeSide) -> tuple[tuple[Price, Count], ...]:
            return tuple((Price(p), Count(s)) for p, s in sorted(self.sizes[side].items()))

        return OrderbookSnapshot(1, 1, self.ticker, levels(OutcomeSide.YES), levels(OutcomeSide.NO))

    def next_delta(self) -> OrderbookDelta:
        rng = self.rng
        side = SIDES[rng.getrandbits(1)]
        sizes = self.sizes[side]
        best = self.best[side]
        roll = rng.random()
        if roll < 0.70 or len(sizes) <= 5:
            price = best if rng.random() < 0.3 else rng.choice(list(sizes))
            size = sizes[price]
            delta = max(1, size * rng.randint(1, 20) // 100) * rng.choice((-1, 1))
            if size + delta <= 0:
                delta = -delta
        elif roll < 0.85:
            free = [p for p in self.behind[side] if p not in sizes]
            if not free:
                return self.next_delta()
            price = rng.choice(free[-20:])
            heavy = self.lean == (1 if side is OutcomeSide.YES else -1)
            delta = self._size(heavy, self.lean != 0 and not heavy)
        else:
            price = rng.choice([p for p in sizes if p != best])
            delta = -sizes[price]
        new = sizes.get(price, 0) + delta
        if new:
            sizes[price] = new
        else:
            del sizes[price]
        self.seq += 1
        return OrderbookDelta(1, self.seq, self.ticker, side, Price(price), Count(delta))


class StubVenue:
    """The only REST method the hot path reaches: ``place``. Takes the end time, answers resting.

    ``timer`` is the bench's clock (``time.perf_counter_ns``, or ``time.thread_time_ns`` for CPU
    time, which a shared machine's other processes do not inflate)."""

    timer: Callable[[], int] = time.perf_counter_ns

    def __init__(self) -> None:
        self.built_ns = 0
        self.placed: list[NewOrder] = []
        self._ids = itertools.count(1)

    async def place(self, order: NewOrder) -> CreateOrderResult:
        self.built_ns = self.timer()
        self.placed.append(order)
        return CreateOrderResult(f"ord-{next(self._ids)}", order.client_order_id, Count(0), order.count, 0)

    def __getattr__(self, name: str) -> Callable[..., object]:
        raise AssertionError(f"the decision path called REST {name}: the stub venue has only place()")


@dataclass
class Rig:
    """Everything one benchmark run needs, built exactly as ``TraderApp`` builds it."""

    settings: Settings
    clock: SystemClock
    books: BookStore
    core: TraderCore
    venue: StubVenue
    observer: LiveObserver
    models: list[MarketModel]


def market(ticker: str, grid: PriceGrid, now_ms: int) -> Market:
    zero_p, zero_c = Price(0), Count(0)
    return Market(
        ticker=ticker,
        event_ticker=f"EV-{ticker}",
        status=MarketStatus.ACTIVE,
        open_time_ms=now_ms - 86_400_000,
        close_time_ms=now_ms + 7 * 86_400_000,
        grid=grid,
        yes_bid=zero_p,
        yes_ask=zero_p,
        no_bid=zero_p,
        no_ask=zero_p,
        yes_bid_size=zero_c,
        yes_ask_size=zero_c,
        last_price=zero_p,
        volume=zero_c,
        volume_24h=zero_c,
        open_interest=zero_c,
    )


def build_rig(n_markets: int, seed: int, throttle_s: int = 0) -> Rig:
    """Books from snapshots, a real TraderCore on a stub venue, a LiveObserver hooked to the store.

    One bus for the store and the core, as ``TraderApp`` wires them: a subscriber to every event
    type (``attach_subscribers``) sees the book changes too."""
    rng = random.Random(seed)
    base = load_settings(environ={})
    settings = base.model_copy(
        update={"risk": base.risk.model_copy(update={"per_market_min_interval_s": throttle_s})}
    )
    clock = SystemClock()
    now = clock.now_ms()
    bus = EventBus()
    books = BookStore(clock, bus=bus)
    models = []
    markets = {}
    for i in range(n_markets):
        ticker = f"KXBENCH-{i:04d}"
        grid = PriceGrid.named(grid_for(i))
        lean = (1, -1, 1, 0)[i % 4] if i % 8 < 7 else (-1, 0, 1, -1)[i % 4]
        models.append(MarketModel(ticker, grid, lean, rng))
        markets[ticker] = market(ticker, grid, now)
        books.register(ticker, grid)
    venue = StubVenue()
    config = CoreConfig(
        exit_rules=settings.exit_rules,
        risk=settings.risk,
        calibration=settings.calibration,
        order_groups=settings.order_groups,
    )
    core = TraderCore(venue, clock, books, markets, config, bus=bus)  # type: ignore[arg-type]  # stub venue
    core.ledger.overwrite_cash(CASH, now)
    observer = LiveObserver(core, settings)
    # 300 s of history at 100 ms resolution before the snapshot, so every window is populated.
    for model in models:
        bid, ask = model.best[OutcomeSide.YES], PRICE_SCALE - model.best[OutcomeSide.NO]
        history = observer.histories[model.ticker] = MarketHistory(model.ticker)
        walk = bid + ask
        for k in range(3_000):
            walk += rng.choice((-20, 0, 0, 0, 20))
            history.record_touch(walk, 2 * (ask - bid), now - 300_000 + k * 100)
        books.apply_snapshot(model.snapshot())  # its BookChanged reaches the history at the first observe
    books.drain_dirty_since()
    return Rig(settings, clock, books, core, venue, observer, models)


def attach_subscribers(bus: EventBus, n: int) -> list[Subscription]:
    """``n`` consumers of every ledger and trader event type (the book changes included) that keep
    up: each drains its queue on the loop turn after events arrive, as the view, the logs, metrics
    and the dashboard would. The caller must yield to the loop between samples (outside timing)."""
    subs: list[Subscription] = []
    types = (*LEDGER_EVENT_TYPES, *TRADER_EVENT_TYPES)

    def consumer(i: int) -> Callable[[], None]:
        def drain() -> None:
            subs[i].drain()

        return drain

    for i in range(n):
        subs.append(bus.subscribe(f"bench-{i}", types, max_queue=100_000, on_ready=consumer(i)))
    return subs


def hold_positions(rig: Rig, n: int) -> list[int]:
    """A YES position of 5 contracts in each of the first ``n`` markets (a balanced, a YES-leaning
    and a NO-leaning mix), bought at the best bid: marked at the bid it is down by the exit fee
    only, far from the stop loss and the take profit, so the reactive exits run on every change of
    these markets (they are among the busiest) without closing them."""
    now = rig.clock.now_ms()
    held = list(range(min(n, len(rig.models))))
    for i in held:
        model = rig.models[i]
        bid = model.best[OutcomeSide.YES]
        contracts = Count.contracts(5)
        rig.core.ledger.overwrite_position(model.ticker, contracts, Money(bid * int(contracts)), now)
    return held


def preload_ledger(core: TraderCore, n: int, now_ms: int) -> None:
    """``n`` cancelled orders in the ledger, as a trader accumulates them over a session."""
    tickers = list(core.markets)
    for i in range(n):
        ticker = tickers[i % len(tickers)]
        order = TrackedOrder(
            f"kf-old-{i}", ticker, BookSide.BID, Price(100), Count.contracts(1), OrderPurpose.OPEN, now_ms
        )
        order.state = OrderState.CANCELED
        core.ledger.orders[order.client_order_id] = order


def rig_actor(rig: Rig, policy: PolicyLike, observe: Callable[..., Any] | None = None) -> Actor:
    """The real ``Actor`` as ``TraderApp`` wires it, always allowed to trade (``observe``: a wrapped
    ``rig.observer.observe``, for a bench that times it)."""
    return Actor(
        rig.books,
        rig.core,
        policy,
        rig.observer.observe if observe is None else observe,
        rig.settings.run.order_size_contracts,
        rig.clock,
        may_trade=lambda: True,
    )


def forget_placed(rig: Rig) -> None:
    """Outside the timing: the exchange cancelled it; drop it so the ledger does not grow."""
    ledger = rig.core.ledger
    now = rig.clock.now_ms()
    for order in rig.venue.placed:
        ledger.on_canceled(order.client_order_id, now)
        tracked = ledger.orders.pop(order.client_order_id)
        if tracked.order_id is not None:
            ledger.by_order_id.pop(tracked.order_id, None)
    rig.venue.placed.clear()


def pick_markets(n_markets: int, samples: int, rng: random.Random) -> list[int]:
    """Skewed activity: a few markets carry most of the flow, as on the real exchange."""
    weights = [1.0 / (i + 1) ** 0.8 for i in range(n_markets)]
    return rng.choices(range(n_markets), weights=weights, k=samples)


def write_mlp(directory: Path, seed: int) -> str:
    """A random 52 -> 64 -> 64 -> 5 tanh MLP with VecNormalize statistics (as bench_policy)."""
    rng = np.random.default_rng(seed)
    n = SCHEMA_V1.size
    sizes = (n, 64, 64, 5)
    layers = [
        (rng.normal(0.0, n_in**-0.5, (n_in, n_out)), rng.normal(0.0, 0.1, n_out))
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    write_mlp_policy(
        directory,
        layers,
        schema=SCHEMA_V1,
        obs_mean=rng.uniform(0.0, 0.5, n).tolist(),
        obs_std=rng.uniform(0.1, 1.0, n).tolist(),
    )
    return f"mlp:{directory}"
