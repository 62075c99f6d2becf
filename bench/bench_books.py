"""In-process order-book benchmark: ``BookStore.apply_delta`` on one core, no I/O, side by side.

Builds a realistic delta stream over 50 markets (40 whole-cent, 5 tapered deci-cent, 5 deci-cent
grids), pre-generated so only the book work is timed: levels cluster near the touch; 65% of deltas
change the size of an existing level (fills, partial cancels, joins), 20% open a new level, 15%
remove a level entirely. Every generated delta is valid (a reference model tracks the sizes), so
no book turns invalid. An actor is simulated by draining the dirty set every 500 deltas (outside
the timing).

Contenders, each fed the same deltas, in interleaved rounds (the machine is shared and noisy):

* ``BookStore.apply_delta`` -- what the stream feed calls (``on_delta`` is the same function);
* ``OrderBook.apply_delta`` -- the bare book, called directly with pre-split arguments;
* ``kalshi-simple-ws-orderbook`` 1.0.0 (PyPI, dict per side plus a lock), ``handle_delta`` on the
  same deltas as its message dicts; skipped with a note when it is not installed (bench only, not
  a dependency: ``pip install kalshi-simple-ws-orderbook``).

Each contender is timed per batch of 500 deltas (one ``perf_counter_ns`` pair per batch, so the
timer costs nothing per delta); the figure is the median over batches and rounds of ns per delta.
The top-of-book read is ``book.best_bid(side)`` timed the same way over all books (the library:
``get_best_prices``). Targets (issue 13): store <= 350 ns/delta, top-of-book read <= 100 ns.

    PYTHONPATH=src python bench/bench_books.py [--deltas 300000] [--rounds 5] [--seed 1] [--profile]
                                               [--cpu-time]

``--cpu-time`` times each batch with ``time.thread_time_ns`` instead of the wall clock: on a shared,
loaded machine the wall clock's figures are mostly other processes' time slices.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import io
import pstats
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from kalshiflow.clock import SystemClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.bookstore import BookStore

N_MARKETS = 50
DRAIN_EVERY = 500
TARGET_DELTA_NS = 350
TARGET_READ_NS = 100
READS_PER_BATCH = 500
TIMER = time.perf_counter_ns  # ``--cpu-time``: time.thread_time_ns
GRIDS = ["linear_cent"] * 40 + ["tapered_deci_cent"] * 5 + ["deci_cent"] * 5
SIDES = (OutcomeSide.YES, OutcomeSide.NO)


class _MarketModel:
    """Reference sizes of one market, used only to generate valid deltas."""

    def __init__(self, ticker: str, grid: PriceGrid, rng: random.Random) -> None:
        self.ticker = ticker
        self.rng = rng
        tradable = grid.tradable
        mid = rng.randint(2_000, 8_000)
        # YES bids below the mid, NO bids below 1 - mid: never crossed.
        self.candidates = {
            OutcomeSide.YES: [p for p in tradable if mid - 1_500 <= p < mid],
            OutcomeSide.NO: [p for p in tradable if 10_000 - mid - 1_500 <= p < 10_000 - mid],
        }
        self.sizes: dict[OutcomeSide, dict[int, int]] = {OutcomeSide.YES: {}, OutcomeSide.NO: {}}
        for side in SIDES:
            for p in rng.sample(self.candidates[side], min(15, len(self.candidates[side]))):
                self.sizes[side][p] = rng.randint(1, 500) * 100

    def snapshot(self) -> OrderbookSnapshot:
        def levels(side: OutcomeSide) -> tuple[tuple[Price, Count], ...]:
            return tuple((Price(p), Count(s)) for p, s in sorted(self.sizes[side].items()))

        return OrderbookSnapshot(1, 1, self.ticker, levels(OutcomeSide.YES), levels(OutcomeSide.NO))

    def next_delta(self, seq: int) -> OrderbookDelta:
        rng = self.rng
        side = SIDES[rng.getrandbits(1)]
        sizes = self.sizes[side]
        roll = rng.random()
        if sizes and (roll < 0.65 or (roll >= 0.85 and len(sizes) > 3)):
            # Near the touch more often: pick among the best few levels.
            best = sorted(sizes, reverse=True)[: rng.choice((1, 2, 3, 8))]
            price = rng.choice(best)
            if roll < 0.65:
                delta = rng.choice((-1, 1)) * rng.randint(1, 200) * 10
                if sizes[price] + delta <= 0:
                    delta = -delta
            else:
                delta = -sizes[price]
        else:
            free = [p for p in self.candidates[side][-25:] if p not in sizes]
            if not free:
                price = max(sizes)
                delta = 100
            else:
                price = rng.choice(free)
                delta = rng.randint(1, 500) * 100
        new = sizes.get(price, 0) + delta
        if new:
            sizes[price] = new
        else:
            del sizes[price]
        return OrderbookDelta(1, seq, self.ticker, side, Price(price), Count(delta))


def build(
    n_deltas: int, seed: int
) -> tuple[list[tuple[str, PriceGrid]], list[OrderbookSnapshot], list[OrderbookDelta]]:
    rng = random.Random(seed)
    markets = [(f"KXBENCH-{i:02d}", PriceGrid.named(GRIDS[i])) for i in range(N_MARKETS)]
    models = [_MarketModel(t, g, rng) for t, g in markets]
    snapshots = [m.snapshot() for m in models]
    # Skewed activity: a few markets carry most of the flow, as on the real exchange.
    weights = [1.0 / (i + 1) for i in range(N_MARKETS)]
    picks = rng.choices(range(N_MARKETS), weights=weights, k=n_deltas)
    deltas = [models[i].next_delta(seq + 2) for seq, i in enumerate(picks)]
    return markets, snapshots, deltas


def run(
    markets: list[tuple[str, PriceGrid]], snapshots: list[OrderbookSnapshot], deltas: list[OrderbookDelta]
) -> tuple[BookStore, list[float]]:
    """The store as the feed drives it; returns it and ns per delta of each batch."""
    store = BookStore(SystemClock())
    for ticker, grid in markets:
        store.register(ticker, grid)
    for snap in snapshots:
        store.apply_snapshot(snap)
    store.drain_dirty()
    apply = store.on_delta  # what the stream calls
    drain = store.drain_dirty
    clock = TIMER
    per_delta: list[float] = []
    for start in range(0, len(deltas), DRAIN_EVERY):
        batch = deltas[start : start + DRAIN_EVERY]
        t0 = clock()
        for delta in batch:
            apply(delta)
        per_delta.append((clock() - t0) / len(batch))
        drain()
    return store, per_delta


def run_bare(
    markets: list[tuple[str, PriceGrid]], snapshots: list[OrderbookSnapshot], deltas: list[OrderbookDelta]
) -> list[float]:
    """``OrderBook.apply_delta`` alone: the book work without the store around it."""
    books: dict[str, OrderBook] = {}
    for (ticker, grid), snap in zip(markets, snapshots, strict=True):
        books[ticker] = OrderBook(ticker, grid)
        books[ticker].apply_snapshot(snap.yes, snap.no, 0)
    calls = [(books[d.ticker].apply_delta, d.side, d.price, d.delta) for d in deltas]
    clock = TIMER
    per_delta: list[float] = []
    for start in range(0, len(calls), DRAIN_EVERY):
        batch = calls[start : start + DRAIN_EVERY]
        t0 = clock()
        for apply, side, price, size in batch:
            apply(side, price, size)
        per_delta.append((clock() - t0) / len(batch))
    return per_delta


def third_party() -> Any | None:
    """``kalshi-simple-ws-orderbook``'s ``OrderbookManager`` class, or None when not installed."""
    try:
        module = importlib.import_module("orderbook_manager")  # the library's top-level module
    except ImportError:
        return None
    return module.OrderbookManager


