"""The dashboard's cost to the trader: decision path with 5 WebSocket clients connected vs none.

    PYTHONPATH=src:. python bench/bench_dashboard.py [--markets 500] [--rate 5000] [--seconds 30]
                                                     [--clients 5] [--window 5] [--seed 1]

Each case runs in its own fresh process, one after the other:

* ``none``: the actor under load exactly as ``bench_actor_load`` runs it (500 markets, 5,000
  deltas/s paced on the wall clock, the real ``BookStore``, ``LiveObserver``, ``TraderCore`` and
  ``Actor`` with the ``rules`` policy; EXECUTION STUBBED: an in-memory venue answers "resting" and
  the order is cancelled in the ledger at once);
* ``dashboard``: the same, plus the real dashboard (``Dashboard``: bus hub, metrics, uvicorn on a
  loopback port on the same event loop, tick 1 s) with ``--clients`` WebSocket clients reading
  everything it sends from a SEPARATE process (so the clients' own CPU is not charged to the
  trader's loop; they stand in for browser tabs -- what a browser does with the messages costs the
  server nothing).

Measured per decision (the actor's ``decide`` wrapped): the decision's own time (observation,
policy, risk gate, order built) and the latency from the moment a market's first pending delta was
applied to the end of its decision (includes waiting for the loop, i.e. whatever the dashboard's
fan-out delays), p50 / p99 in µs. Memory: the process's resident set size every window. Figures
only; no assertion. Target (issue 11): p99 with the dashboard within 10 % of the figure without.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field

from decision_rig import build_rig, pick_markets, rig_actor
from kalshiflow.clock import SystemClock
from kalshiflow.dashboard.server import Dashboard, DashboardConfig
from kalshiflow.exchange.ratelimit import Pacer
from kalshiflow.exchange.ws_models import OrderbookDelta
from kalshiflow.features import SCHEMA_V1
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.policy.registry import load_policy
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.execution.in_flight import ExecOutcome, ExecutionResult
from kalshiflow.trader.lifecycle.init_tracker import InitTracker
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.states import Lifecycle, TraderState

TICK_S = 0.002
PAGE = os.sysconf("SC_PAGE_SIZE")

CLIENTS = r"""
import asyncio, sys, websockets
async def one(url, counts, sizes, i):
    async with websockets.connect(url, max_size=None) as ws:
        async for message in ws:
            counts[i] += 1
            sizes[i] += len(message)
async def main():
    url, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    counts, sizes = [0] * n, [0] * n
    tasks = [asyncio.create_task(one(url, counts, sizes, i)) for i in range(n)]
    print("connected", flush=True)
    await asyncio.sleep(seconds)
    print(sum(counts), sum(sizes), flush=True)
