"""What following queue positions and fee changes live costs the trader, in-process, no network.

    PYTHONPATH=src:. python bench/bench_queue_positions.py [--markets 500] [--resting 100] [--looks 2000]

On the decision rig (``bench/decision_rig.py``: a real ``TraderCore`` on a stub venue, books from
snapshots) with ``--resting`` resting orders of ours spread over the markets, it times:

* ``QueueTracker.due()``: one look of the queue tracker's timer (every ``check_s``, 1 s, while
  orders rest), in the common case where nothing changed at the orders' levels, so no read is due;
* a fee lookup (``FeeSchedule.__call__``, what reservations and the views call) with no pending fee
  change, and with one pending change not due yet (the clock is read on each lookup then);
* ``TraderCore.market_views()`` when nothing changed (it now also reads the schedule's version).

Also printed: the reads one look would cost if the levels of every resting order shrank between
looks (one batch read per ``TICKERS_PER_READ`` markets, at most one pass per ``check_s``).
Medians and p99 over ``--looks`` timings; single-thread CPython; the machine is shared, so run it
several times and compare medians. No assertion.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from fractions import Fraction

from bench.decision_rig import build_rig

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.models_account import SeriesFeeChange
from kalshiflow.trader.execution.queue_positions import TICKERS_PER_READ, Seen, level_size
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """(median, p99) in microseconds of ``n`` calls."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=500)
    parser.add_argument("--resting", type=int, default=100)
    parser.add_argument("--looks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rig = build_rig(args.markets, args.seed)
    core, clock = rig.core, rig.clock
    now = clock.now_ms()
    tickers = sorted(core.markets)
    for i in range(args.resting):
        ticker = tickers[i % len(tickers)]
        book = core.books.book(ticker)
        assert book is not None
        bid = book.best_bid(OutcomeSide.YES) or Price(100)
        order = TrackedOrder(
            f"kf-rest-{i}", ticker, BookSide.BID, bid, Count.contracts(1), OrderPurpose.OPEN, now
        )
        order.state = OrderState.RESTING
        order.order_id = f"ex-{i}"
        order.remaining = order.count
        core.ledger.restore(order)
    tracker = core.queue
    resting = tracker.resting()
    # As if a read just listed every order: the next looks find nothing changed.
    tracker._seen = {o.client_order_id: Seen(level_size(o, core.books), o.remaining) for o in resting}
    tracker._last_read_ms = now
    assert not tracker.due()

    ticker = tickers[0]
    fees = core.fees
    fees.set(ticker, FeeType.QUADRATIC, Fraction(1))
    core.market_views()
    look = timed(tracker.due, args.looks)
    lookup = timed(lambda: fees(ticker), args.looks * 10)
    views = timed(core.market_views, args.looks * 10)
    fees._pending = [SeriesFeeChange("c1", "S", FeeType.FLAT, Fraction(1), now + 10**9)]
    lookup_pending = timed(lambda: fees(ticker), args.looks * 10)
    views_pending = timed(core.market_views, args.looks * 10)
    markets_resting = len({o.ticker for o in resting})

    load = os.getloadavg()
    print(f"load average (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{args.markets} markets, {len(resting)} resting orders over {markets_resting} markets")
    print(f"QueueTracker.due() (nothing changed)         median {look[0]:8.1f} us   p99 {look[1]:8.1f} us")
    print(
        f"fee lookup, no pending change                median {lookup[0]:8.3f} us   p99 {lookup[1]:8.3f} us"
    )
    print(
        f"fee lookup, one pending change               median {lookup_pending[0]:8.3f} us   p99 {lookup_pending[1]:8.3f} us"
    )
    print(f"market_views(), no pending change            median {views[0]:8.3f} us   p99 {views[1]:8.3f} us")
    print(
        f"market_views(), one pending change           median {views_pending[0]:8.3f} us   p99 {views_pending[1]:8.3f} us"
    )
    reads = -(-markets_resting // TICKERS_PER_READ)
    print(f"worst case: {reads} batch read(s) per look, at most one look per {tracker.config.check_s:g} s")


if __name__ == "__main__":
    main()
