"""In-process matching-engine benchmark (one core, no I/O).

Drives ``kalshiflow.sim.engine.Engine`` directly with a realistic mix of order operations over
20 markets and 50 accounts: resting creates 50%, cancels 25%, crossing creates 15%, amends 10%.
Runs three times: with no listeners attached, with one no-op listener (the cost of building events),
and with the simulator's candle recorder (what every served simulator pays for candlesticks).
Prints throughput and per-operation latency (mean, p50, p99, from time.perf_counter_ns around
every operation).

    PYTHONPATH=src python bench/bench_engine.py [--ops 200000] [--seed 1] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import time
from dataclasses import dataclass

from kalshiflow.clock import ManualClock
from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.sim import lifecycle
from kalshiflow.sim.candles import CandleRecorder
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.events import EngineEvent
from kalshiflow.sim.state import SimEvent, SimMarket, SimOrder, SimSeries

N_MARKETS = 20
N_ACCOUNTS = 50
T0 = 1_790_000_000_000
BALANCE = 10**15  # Money: effectively unlimited, so the mix is not distorted by rejections
MIX = (("rest", 50), ("cancel", 25), ("cross", 15), ("amend", 10))


@dataclass
class Figures:
    label: str
    ops: int
    seconds: float
    latencies_ns: list[int]
    by_kind: dict[str, list[int]]
    rejected: int
    fills: int
    resting_end: int

    def report(self) -> str:
        lat = sorted(self.latencies_ns)
        p50 = lat[len(lat) // 2] / 1000
        p99 = lat[int(len(lat) * 0.99)] / 1000
        mean = statistics.fmean(lat) / 1000
        return (
            f"{self.label:<22} {self.ops:>8} ops in {self.seconds:6.2f} s = {self.ops / self.seconds:>9,.0f} ops/s"
            f" | mean {mean:6.1f} us  p50 {p50:6.1f} us  p99 {p99:7.1f} us"
            f" | fills {self.fills}, rejected {self.rejected}, resting at end {self.resting_end}"
            + "".join(
                f"\n    {kind:<7} {len(lat):>7} ops  mean {statistics.fmean(lat) / 1000:6.1f} us"
                f"  p50 {sorted(lat)[len(lat) // 2] / 1000:6.1f} us  p99 {sorted(lat)[int(len(lat) * 0.99)] / 1000:7.1f} us"
                for kind, lat in self.by_kind.items()
                if lat
            )
        )


def build_engine(seed: int) -> tuple[Engine, list[str], list[str]]:
    clock = ManualClock(T0)
    engine = Engine(clock, seed=seed)
    tickers = []
    for m in range(N_MARKETS):
        fee_type = FeeType.QUADRATIC_WITH_MAKER_FEES if m % 3 == 0 else FeeType.QUADRATIC
        series = SimSeries(f"KXB{m}", "Bench series", fee_type=fee_type)
        event = SimEvent(f"KXB{m}-26JAN01", series.ticker, "Bench event")
        ticker = f"KXB{m}-26JAN01-T{m}"
        grid = "deci_cent" if m % 5 == 0 else "linear_cent"
        engine.add_market(
            series,
            event,
            SimMarket(
                ticker,
                event.event_ticker,
                f"id{m}",
                "Bench",
                "Y",
                "N",
                PriceGrid.named(grid),
                open_ms=T0 - 1_000,
                close_ms=T0 + 10 * 86_400_000,
                created_ms=T0 - 2_000,
            ),
        )
        tickers.append(ticker)
    accounts = [f"acct{a}" for a in range(N_ACCOUNTS)]
    for account_id in accounts:
        engine.add_account(account_id, BALANCE)
    lifecycle.advance(engine, T0)
    return engine, tickers, accounts


def run(label: str, n_ops: int, seed: int, listener: str, profile: bool = False) -> Figures:
    engine, tickers, accounts = build_engine(seed)
    if listener == "no-op":

        def no_op(event: EngineEvent) -> None:
            return None

        engine.add_listener(no_op)
    elif listener == "candles":
        CandleRecorder(engine)
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    resting: list[SimOrder] = []  # sampled for cancels/amends; stale entries are skipped
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    latencies: list[int] = []
    by_kind: dict[str, list[int]] = {kind: [] for kind in kinds}
    rejected = 0
    perf = time.perf_counter_ns
    # Pre-draw the operation stream so the timed loop measures the engine, not the generator.
    plan = [
        (
            rng.choices(kinds, weights)[0],
            rng.choice(accounts),
            rng.choice(tickers),
            rng.choice((BookSide.BID, BookSide.ASK)),
            rng.randint(1, 12),  # cents away from the middle
            rng.choice((100, 100, 200, 500, 1_000, 150)),
            rng.random(),
        )
        for _ in range(n_ops)
    ]
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    start = perf()
    for i, (kind, account, ticker, side, offset, size, u) in enumerate(plan):
        if i % 1_000 == 0:
            clock.set_ms(T0 + i)  # time moves on (order groups, volume windows) without expiring anything
        if kind in ("cancel", "amend"):
            order = None
            while resting:
                j = int(u * len(resting))
                candidate = resting[j]
                if candidate.is_resting:
                    order = candidate
                    break
                resting[j] = resting[-1]
                resting.pop()
            if order is None:
                kind = "rest"
        if kind == "rest" or kind == "cross":
            # Resting: bid below / ask above the middle; crossing: through the middle.
            mid = 5_000
            cents = offset * 100
            if kind == "rest":
                yes = mid - cents if side is BookSide.BID else mid + cents
                tif = TimeInForce.GOOD_TILL_CANCELED
            else:
                yes = mid + cents if side is BookSide.BID else mid - cents
                tif = TimeInForce.IMMEDIATE_OR_CANCEL if u < 0.5 else TimeInForce.GOOD_TILL_CANCELED
            req = OrderRequest(ticker, side, yes, size, tif, SelfTradePrevention.MAKER)
            t0 = perf()
            try:
                result = engine.create_order(account, req)
            except ExchangeError:
                rejected += 1
                latencies.append(perf() - t0)
                continue
            latencies.append(perf() - t0)
            by_kind[kind].append(latencies[-1])
            if result.order.is_resting:
                resting.append(result.order)
        elif kind == "cancel":
            assert order is not None
            t0 = perf()
            engine.cancel_order(order.account_id, order.order_id)
            latencies.append(perf() - t0)
            by_kind[kind].append(latencies[-1])
        else:
            assert order is not None
            step = 100 if u < 0.5 else -100
            new_price = min(max(order.yes_price + step, 100), 9_900)
            t0 = perf()
            try:
                engine.amend_order(
                    order.account_id,
                    order.order_id,
                    order.ticker,
                    order.side,
                    new_price,
                    order.fill_count + order.remaining_count,
                )
            except ExchangeError:
                rejected += 1
            latencies.append(perf() - t0)
            by_kind[kind].append(latencies[-1])
    seconds = (perf() - start) / 1e9
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    fills = sum(len(a.fills) for a in engine.accounts.values())
    resting_end = sum(1 for o in engine.orders.values() if o.is_resting)
    return Figures(label, n_ops, seconds, latencies, by_kind, rejected, fills, resting_end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the no-listener run")
    args = parser.parse_args()
    print(f"engine benchmark: {N_MARKETS} markets, {N_ACCOUNTS} accounts, mix {dict(MIX)}, {args.ops} ops")
    print("(wall clock includes the benchmark's own loop; latency is measured around each engine call)")
    configs = (("no listeners", ""), ("one no-op listener", "no-op"), ("candle recorder", "candles"))
    for label, listener in configs:
        figures = run(label, args.ops, args.seed, listener, profile=args.profile and not listener)
        print(figures.report())


if __name__ == "__main__":
    main()