asyncio.run(main())
"""


@dataclass
class Parts:
    """What the dashboard reads, built the way the composition layer builds it."""

    lifecycle: Lifecycle
    tracker: InitTracker
    core: TraderCore | None
    feed: MarketDataFeed | None = None
    recal: Recalibrator | None = None


class NoControls:
    async def pause(self, by: str) -> tuple[bool, str]:
        return False, "bench"

    async def resume(self, by: str) -> tuple[bool, str]:
        return False, "bench"

    async def close_position(self, ticker: str, by: str) -> tuple[bool, str]:
        return False, "bench"

    async def flatten(self, by: str) -> tuple[bool, str]:
        return False, "bench"

    async def kill_switch(self, on: bool, by: str) -> tuple[bool, str]:
        return False, "bench"

    async def calibrate(self, by: str) -> tuple[bool, str]:
        return False, "bench"


@dataclass
class Result:
    decide_ns: list[int] = field(default_factory=list)
    latency_ns: list[int] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    decisions: int = 0
    deltas: int = 0
    messages: int = 0
    bytes: int = 0


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 1e6


async def run_case(args: argparse.Namespace, with_dashboard: bool) -> Result:
    rig = build_rig(args.markets, args.seed, throttle_s=5)
    total = int(args.rate * args.seconds) + args.rate
    picks = pick_markets(args.markets, total, random.Random(args.seed + 7))
    deltas: list[OrderbookDelta] = [rig.models[i].next_delta() for i in picks]
    ledger = rig.core.ledger

    def cancel_at_once(result: ExecutionResult) -> None:
        if result.outcome is ExecOutcome.PLACED:
            ledger.on_canceled(result.client_order_id, rig.clock.now_ms())

    rig.core.executor.on_result = cancel_at_once
    actor = rig_actor(rig, load_policy("rules", SCHEMA_V1))
    result = Result()
    first_dirty_ns: dict[str, int] = {}
    decide = actor.decide
    clock_ns = time.perf_counter_ns

    async def timed_decide(ticker: str, first_changed_ms: int) -> object:
        t0 = clock_ns()
        action = await decide(ticker, first_changed_ms)
        t1 = clock_ns()
        result.decide_ns.append(t1 - t0)
        born = first_dirty_ns.pop(ticker, None)
        if born is not None:
            result.latency_ns.append(t1 - born)
        return action

    actor.decide = timed_decide  # type: ignore[method-assign,assignment]

    dashboard: Dashboard | None = None
    clients: asyncio.subprocess.Process | None = None
    if with_dashboard:
        bus = rig.core.bus
        clock = SystemClock()
        rig.venue.pacer = Pacer(clock)  # type: ignore[attr-defined]  # the systems view reads rate-limit use
        lifecycle = Lifecycle(clock, bus=bus)
        lifecycle.move(TraderState.TRADING, "bench")
        tracker = InitTracker(clock, bus)
        tracker.portfolio_synced()
        dashboard = Dashboard(
            DashboardConfig(port=0, token="bench"),
            bus,
            Parts(lifecycle, tracker, rig.core),
            clock,
            NoControls(),
        )
        await dashboard.start()
        ws_url = dashboard.url.replace("http", "ws") + "/ws"
        clients = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLIENTS,
            ws_url,
            str(args.clients),
            str(args.seconds + 3),
            stdout=asyncio.subprocess.PIPE,
        )
        assert clients.stdout is not None
        await clients.stdout.readline()  # "connected"
        while len(dashboard.hub.clients) < args.clients:  # noqa: ASYNC110 (a bench, polling is fine)
            await asyncio.sleep(0.01)

    actor_task = asyncio.create_task(actor.run(), name="actor")
    apply_delta = rig.books.apply_delta
    applied = 0
    next_sample = 0.0
    start = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= args.seconds:
            break
        if elapsed >= next_sample:
            result.rss_mb.append(rss_mb())
            next_sample += args.window
        due = min(int(args.rate * elapsed), total)
        if due > applied:
            now = clock_ns()
            for delta in deltas[applied:due]:
                first_dirty_ns.setdefault(delta.ticker, now)
                apply_delta(delta)
            applied = due
        await asyncio.sleep(TICK_S)
    result.rss_mb.append(rss_mb())
    result.deltas = applied
    result.decisions = actor.metrics.decisions
    actor_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await actor_task
    if clients is not None and clients.stdout is not None:
        line = await clients.stdout.readline()
        await clients.wait()
        with contextlib.suppress(ValueError):
            result.messages, result.bytes = (int(x) for x in line.split())
    if dashboard is not None:
        await dashboard.stop()
    return result


def pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000 if ordered else float("nan")


def summary(case: str, r: Result, seconds: float) -> dict[str, object]:
    return {
        "case": case,
        "deltas": r.deltas,
        "decisions": r.decisions,
        "decide_p50_us": pct(r.decide_ns, 0.5),
        "decide_p99_us": pct(r.decide_ns, 0.99),
        "latency_p50_us": pct(r.latency_ns, 0.5),
        "latency_p99_us": pct(r.latency_ns, 0.99),
        "rss_mb": [round(x, 1) for x in r.rss_mb],
        "ws_messages": r.messages,
        "ws_mb": round(r.bytes / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--rate", type=int, default=5_000, help="deltas per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--window", type=float, default=5.0, help="memory sample interval, seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--case", choices=("none", "dashboard"), help="run one case (internal)")
    args = parser.parse_args()
    if args.case is not None:
        r = asyncio.run(run_case(args, args.case == "dashboard"))
        print(json.dumps(summary(args.case, r, args.seconds)))
        return
    print(
        f"{args.markets} markets, {args.rate} deltas/s for {args.seconds:.0f} s, policy rules, "
        f"{args.clients} WebSocket clients in another process; EXECUTION STUBBED"
    )
    rows = []
    for case in ("none", "dashboard"):
        cmd = [sys.executable, __file__, "--case", case, *sys.argv[1:]]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        rows.append(json.loads(out))
    print(
        f"{'case':>10} {'deltas':>7} {'decisions':>9} {'decide p50':>10} {'decide p99':>10} "
        f"{'lat p50':>9} {'lat p99':>9} {'ws frames':>9} {'ws MB':>6}  rss MB over time"
    )
    for row in rows:
        print(
            f"{row['case']:>10} {row['deltas']:>7} {row['decisions']:>9} {row['decide_p50_us']:>8.1f}us "
            f"{row['decide_p99_us']:>8.1f}us {row['latency_p50_us']:>7.0f}us {row['latency_p99_us']:>7.0f}us "
            f"{row['ws_messages']:>9} {row['ws_mb']:>6}  {row['rss_mb']}"
        )
    base, board = rows
    for key in ("decide_p99_us", "latency_p99_us"):
        change = (board[key] / base[key] - 1) * 100 if base[key] else float("nan")
        print(f"{key}: {base[key]:.1f} -> {board[key]:.1f} ({change:+.1f} %; target within +10 %)")


if __name__ == "__main__":
    main()
