"""In-process order-book benchmark: ``BookStore.apply_delta`` on one core, no I/O.

Builds a realistic delta stream over 50 markets (40 whole-cent, 5 tapered deci-cent, 5 deci-cent
grids), pre-generated so only the book work is timed: levels cluster near the touch; 65% of deltas
change the size of an existing level (fills, partial cancels, joins), 20% open a new level, 15%
remove a level entirely. Every generated delta is valid (a reference model tracks the sizes), so
no book turns invalid. An actor is simulated by draining the dirty set every 500 deltas.

Prints deltas/s, ns/delta and the conflation figures. Target: >= 300,000 deltas/s.

    PYTHONPATH=src python bench/bench_books.py [--deltas 1000000] [--seed 1] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import time

from kalshiflow.clock import SystemClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.bookstore import BookStore

N_MARKETS = 50
DRAIN_EVERY = 500
TARGET_PER_S = 300_000
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
) -> BookStore:
    store = BookStore(SystemClock())
    for ticker, grid in markets:
        store.register(ticker, grid)
    for snap in snapshots:
        store.apply_snapshot(snap)
    store.drain_dirty()
    apply = store.apply_delta
    drain = store.drain_dirty
    for start in range(0, len(deltas), DRAIN_EVERY):
        for delta in deltas[start : start + DRAIN_EVERY]:
            apply(delta)
        drain()
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

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

    best_s = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        store = run(markets, snapshots, deltas)
        best_s = min(best_s, time.perf_counter() - t0)
    metrics = store.metrics()
    assert metrics.deltas_applied == len(deltas), metrics
    assert metrics.valid_markets == N_MARKETS, metrics
    rate = len(deltas) / best_s
    print(
        f"apply_delta (best of 3, drain every {DRAIN_EVERY}): {rate:,.0f} deltas/s, {1e9 / rate:,.0f} ns/delta"
    )
    print(
        f"deltas applied {metrics.deltas_applied:,}, markets drained {metrics.markets_drained:,}, "
        f"updates coalesced {metrics.updates_coalesced:,}"
    )
    print(f"target {TARGET_PER_S:,} deltas/s: {'met' if rate >= TARGET_PER_S else 'NOT met'}")


if __name__ == "__main__":
    main()
