"""Actor under load: 500 markets, 5,000 deltas/s for a minute -- does the decision lag stay flat?

    PYTHONPATH=src:. python bench/bench_actor_load.py [--markets 500] [--rate 5000] [--seconds 60]
                                                       [--window 5] [--policy rules] [--seed 1]

One event loop, as in ``kalshiflow run``: a producer task applies pre-generated ``OrderbookDelta``s
to the ``BookStore`` paced on the wall clock (every ~2 ms it applies all deltas due by then, so when
the loop was busy it catches up in a burst, as a socket reader would after the kernel buffered the
bytes); the real ``Actor.run`` drains the dirty set and decides with the policy. The books, the
``LiveObserver`` and the real ``TraderCore`` (risk gate, ledger, executor; default risk limits
including the 5 s per-market throttle) are built as in ``bench_decision_path`` (by ``decision_rig``)
-- same generator, same skewed activity over the markets.

EXECUTION IS STUBBED: the executor's REST client is an in-memory venue whose ``place`` answers
"resting" at once (no network); the order is then cancelled in the ledger straight away (as if it
was cancelled on the exchange), so cash and exposure stay available and the gate keeps allowing at
the throttle's pace. Cancelled orders stay in ``ledger.orders``, as they do in a live run.

Per window (``--window`` s, by wall clock): deltas applied, decisions, orders built, risk denials,
updates coalesced by the book store, decision lag p50/p99/max in ms (``Actor`` measures it from
``drain_dirty_since``: clock ms when the market first became dirty -> decision), and how far the
producer was behind its schedule at worst (time a delta waited before being applied at all, which
the decision lag cannot see). The verdict compares the first and the last full window.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import time
from dataclasses import dataclass, field

from decision_rig import build_rig, pick_markets, rig_actor
from kalshiflow.events.trader import ActionResult
from kalshiflow.exchange.ws_models import OrderbookDelta
from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.registry import load_policy
from kalshiflow.trader.decisions.actor import TraderAction
from kalshiflow.trader.execution.in_flight import ExecOutcome, ExecutionResult

TICK_S = 0.002


@dataclass
class Window:
    deltas: int = 0
    decisions: int = 0
    orders: int = 0
    denied: int = 0
    lags_ms: list[int] = field(default_factory=list)
    behind_ms: float = 0.0
    coalesced_at_end: int = 0


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else float("nan")


async def run(args: argparse.Namespace) -> list[Window]:
    rig = build_rig(args.markets, args.seed, throttle_s=5)
    total = int(args.rate * args.seconds) + args.rate
    print(f"generating {total} deltas over {args.markets} markets ...", flush=True)
    picks = pick_markets(args.markets, total, random.Random(args.seed + 7))
    deltas: list[OrderbookDelta] = [rig.models[i].next_delta() for i in picks]
    n_windows = int(args.seconds // args.window)
    windows = [Window() for _ in range(n_windows + 1)]
    start = time.perf_counter()

    def window_now() -> Window:
        return windows[min(n_windows, int((time.perf_counter() - start) // args.window))]

    def on_action(action: TraderAction) -> None:
        w = window_now()
        w.decisions += 1
        w.lags_ms.append(action.decision_lag_ms)
        if action.result is ActionResult.PLACED:
            w.orders += 1
        elif action.result is ActionResult.DENIED:
            w.denied += 1

    ledger = rig.core.ledger

    def cancel_at_once(result: ExecutionResult) -> None:
        if result.outcome is ExecOutcome.PLACED:
            ledger.on_canceled(result.client_order_id, rig.clock.now_ms())

    rig.core.executor.on_result = cancel_at_once  # replaces the core's hook: no breaker in the bench
    policy = load_policy(args.policy, SCHEMA_V1)

    # Decisions reach the bench as a bus subscriber would see them, on the next loop turn.
    def drain_actions() -> None:
        for item in watching.drain():
            if isinstance(item, TraderAction):
                on_action(item)

    watching = rig.core.bus.subscribe("bench", [TraderAction], max_queue=1_000_000, on_ready=drain_actions)
    actor = rig_actor(rig, policy)
    start = time.perf_counter()
    actor_task = asyncio.create_task(actor.run(), name="actor")
    apply_delta = rig.books.apply_delta
    applied = 0
    current = 0
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= args.seconds:
            break
        index = int(elapsed // args.window)
        while current < index:  # window boundary crossed: close the previous one
            windows[current].coalesced_at_end = rig.books.metrics().updates_coalesced
            current += 1
        due = min(int(args.rate * elapsed), total)
        if due > applied:
            w = windows[index]
            behind = (elapsed - applied / args.rate) * 1000.0  # the oldest due delta waited this long
            w.behind_ms = max(w.behind_ms, behind)
            for delta in deltas[applied:due]:
                apply_delta(delta)
            w.deltas += due - applied
            applied = due
        await asyncio.sleep(TICK_S)
    while current < n_windows:
        windows[current].coalesced_at_end = rig.books.metrics().updates_coalesced
        current += 1
    actor_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await actor_task
    m = rig.books.metrics()
    print(
        f"done: {applied} deltas applied ({m.deltas_applied} valid, {m.integrity_errors} integrity errors), "
        f"{actor.metrics.decisions} decisions, {actor.metrics.orders_sent} orders built (stub venue), "
        f"{actor.metrics.denied} denied, {m.updates_coalesced} updates coalesced, "
        f"stale decisions {actor.metrics.stale_decisions}, ledger holds {len(ledger.orders)} orders"
    )
    return windows[:n_windows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--rate", type=int, default=5_000, help="deltas per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--window", type=float, default=5.0, help="report window, seconds")
    parser.add_argument("--policy", default="rules")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(
        f"{args.markets} markets, {args.rate} deltas/s for {args.seconds:.0f} s, policy {args.policy}; "
        "EXECUTION STUBBED (in-memory venue answers 'resting', order cancelled in the ledger at once)"
    )
    windows = asyncio.run(run(args))
    print(
        f"{'window':>9} {'deltas':>7} {'deltas/s':>8} {'decisions':>9} {'orders':>6} {'denied':>6} "
        f"{'coalesced':>9} {'lag p50':>8} {'lag p99':>8} {'lag max':>8} {'behind':>8}"
    )
    previous = 0
    for k, w in enumerate(windows):
        coalesced = w.coalesced_at_end - previous
        previous = w.coalesced_at_end
        print(
            f"{k * args.window:4.0f}-{(k + 1) * args.window:<4.0f} {w.deltas:>7} {w.deltas / args.window:>8.0f} "
            f"{w.decisions:>9} {w.orders:>6} {w.denied:>6} {coalesced:>9} "
            f"{percentile(w.lags_ms, 0.5):>6.0f}ms {percentile(w.lags_ms, 0.99):>6.0f}ms "
            f"{max(w.lags_ms, default=0):>6.0f}ms {w.behind_ms:>6.0f}ms"
        )
    full = [w for w in windows if w.lags_ms]
    if len(full) < 2:
        print("verdict: not enough windows with decisions to compare")
        return
    first, last = full[0], full[-1]
    p50s = [percentile(w.lags_ms, 0.5) for w in full]
    slope = statistics.linear_regression(range(len(p50s)), p50s).slope / args.window * 60.0
    grew = percentile(last.lags_ms, 0.5) > 1.5 * percentile(first.lags_ms, 0.5) + 20 or (
        last.behind_ms > 1.5 * first.behind_ms + 50
    )
    print(
        f"decision lag p50 first window {percentile(first.lags_ms, 0.5):.0f} ms, last "
        f"{percentile(last.lags_ms, 0.5):.0f} ms (trend {slope:+.1f} ms per minute); producer behind "
        f"first {first.behind_ms:.0f} ms, last {last.behind_ms:.0f} ms"
    )
    print(
        "verdict: decision lag "
        + ("GREW (last window p50 > 1.5 x first + 20 ms, or backlog grew)" if grew else "did not grow")
    )


if __name__ == "__main__":
    main()
