"""What the slowest 1% of the decision path's samples do that the median ones do not.

    PYTHONPATH=src:bench python bench/decision_tail.py [--policy rules:signal] [--samples 12000]
                                                       [--markets 500] [--seed 1] [--wall-clock]

The rig of ``bench_decision_path`` (``decision_rig``: 500 markets, one bus with five subscribers of
every event type, reactive exits with 50 positions held, the real ``Actor`` on a stub venue), one
delta per sample, timed from ``BookStore.apply_delta`` to the stub venue receiving the ``NewOrder``.
Each stage of the path is wrapped in a timer (the wrappers add a few µs per sample, the same for
every sample), and each sample also notes: garbage collections and minor page faults during it,
whether the clock's millisecond moved since the previous sample, whether the market's history
took a new sample, and how many samples ago its market was last touched (a market not touched for
long has its objects out of the CPU caches). For the samples that built an order it prints the
mean of each figure over the middle decile and over the slowest 1%: a stage that only the slow
ones run shows as a figure near 0 in the middle column; a slowdown spread over every stage (and
over markets touched less recently) points at the machine (caches, other processes), not the code.

Thread CPU time by default (``--wall-clock`` for ``perf_counter``), so another process's time
slices are not counted; their cache pollution still is. Figures are µs except the counts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

import decision_rig
from decision_rig import (
    attach_subscribers,
    build_rig,
    forget_placed,
    hold_positions,
    pick_markets,
    rig_actor,
)
from kalshiflow.commands.run_app import settle_startup_heap
from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.registry import load_policy

COUNTS = ("gc", "faults", "clock moved", "history moved", "since touched")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="rules:signal")
    parser.add_argument("--samples", type=int, default=12_000)
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wall-clock", action="store_true")
    args = parser.parse_args()
    timer = time.perf_counter_ns if args.wall_clock else time.thread_time_ns
    decision_rig.StubVenue.timer = timer
    rows = asyncio.run(trace(args.policy, args.samples, args.markets, args.seed, timer))
    orders = sorted((r for r in rows if r["order"]), key=lambda r: r["total"])
    n = len(orders)
    if n < 100:
        print(f"{n} samples built an order: too few to compare")
        return
    middle, slow = orders[int(n * 0.45) : int(n * 0.55)], orders[int(n * 0.99) :]
    print(
        f"{args.policy}: {n} samples built an order; p50 {orders[n // 2]['total'] / 1e3:.1f} µs, "
        f"p99 {orders[int(n * 0.99)]['total'] / 1e3:.1f} µs (stage timers included)"
    )
    print(f"  {'':<16}{'middle 10%':>12}{'slowest 1%':>12}")
    for key in sorted({k for r in orders for k in r} - {"order"}):
        scale = 1 if key in COUNTS else 1_000
        mid = sum(r.get(key, 0) for r in middle) / len(middle) / scale
        worst = sum(r.get(key, 0) for r in slow) / len(slow) / scale
        print(f"  {key:<16}{mid:>12.2f}{worst:>12.2f}")


async def trace(
    spec: str, samples: int, markets: int, seed: int, timer: Callable[[], int]
) -> list[dict[str, Any]]:
    policy = load_policy(spec, SCHEMA_V1)
    rig = build_rig(markets, seed)
    attach_subscribers(rig.core.bus, 5)
    hold_positions(rig, 50)
    settle_startup_heap()
    stages: dict[str, int] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            start = timer()
            result = fn(*args)
            stages[name] = stages.get(name, 0) + timer() - start
            return result

        return wrapper

    def timed_async(name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = timer()
            result = await fn(*args, **kwargs)
            # The order path ends where the stub venue takes its timestamp, not when place returns.
            end = rig.venue.built_ns or timer()
            stages[name] = stages.get(name, 0) + end - start
            return result

        return wrapper

    core = rig.core
    observe = timed("observe", rig.observer.observe)
    policy.decide = timed("decide", policy.decide)  # type: ignore[method-assign]
    core.exits.book_exits = timed("exits", core.exits.book_exits)  # type: ignore[method-assign]
    core.risk_context = timed("risk context", core.risk_context)  # type: ignore[method-assign]
    core.ledger.record_pending = timed("record pending", core.ledger.record_pending)  # type: ignore[method-assign]
    core.open_position = timed_async("open -> venue", core.open_position)  # type: ignore[method-assign,assignment]
    actor = rig_actor(rig, policy, observe)
    collections = [0]
    gc.callbacks.append(lambda phase, _info: collections.__setitem__(0, collections[0] + (phase == "start")))
    last_touched: dict[int, int] = {}
    last_ms = -1
    rows: list[dict[str, Any]] = []
    for n, i in enumerate(pick_markets(markets, samples, random.Random(seed))):
        delta = rig.models[i].next_delta()
        history = rig.observer.histories[rig.models[i].ticker]
        history_version, now_ms, gcs = history.version, rig.clock.now_ms(), collections[0]
        faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        rig.venue.built_ns = 0
        stages.clear()
        start = timer()
        rig.books.apply_delta(delta)
        await actor.drain()
        end = rig.venue.built_ns or timer()
        faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults
        if n >= 1_000:  # warm-up excluded
            rows.append(
                {
                    **stages,
                    "total": end - start,
                    "order": bool(rig.venue.built_ns),
                    "gc": collections[0] - gcs,
                    "faults": faults,
                    "clock moved": now_ms != last_ms,
                    "history moved": history.version != history_version,
                    "since touched": min(n - last_touched.get(i, -10_000), 10_000),
                }
            )
        last_touched[i], last_ms = n, now_ms
        forget_placed(rig)
        await asyncio.sleep(0)  # the bus consumers drain, outside the timing
    return rows


if __name__ == "__main__":
    main()
