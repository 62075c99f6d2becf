"""``compute_observation`` per call on realistic books: mean, p50 and p99 in µs.

Builds 50 markets (40 whole-cent, 5 tapered deci-cent, 5 deci-cent grids) with 15 levels a side
clustered near the touch, a history of 300 s of updates at ~10/s, a position in half of them and
two resting orders in a third, then times ``calls`` observations round-robin over the markets, one
``perf_counter_ns`` pair per call. The observation is on the decision path (delta -> order request,
target p99 <= 300 µs end to end), so it should cost a small fraction of that.

    PYTHONPATH=src python bench/bench_features.py [--calls 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.features import SCHEMA_V1, MarketHistory, ObservationScales, compute_observation
from kalshiflow.features.valuation import CashView, MarketView, PositionView
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder

NOW = 1_790_000_000_000
GRIDS = ["linear_cent"] * 40 + ["tapered_deci_cent"] * 5 + ["deci_cent"] * 5
SCALES = ObservationScales(Money.dollars(1_000), Count.contracts(100))


def build(seed: int) -> list[tuple[object, ...]]:
    rng = random.Random(seed)
    cases: list[tuple[object, ...]] = []
    for i, name in enumerate(GRIDS):
        grid = PriceGrid.named(name)
        tradable = [int(p) for p in grid.tradable]
        mid = rng.randint(1_500, 8_500)
        yes = [p for p in tradable if mid - 1_500 <= p < mid - 50]
        no = [p for p in tradable if PRICE_SCALE - mid - 1_500 <= p < PRICE_SCALE - mid - 50]
        ticker = f"KXBENCH-{i}"
        book = OrderBook(ticker, grid)
        book.apply_snapshot(
            [(p, rng.randint(1, 500) * 100) for p in sorted(rng.sample(yes, min(15, len(yes))))],
            [(p, rng.randint(1, 500) * 100) for p in sorted(rng.sample(no, min(15, len(no))))],
            NOW - 50,
        )
        history = MarketHistory(ticker)
        mid_x2 = 2 * mid
        for k in range(3_000):
            mid_x2 += rng.choice((-100, 0, 0, 0, 100))
            history.record_touch(mid_x2, 200 + rng.choice((0, 100, 200)), NOW - 300_000 + k * 100)
        history.record(book, NOW - 50)
        market = MarketView(ticker, MarketStatus.ACTIVE, NOW + 3_600_000, grid)
        position = PositionView(ticker, Count(rng.choice((1, -1)) * 2_000), Money(10_000_000), NOW - 60_000)
        bid = book.best_bid(BookSide.BID.outcome_side) or Price(100)
        orders = [
            TrackedOrder(f"c{i}-{j}", ticker, BookSide.BID, bid, Count(1_000), OrderPurpose.OPEN, NOW - 5_000)
            for j in range(2)
        ]
        for order in orders:
            order.state = OrderState.RESTING
        cases.append(
            (
                book,
                history,
                market,
                position if i % 2 else None,
                CashView(Money.dollars(800), Money.dollars(40)),
                orders if i % 3 == 0 else [],
            )
        )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cases = build(args.seed)
    schema = SCHEMA_V1
    timings: list[int] = []
    clock = time.perf_counter_ns
    for n in range(args.calls):
        book, history, market, position, cash, orders = cases[n % len(cases)]
        start = clock()
        compute_observation(schema, book, history, market, position, cash, orders, NOW, SCALES)  # type: ignore[arg-type]
        timings.append(clock() - start)
    timings.sort()
    mean = statistics.fmean(timings) / 1_000
    p50 = timings[len(timings) // 2] / 1_000
    p99 = timings[int(len(timings) * 0.99)] / 1_000
    print(f"compute_observation: {args.calls} calls over {len(cases)} markets, {schema.size} features")
    print(f"  mean {mean:.1f} µs   p50 {p50:.1f} µs   p99 {p99:.1f} µs   max {timings[-1] / 1_000:.1f} µs")


if __name__ == "__main__":
    main()
