"""Journal benchmark: what committing an order before its create is sent costs (issue 8).

``TraderStore.commit_order`` puts the order's row on the store's one writer thread and waits (off
the event loop) until it is committed. Measured on a fresh SQLite file (WAL, synchronous=NORMAL)
in a temporary directory, from the event loop, two ways:

1. ``idle``   -- orders committed one after another with nothing else queued;
2. ``busy``   -- the same while the ledger's other rows (fills, positions, cash) stream into the
   batched writer at ``--rate`` rows per second, as during heavy trading.

Prints the commit latency distribution (what each create waits before it is sent).

    PYTHONPATH=src python bench/bench_journal.py [--orders 500] [--rate 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from kalshiflow.clock import SystemClock
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.ledger import CashCause, CashChanged, OrderPurpose, OrderSnapshot, OrderState
from kalshiflow.store.trader_repo import TraderStore


def snapshot(n: int) -> OrderSnapshot:
    return OrderSnapshot(
        client_order_id=f"kf-bench-{n}",
        ticker="KXBENCH-26JAN01-T1",
        side=BookSide.BID,
        yes_price=Price.parse("0.4500"),
        count=Count.contracts(1),
        purpose=OrderPurpose.OPEN,
        created_ms=n,
        state=OrderState.PENDING,
        order_id=None,
        filled=Count(0),
        remaining=Count.contracts(1),
        close_reason=None,
        reduce_only=False,
        order_group_id=None,
        updated_ms=n,
        detail="",
        fees=Money(0),
        reserved=Money(0),
    )


async def commits(store: TraderStore, orders: int, start: int) -> list[float]:
    latencies = []
    for n in range(start, start + orders):
        t0 = time.perf_counter()
        await store.commit_order(snapshot(n))
        latencies.append((time.perf_counter() - t0) * 1e6)
    return latencies


async def background(store: TraderStore, rate: int, stop: asyncio.Event) -> None:
    per_tick = max(1, rate // 100)
    while not stop.is_set():
        for _ in range(per_tick):
            store.on_ledger_event(CashChanged(Money(1), int(time.time() * 1000), CashCause.FILL))
        await asyncio.sleep(0.01)


def report(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name:5}  orders {len(ordered):5d}  commit p50 {p50:8.0f} us  p99 {p99:8.0f} us  "
        f"max {ordered[-1]:8.0f} us  mean {statistics.fmean(ordered):8.0f} us"
    )


async def main(orders: int, rate: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = TraderStore(f"sqlite:///{Path(directory) / 'journal.db'}", SystemClock())
        try:
            report("idle", await commits(store, orders, 0))
            stop = asyncio.Event()
            feeder = asyncio.create_task(background(store, rate, stop))
            try:
                report("busy", await commits(store, orders, orders))
            finally:
                stop.set()
                await feeder
        finally:
            store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--rate", type=int, default=5000, help="other rows per second in the busy run")
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.rate))
