"""Simulated market, in process and clock-driven: simulated market-hours per wall second.

Runs ``HeadlessMarket`` (engine + market model on a manual clock, no server, no sleeping) with the
default profile on one core, advancing simulated time in one-minute slices (as a training or
evaluation loop would), with one no-op engine listener (what any consumer of the events costs).
Prints market-hours per wall second and per CPU second of this process (on a machine shared with
other work the CPU figure is what one free core would give; the load average is printed beside
it), model events and engine events (book changes, trades) per market-hour, and settled markets.
Target: >= 20 market-hours per second on one core at 100 markets.

    PYTHONPATH=src python bench/bench_sim_market.py [--markets 100] [--hours 6] [--seed 1] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections import Counter

from kalshiflow.sim.events import BookDelta, EngineEvent, TradeEvent
from kalshiflow.sim.market.headless import HeadlessMarket
from kalshiflow.sim.market.profile import MarketProfile


def run(markets: int, hours: float, seed: int, life_scale: float) -> str:
    counts: Counter[str] = Counter()

    def listener(event: EngineEvent) -> None:
        if isinstance(event, BookDelta):
            counts["book_changes"] += 1
        elif isinstance(event, TradeEvent):
            counts["trades"] += 1

    profile = MarketProfile().scaled_life(life_scale) if life_scale != 1.0 else MarketProfile()
    started = time.perf_counter()
    market = HeadlessMarket(seed, markets, profile, listener=listener)
    setup_s = time.perf_counter() - started
    started = time.perf_counter()
    cpu_started = time.process_time()
    end = market.now_ms() + round(hours * 3_600_000)
    while market.now_ms() < end:
        market.advance(60)
    wall_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    market_hours = markets * hours
    model = market.model
    return (
        f"markets {markets}  hours {hours:g}  life scale {life_scale:g}  seed {seed}\n"
        f"  setup {setup_s:.2f} s; run {wall_s:.2f} s wall for {market_hours:g} market-hours"
        f" = {market_hours / wall_s:.1f} market-hours per wall second;"
        f" {cpu_s:.2f} s CPU = {market_hours / cpu_s:.1f} market-hours per CPU second (load {load})\n"
        f"  per market-hour: {model.events_processed / market_hours:,.0f} model events,"
        f" {counts['book_changes'] / market_hours:,.0f} book changes, {counts['trades'] / market_hours:,.0f} trades\n"
        f"  settled markets {len(model.outcomes)}, engine orders kept {len(market.engine.orders):,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=100)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--life-scale", type=float, default=1.0)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    args = parser.parse_args()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
    print(run(args.markets, args.hours, args.seed, args.life_scale))
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