def run_third_party(
    manager_class: Any, snapshots: list[OrderbookSnapshot], deltas: list[OrderbookDelta]
) -> tuple[Any, list[float]]:
    """The library on the same deltas, as its message dicts (built outside the timing)."""
    manager = manager_class()
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per snapshot
        for snap in snapshots:
            manager.handle_snapshot(
                {
                    "market_ticker": snap.ticker,
                    "market_id": snap.ticker,
                    "yes": [(int(p), int(n)) for p, n in snap.yes],
                    "no": [(int(p), int(n)) for p, n in snap.no],
                }
            )
    messages = [
        {"market_ticker": d.ticker, "price": int(d.price), "delta": int(d.delta), "side": d.side.value}
        for d in deltas
    ]
    handle = manager.handle_delta
    clock = TIMER
    per_delta: list[float] = []
    for start in range(0, len(messages), DRAIN_EVERY):
        batch = messages[start : start + DRAIN_EVERY]
        t0 = clock()
        for message in batch:
            handle(message)
        per_delta.append((clock() - t0) / len(batch))
    return manager, per_delta


def time_reads(read: Callable[[Any], object], targets: list[Any], batches: int) -> list[float]:
    """ns per read of ``read(target)``, cycling over ``targets``, timed per batch."""
    order = [targets[i % len(targets)] for i in range(READS_PER_BATCH)]
    clock = TIMER
    per_read: list[float] = []
    for _ in range(batches):
        t0 = clock()
        for target in order:
            read(target)
        per_read.append((clock() - t0) / READS_PER_BATCH)
    return per_read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--cpu-time", action="store_true", help="time with thread CPU time, not the wall clock"
    )
    args = parser.parse_args()
    if args.cpu_time:
        global TIMER
        TIMER = time.thread_time_ns

    t0 = time.perf_counter()
    markets, snapshots, deltas = build(args.deltas, args.seed)
    print(f"generated {len(deltas):,} deltas over {N_MARKETS} markets in {time.perf_counter() - t0:.1f}s")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(markets, snapshots, deltas)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
        return

    manager_class = third_party()
    if manager_class is None:
        print("kalshi-simple-ws-orderbook not installed: its column is skipped (pip install it to compare)")
    store_ns: list[float] = []
    bare_ns: list[float] = []
    lib_ns: list[float] = []
    read_ns: list[float] = []
    lib_read_ns: list[float] = []
    side = OutcomeSide.YES
    for _ in range(args.rounds):
        store, per_delta = run(markets, snapshots, deltas)
        store_ns += per_delta
        bare_ns += run_bare(markets, snapshots, deltas)
        books = [book for ticker in store.tickers if (book := store.book(ticker)) is not None]
        read_ns += time_reads(lambda book: book.best_bid(side), books, 200)
        if manager_class is not None:
            manager, per_delta = run_third_party(manager_class, snapshots, deltas)
            lib_ns += per_delta
            lib_read_ns += time_reads(manager.get_best_prices, [t for t, _ in markets], 200)
    metrics = store.metrics()
    assert metrics.deltas_applied == len(deltas), metrics
    assert metrics.valid_markets == N_MARKETS, metrics

    def row(name: str, values: list[float]) -> None:
        q = statistics.quantiles(values, n=10)
        print(f"  {name:<44} median {statistics.median(values):6.0f} ns   p10 {q[0]:6.0f}   p90 {q[-1]:6.0f}")

    print(
        f"ns per delta, median of {len(store_ns)} batches of {DRAIN_EVERY} over {args.rounds} interleaved rounds:"
    )
    row("BookStore.apply_delta (as the feed calls it)", store_ns)
    row("OrderBook.apply_delta (bare book)", bare_ns)
    if lib_ns:
        row("kalshi-simple-ws-orderbook handle_delta", lib_ns)
        print(
            f"  ratio library / store (medians): {statistics.median(lib_ns) / statistics.median(store_ns):.2f}x"
        )
    print("ns per top-of-book read:")
    row("OrderBook.best_bid(side)", read_ns)
    if lib_read_ns:
        row("kalshi-simple-ws-orderbook get_best_prices", lib_read_ns)
    print(
        f"deltas applied {metrics.deltas_applied:,}, markets drained {metrics.markets_drained:,}, "
        f"updates coalesced {metrics.updates_coalesced:,}"
    )
    delta_ok = statistics.median(store_ns) <= TARGET_DELTA_NS
    read_ok = statistics.median(read_ns) <= TARGET_READ_NS
    print(
        f"target store delta <= {TARGET_DELTA_NS} ns: {'met' if delta_ok else 'NOT met'}; "
        f"top-of-book read <= {TARGET_READ_NS} ns: {'met' if read_ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
