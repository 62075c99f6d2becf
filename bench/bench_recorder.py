"""Recorder benchmark: order-book deltas per second into SQLite, and what ``record()`` costs meanwhile.

Three runs against a fresh SQLite file (WAL) in a temporary directory:

1. ``writer only``  -- the writer is held while N deltas are buffered, then released: pure batched
   insert throughput (deltas/s from release to the last commit).
2. ``flat out``     -- the producer calls ``record()`` as fast as it can while the writer drains
   concurrently: record() ns/call and end-to-end deltas/s (first record to last commit).
3. ``paced``        -- the producer records at a steady rate in bursts of 50, sleeping in between like
   an event loop waiting on its socket, while the writer runs: the record() latency distribution
   the event loop actually sees, GIL hand-offs to the writer thread included.

    PYTHONPATH=src python bench/bench_recorder.py [--deltas 300000] [--batch-size 5000] [--rate 50000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from kalshiflow.clock import SystemClock
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import OrderbookDelta
from kalshiflow.marketdata.recorder import Recorder, RecorderMetrics
from kalshiflow.store import db

TICKERS = [f"KXBENCH-26JAN01-T{i}" for i in range(20)]
BURST = 50  # deltas handled per wake-up of the producer in the paced run


def make_deltas(n: int) -> list[OrderbookDelta]:
    return [
        OrderbookDelta(
            sid=1,
            seq=i,
            ticker=TICKERS[i % len(TICKERS)],
            side=OutcomeSide.YES if i % 2 else OutcomeSide.NO,
            price=Price(100 * (1 + i % 98)),
            delta=Count((-1) ** i * (100 + i % 5_000)),
            ts_ms=1_790_000_000_000 + i,
            received_ns=time.monotonic_ns(),
        )
        for i in range(1, n + 1)
    ]


def percentiles_ns(samples: list[int]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[int(len(ordered) * 0.99)]
    p999 = ordered[int(len(ordered) * 0.999)]
    return (
        f"mean {statistics.fmean(ordered):7.0f} ns  p50 {p50:6d} ns  p99 {p99:7d} ns"
        f"  p99.9 {p999:8d} ns  max {ordered[-1]:9d} ns"
    )


def writer_line(metrics: RecorderMetrics) -> str:
    return (
        f"batches {metrics.batches_written}, rows {metrics.rows_written}, dropped {metrics.messages_dropped},"
        f" batch latency mean {metrics.write_latency_mean_us / 1000:.1f} ms"
        f" max {metrics.write_latency_max_us / 1000:.1f} ms, buffer high water {metrics.buffer_high_water}"
    )


def open_db(directory: Path, name: str) -> str:
    url = f"sqlite:///{directory}/{name}.db"
    engine = db.open_engine(url)
    db.migrate(engine)
    engine.dispose()
    return url


def run_writer_only(directory: Path, deltas: list[OrderbookDelta], batch_size: int) -> None:
    gate = threading.Event()
    recorder = Recorder(
        open_db(directory, "writer"),
        SystemClock(),
        batch_size=batch_size,
        max_buffer=len(deltas),
        writer_gate=gate,
    )
    recorder.start_session("bench", "wss://bench.invalid/ws", TICKERS)
    for message in deltas:
        recorder.record(message)
    started = time.perf_counter()
    gate.set()
    recorder.flush()
    seconds = time.perf_counter() - started
    recorder.close()
    print(
        f"writer only   {len(deltas):>8} deltas in {seconds:6.2f} s = {len(deltas) / seconds:>9,.0f} deltas/s"
    )
    print(f"              {writer_line(recorder.metrics())}")


def run_flat_out(directory: Path, deltas: list[OrderbookDelta], batch_size: int) -> None:
    recorder = Recorder(
        open_db(directory, "flat"), SystemClock(), batch_size=batch_size, max_buffer=len(deltas)
    )
    recorder.start_session("bench", "wss://bench.invalid/ws", TICKERS)
    record = recorder.record
    perf = time.perf_counter_ns
    started = perf()
    for message in deltas:
        record(message)
    recorded_ns = perf() - started
    recorder.flush()
    total_s = (perf() - started) / 1e9
    recorder.close()
    print(
        f"flat out      record() {recorded_ns / len(deltas):6.0f} ns/call ({len(deltas) / recorded_ns * 1e9:,.0f}"
        f" calls/s, writer running); end to end {len(deltas) / total_s:>9,.0f} deltas/s"
    )
    print(f"              {writer_line(recorder.metrics())}")


def run_paced(directory: Path, deltas: list[OrderbookDelta], batch_size: int, rate: int) -> None:
    recorder = Recorder(open_db(directory, "paced"), SystemClock(), batch_size=batch_size)
    recorder.start_session("bench", "wss://bench.invalid/ws", TICKERS)
    record = recorder.record
    perf = time.perf_counter_ns
    interval_ns = 1_000_000_000 // rate
    latencies: list[int] = []
    started = perf()
    for i, message in enumerate(deltas):
        if i % BURST == 0:  # frames arrive in bursts; between them the loop waits on the socket
            pause_ns = started + i * interval_ns - perf()
            if pause_ns > 0:
                time.sleep(pause_ns / 1e9)
        before = perf()
        record(message)
        latencies.append(perf() - before)
    recorder.flush()
    seconds = (perf() - started) / 1e9
    recorder.close()
    metrics = recorder.metrics()
    print(
        f"paced         {rate:,} deltas/s offered for {seconds:.1f} s; record() {percentiles_ns(latencies)}"
    )
    print(f"              {writer_line(metrics)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deltas", type=int, default=300_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--rate", type=int, default=50_000, help="offered deltas/s in the paced run")
    args = parser.parse_args()
    deltas = make_deltas(args.deltas)
    with tempfile.TemporaryDirectory(prefix="kalshiflow-bench-") as tmp:
        directory = Path(tmp)
        run_writer_only(directory, deltas, args.batch_size)
        run_flat_out(directory, deltas, args.batch_size)
        run_paced(directory, deltas[: args.rate * 4], args.batch_size, args.rate)


if __name__ == "__main__":
    main()
