"""Event bus: the cost of one publish, with 0, 1 and 5 subscribers attached (issue 8: <= 2 µs).

Run: PYTHONPATH=src python bench/bench_bus.py [--events N]. Publishes a realistic event (a frozen
``OrderChanged`` snapshot is built outside the timed loop; the ``BookChanged`` case builds its event
inside it, as the book store would) and reports ns per publish. The subscribers' queues are drained
between rounds so none is ever full (a full queue is cheaper: it only counts).
"""

from __future__ import annotations

import argparse
import statistics
import time

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.bus import EventBus
from kalshiflow.events.ledger import LEDGER_EVENT_TYPES, OrderChanged, OrderPurpose, OrderSnapshot, OrderState
from kalshiflow.events.trader import TRADER_EVENT_TYPES, BookChanged

ROUND = 1_000


def snapshot() -> OrderSnapshot:
    return OrderSnapshot(
        "cid-1", "KX-T1", BookSide.BID, Price(5_000), Count(100), OrderPurpose.OPEN, 1, OrderState.RESTING,
        "oid-1", Count(0), Count(100), None, False, None, 2, "", Money(0), Money(0),
    )  # fmt: skip


BID, ASK = Price(4_900), Price(5_100)  # the touch a book change carries


def measure(subscribers: int, events: int, build: bool) -> list[float]:
    bus = EventBus()
    subs = [
        bus.subscribe(f"s{i}", (*LEDGER_EVENT_TYPES, *TRADER_EVENT_TYPES), max_queue=ROUND + 1)
        for i in range(subscribers)
    ]
    order_event = OrderChanged(snapshot(), 1)
    per_round: list[float] = []
    publish, clock = bus.publish, time.perf_counter_ns
    for _ in range(events // ROUND):
        start = clock()
        if build:
            for i in range(ROUND):
                publish(BookChanged("KX-T1", i, True, BID, ASK))
        else:
            for _ in range(ROUND):
                publish(order_event)
        per_round.append((clock() - start) / ROUND)
        for sub in subs:
            sub.drain()
    return per_round


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    args = parser.parse_args()
    print(f"bus publish, {args.events} events per case, ns per publish (median of rounds of {ROUND})")
    for build in (False, True):
        what = "BookChanged built per publish" if build else "prebuilt OrderChanged"
        for subscribers in (0, 1, 5):
            rounds = measure(subscribers, args.events, build)
            p50 = statistics.median(rounds)
            p99 = sorted(rounds)[int(len(rounds) * 0.99) - 1]
            print(f"  {what:<32} subscribers={subscribers}  p50={p50:7.1f} ns  p99(round)={p99:7.1f} ns")
    print("target: publish <= 2 µs per event")


if __name__ == "__main__":
    main()
