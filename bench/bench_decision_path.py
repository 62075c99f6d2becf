"""Delta received -> order request built, in-process: the trader's hot path end to end, no network.

    PYTHONPATH=src:. python bench/bench_decision_path.py [--markets 500] [--samples 50000] [--seed 1]
                                                          [--ledger-orders 0] [--no-breakdown]
                                                          [--gc-freeze] [--what-if-cached-views]

What runs is the real code of a live trader, wired as ``TraderApp`` wires it:

* a ``BookStore`` with ``--markets`` markets (80% whole-cent, 10% tapered deci-cent, 10% deci-cent
  grids), each restored from a snapshot of 15 levels a side clustered at the touch, with a one-tick
  spread; 3 in 4 markets lean hard one way (heavy bids on one leg, thin on the other, also in depth)
  so the rule policy wants to buy there, the rest are balanced (the rule policy holds);
* a real ``TraderCore`` (ledger with $10,000 cash, risk gate, executor, order groups off) whose REST
  client is a stub venue: ``place(NewOrder)`` is where the order request is complete and would go on
  the wire, so the stub takes the end timestamp there and answers "resting"; no other REST call is
  ever made. The throttle is set to 0 s (``per_market_min_interval_s``) so every sample may order;
  the check still runs;
* a ``LiveObserver`` (trader/decider.py) hooked to the store's change hook, its histories pre-filled
  with 300 s of 100 ms samples; the real ``Actor`` with the policy (``rules``, then a random
  52 -> 64 -> 64 -> 5 ``mlp`` written by ``write_mlp_policy``, with VecNormalize statistics).

One sample = one generated ``OrderbookDelta`` (70% resize a level, 15% add a level behind the touch,
15% remove a level behind the touch -- the touch and spread stay, so the lean does), then timed from
just before ``BookStore.apply_delta`` to: the stub venue receiving the ``NewOrder`` (an order was
built), or ``Actor.drain`` returning (hold or denial). That includes drain of the dirty set, the
observation, ``policy.decide``, the risk context + ``check_order``, the order group lookup, the
client order id and ``NewOrder`` + pending record in the ledger. It excludes the HTTP send and
everything after it (the ack, the ``trader_action`` report), and the delta's parsing off the socket.

Between samples, outside the timing, each built order is cancelled in the ledger and dropped from
``ledger.orders`` so the ledger stays the same size (``--ledger-orders K`` instead pre-loads K
cancelled orders, to show the cost of ``Ledger.live_orders`` scanning every order ever recorded).

Also printed (unless ``--no-breakdown``): the same steps timed one by one on the same objects,
calling the functions directly (``NewOrder`` built in place of the executor), to show where the
time goes. GC stays on (``--gc-freeze`` freezes what setup built; ``--what-if-cached-views`` shows the
path with ``TraderCore.market_views()`` built once instead of per call). Figures are single-thread CPython on this machine; no timing assertions.
Target (issue 5): p99 <= 300 µs for samples that built an order.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kalshiflow.clock import SystemClock
from kalshiflow.config import Settings, load_settings
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide, intent_to_v2
from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price
from kalshiflow.exchange.models_market import Market, MarketStatus
from kalshiflow.exchange.models_orders import CreateOrderResult, NewOrder
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.features import SCHEMA_V1, MarketHistory
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.policy.export_tools import write_mlp_policy
from kalshiflow.policy.registry import load_policy
from kalshiflow.trader.actor import Actor, PolicyLike, TraderAction, touch_price
from kalshiflow.trader.core import CoreConfig, TraderCore
from kalshiflow.trader.decider import LiveObserver
from kalshiflow.trader.orders import OrderPurpose, OrderState, TrackedOrder
from kalshiflow.trader.risk.gate import check_order
from kalshiflow.trader.risk.types import OrderIntent, TradeAction

TARGET_P99_US = 300.0
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
    """The only REST method the hot path reaches: ``place``. Takes the end time, answers resting."""

    def __init__(self) -> None:
        self.built_ns = 0
        self.placed: list[NewOrder] = []
        self._ids = itertools.count(1)

    async def place(self, order: NewOrder) -> CreateOrderResult:
        self.built_ns = time.perf_counter_ns()
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
    actions: list[TraderAction] = field(default_factory=list)


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
    """Books from snapshots, a real TraderCore on a stub venue, a LiveObserver hooked to the store."""
    rng = random.Random(seed)
    base = load_settings(environ={})
    settings = base.model_copy(
        update={"risk": base.risk.model_copy(update={"per_market_min_interval_s": throttle_s})}
    )
    clock = SystemClock()
    now = clock.now_ms()
    books = BookStore(clock)
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
    core = TraderCore(venue, clock, books, markets, config)  # type: ignore[arg-type]  # stub venue
    core.ledger.overwrite_cash(CASH, now)
    observer = LiveObserver(core, settings)
    books.on_change = observer.on_book_change  # as decider.build_decider does
    # 300 s of history at 100 ms resolution before the snapshot, so every window is populated.
    for model in models:
        bid, ask = model.best[OutcomeSide.YES], PRICE_SCALE - model.best[OutcomeSide.NO]
        history = observer.histories[model.ticker] = MarketHistory(model.ticker)
        walk = bid + ask
        for k in range(3_000):
            walk += rng.choice((-20, 0, 0, 0, 20))
            history.record_touch(walk, 2 * (ask - bid), now - 300_000 + k * 100)
        books.apply_snapshot(model.snapshot())  # the change hook records the snapshot's touch
    books.drain_dirty_since()
    return Rig(settings, clock, books, core, venue, observer, models)


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


async def run_actor_path(rig: Rig, policy: PolicyLike, samples: int, seed: int) -> dict[str, list[int]]:
    """Time delta -> NewOrder through the real Actor; returns ns per outcome class."""
    actor = Actor(
        rig.books,
        rig.core,
        policy,
        rig.observer.observe,
        rig.settings.run.order_size_contracts,
        rig.clock,
        may_trade=lambda: True,
        on_action=rig.actions.append,
    )
    picks = pick_markets(len(rig.models), samples, random.Random(seed))
    out: dict[str, list[int]] = {}
    apply_delta, drain, venue, clock = rig.books.apply_delta, actor.drain, rig.venue, time.perf_counter_ns
    for n, i in enumerate(picks):
        delta = rig.models[i].next_delta()
        venue.built_ns = 0
        rig.actions.clear()
        start = clock()
        apply_delta(delta)
        await drain()
        end = clock()
        if venue.built_ns:
            end, kind = venue.built_ns, "order"
        else:
            kind = rig.actions[-1].result if rig.actions else "no decision"
        if n >= 1_000:  # warm-up excluded
            out.setdefault(kind, []).append(end - start)
        forget_placed(rig)
    return out


def run_breakdown(rig: Rig, policy: PolicyLike, samples: int, seed: int) -> dict[str, list[int]]:
    """The same steps called directly, each timed; only samples that built an order are kept."""
    picks = pick_markets(len(rig.models), samples, random.Random(seed))
    books, core, observe, decide = rig.books, rig.core, rig.observer.observe, policy.decide
    size = rig.settings.run.order_size_contracts
    limits = core.config.risk
    clock = time.perf_counter_ns
    stages: dict[str, list[int]] = {
        k: [] for k in ("apply_delta", "drain", "observe", "decide", "risk ctx+gate", "NewOrder", "total")
    }
    for n, i in enumerate(picks):
        delta = rig.models[i].next_delta()
        t0 = clock()
        books.apply_delta(delta)
        t1 = clock()
        ((ticker, _since),) = books.drain_dirty_since()
        book = books.book(ticker)
        assert book is not None
        t2 = clock()
        obs = observe(ticker, book)
        assert obs is not None
        t3 = clock()
        decision = decide(obs)
        t4 = clock()
        if decision.action.name == "HOLD":
            continue
        action = TradeAction[decision.action.name]
        price = touch_price(book, action)
        assert price is not None
        verdict = check_order(
            OrderIntent(ticker, action, price, size), core.risk_context(ticker), limits, rig.clock.now_ms()
        )
        t5 = clock()
        if not verdict.allowed:
            continue
        v2 = intent_to_v2(action.side, action.action, price)
        NewOrder(ticker, v2.side, v2.yes_price, size, f"kf-{n:032x}")
        t6 = clock()
        if n < 1_000:
            continue
        for key, value in zip(
            stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t6 - t0), strict=True
        ):
            stages[key].append(value)
    return stages


def quantiles(samples: Sequence[int]) -> tuple[float, float, float, float, float]:
    """(mean, p50, p99, p99.9, max) in µs."""
    ordered = sorted(samples)
    n = len(ordered)
    return (
        sum(ordered) / n / 1_000,
        ordered[n // 2] / 1_000,
        ordered[min(n - 1, int(n * 0.99))] / 1_000,
        ordered[min(n - 1, int(n * 0.999))] / 1_000,
        ordered[-1] / 1_000,
    )


def report(label: str, out: dict[str, list[int]]) -> float | None:
    total = sum(len(v) for v in out.values())
    orders = out.get("order", [])
    every = [x for v in out.values() for x in v]
    print(f"{label}: {total} samples, {len(orders) / total:.0%} built an order")
    mix = ", ".join(f"{k}={len(v)}" for k, v in sorted(out.items(), key=lambda kv: -len(kv[1])))
    print(f"  outcomes: {mix}")
    rows = [
        ("order built", orders),
        ("hold / denied", [x for k, v in out.items() if k != "order" for x in v]),
    ]
    rows.append(("all samples", every))
    for name, values in rows:
        if values:
            mean, p50, p99, p999, worst = quantiles(values)
            print(
                f"  {name:<14} n={len(values):>6}  mean={mean:6.1f} µs  p50={p50:6.1f} µs  "
                f"p99={p99:6.1f} µs  p99.9={p999:8.1f} µs  max={worst:8.1f} µs"
            )
    return quantiles(orders)[2] if orders else None


def report_breakdown(label: str, stages: dict[str, list[int]]) -> None:
    if not stages["total"]:
        print(f"  {label} breakdown: no order built")
        return
    print(f"  {label} step by step (direct calls, {len(stages['total'])} order-building samples):")
    for name, values in stages.items():
        mean, p50, p99, _, worst = quantiles(values)
        print(
            f"    {name:<14} mean={mean:6.1f} µs  p50={p50:6.1f} µs  p99={p99:6.1f} µs  max={worst:8.1f} µs"
        )


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--ledger-orders", type=int, default=0, help="pre-load this many cancelled orders in the ledger"
    )
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after setup")
    parser.add_argument(
        "--what-if-cached-views",
        action="store_true",
        help="replace TraderCore.market_views() by a dict built once (what a cached view would give)",
    )
    args = parser.parse_args()

    worst: list[float] = []
    with tempfile.TemporaryDirectory() as directory:
        specs = ("rules", write_mlp(Path(directory), args.seed))
        for spec in specs:
            policy = load_policy(spec, SCHEMA_V1)
            label = "rules" if spec == "rules" else "mlp 52-64-64-5"
            rig = build_rig(args.markets, args.seed)
            preload_ledger(rig.core, args.ledger_orders, rig.clock.now_ms())
            if args.what_if_cached_views:
                views = rig.core.market_views()
                rig.core.market_views = lambda views=views: views  # type: ignore[method-assign]
            gc.collect()
            if args.gc_freeze:
                gc.freeze()
            print(
                f"\n== {label}: {args.markets} markets, ledger holds {len(rig.core.ledger.orders)} orders, "
                f"gc {'frozen after setup' if args.gc_freeze else 'on (as the trader runs)'}"
                f"{', WHAT-IF market_views cached' if args.what_if_cached_views else ''}; "
                "execution = stub venue (order request timed at venue.place)"
            )
            out = asyncio.run(run_actor_path(rig, policy, args.samples, args.seed))
            p99 = report(f"delta -> NewOrder via Actor [{label}]", out)
            if p99 is not None:
                worst.append(p99)
            if not args.no_breakdown:
                report_breakdown(label, run_breakdown(rig, policy, args.samples, args.seed + 1))
            gc.unfreeze()
    if worst:
        verdict = "met" if max(worst) <= TARGET_P99_US else "NOT met"
        print(
            f"\ntarget p99 <= {TARGET_P99_US:.0f} µs (order built): {verdict} (worst p99 {max(worst):.1f} µs)"
        )


if __name__ == "__main__":
    main()
