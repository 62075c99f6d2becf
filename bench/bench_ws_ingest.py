"""End-to-end WebSocket ingest: simulator -> KalshiStream -> BookStore, with books verified by REST.

    python bench/bench_ws_ingest.py [--source both|sim|replay] [--rates 10000,20000,30000,40000]
                                    [--seconds 3] [--markets 4] [--replay-deltas 200000]

``--source replay`` (also part of ``both``) measures the client alone: a child process replays the
``bench_books`` delta stream (50 markets) as pre-rendered frames back to back over a real WebSocket
(``ws_replay_child``), and this process ingests them with the real ``KalshiStream`` into the real
``BookStore``; it prints messages/s from the first to the last delta and checks every book against
the stream's final state. That is the client's ingest capacity with books current, whatever the
simulator's matching engine can produce on a shared 2-core machine.

The simulator runs in a child process (its own core) and drives its engine with create + cancel of
resting orders across ``--markets`` markets at each target delta rate. This process runs the real
``KalshiStream`` (signed handshake, seq checks, sink applied in the reader) feeding the real
``BookStore`` (or a dict sink if ``kalshiflow.marketdata.bookstore`` is missing). For each rate it
prints the messages/s ingested, the deltas applied and any gap/resync; at the end every local book
is compared with the server's ``GET /markets/{ticker}/orderbook``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench_books import build
from kalshiflow.clock import SystemClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.auth import RequestSigner, generate_key_pair, load_private_key, write_private_key
from kalshiflow.exchange.ws_models import Level, OrderbookDelta, OrderbookSnapshot
from kalshiflow.exchange.ws_stream import BookSink, KalshiStream, StreamConfig
from kalshiflow.marketdata.bookstore import BookStore
from sim_child import KEY_ID, DriveShape, SimChild, sim_child
from ws_replay_child import replay_child

# The child's driver: ~rate deltas/s spread over the tickers, bids and asks, sizes 1-3 contracts;
# every 7th order is left resting so books grow.
SHAPE = DriveShape(both_sides=True, size_steps=3, rest_every=7)


# ----------------------------------------------------------------------------- this process: client
class DictSink:
    def __init__(self) -> None:
        self.books: dict[str, dict[OutcomeSide, dict[int, int]]] = {}

    def on_snapshot(self, snapshot: OrderbookSnapshot) -> None:
        self.books[snapshot.ticker] = {
            OutcomeSide.YES: dict(snapshot.yes),
            OutcomeSide.NO: dict(snapshot.no),
        }

    def on_delta(self, delta: OrderbookDelta) -> bool:
        ladder = self.books[delta.ticker][delta.side]
        size = ladder.get(delta.price, 0) + delta.delta
        if size < 0:
            return False
        if size:
            ladder[delta.price] = size
        else:
            ladder.pop(delta.price, None)
        return True

    def on_invalid(self, tickers: Sequence[str], reason: str) -> None:
        for ticker in tickers:
            self.books.pop(ticker, None)

    def ladder(self, ticker: str, side: OutcomeSide) -> tuple[Level, ...]:
        return tuple((Price(p), Count(n)) for p, n in sorted(self.books[ticker][side].items()))


def _make_sink(tickers: Sequence[str]) -> tuple[BookSink, Any, str]:
    try:
        from kalshiflow.marketdata.bookstore import BookStore
    except ImportError:
        sink = DictSink()
        return sink, sink.ladder, "dict reference sink"
    store = BookStore(SystemClock())
    for ticker in tickers:
        store.register(ticker, PriceGrid.named("linear_cent"))

    def ladder(ticker: str, side: OutcomeSide) -> tuple[Level, ...]:
        book = store.book(ticker)
        assert book is not None
        return book.ladder(side)

    return store, ladder, "marketdata.bookstore.BookStore"


async def _client(child: SimChild, tickers: list[str], rates: list[int], seconds: float) -> None:
    port = child.port
    signer = RequestSigner(KEY_ID, load_private_key(str(child.key_path)))
    sink, ladder, sink_name = _make_sink(tickers)
    config = StreamConfig(url=f"ws://127.0.0.1:{port}/trade-api/ws/v2", queue_size=100_000)
    print(f"WS ingest: simulator (child) -> KalshiStream -> {sink_name}, {len(tickers)} markets")
    print(
        f"  {'target/s':>9} {'ingested/s':>11} {'messages':>9} {'applied':>9} {'gaps':>5} {'resyncs':>8} {'books ok':>9}"
    )
    async with KalshiStream(config, signer, sink) as stream:
        await stream.wait_live()
        await stream.subscribe(["orderbook_delta"], tickers)
        await stream.wait_books_valid(tickers)
        for rate in rates:
            before = stream.status().metrics
            t0 = time.perf_counter()
            produced = await child.drive_async(rate, seconds, tickers, SHAPE)
            # Caught up when the stream has received every produced delta (or nothing new for 1 s).
            target = before.messages_received + produced
            last_seen, idle_since = -1, time.perf_counter()
            while stream.metrics.messages_received < target and time.perf_counter() - idle_since < 1.0:
                if stream.metrics.messages_received != last_seen:
                    last_seen, idle_since = stream.metrics.messages_received, time.perf_counter()
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - t0
            after = stream.status().metrics
            received = after.messages_received - before.messages_received
            ok = await _verify(port, tickers, ladder, stream)
            print(
                f"  {rate:>9} {received / elapsed:>11.0f} {received:>9} {after.deltas_applied - before.deltas_applied:>9}"
                f" {after.gaps - before.gaps:>5} {after.resyncs - before.resyncs:>8} {ok:>9}"
            )


async def _verify(port: int, tickers: Sequence[str], ladder: Any, stream: KalshiStream) -> str:
    """Compare every local book with the server's REST orderbook; returns 'yes' or what differs."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/trade-api/v2") as rest:
        for ticker in tickers:
            body = (await rest.get(f"/markets/{ticker}/orderbook")).json()["orderbook_fp"]
            for side in OutcomeSide:
                server = tuple((Price.parse(p), Count.parse(n)) for p, n in body[f"{side.value}_dollars"])
                if not stream.book_valid(ticker) or ladder(ticker, side) != server:
                    local = ladder(ticker, side) if stream.book_valid(ticker) else "invalid"
                    print(f"  MISMATCH {ticker} {side.value}: local {local} server {server}")
                    return f"NO:{ticker}"
    return "yes"


def _replay_signer(directory: str) -> RequestSigner:
    """A fresh key: the replay server accepts any signature, the client still signs as usual."""
    private_pem, _ = generate_key_pair()
    key_path = str(Path(directory) / "replay.pem")
    write_private_key(key_path, private_pem)
    return RequestSigner("replay-key", load_private_key(key_path))


def _stale_books(
    store: Any, markets: Sequence[tuple[str, Any]], snapshots: Sequence[Any], deltas: Sequence[Any]
) -> list[str]:
    """Markets whose local book differs from the replayed stream's final state (or is invalid)."""
    expected = {
        snap.ticker: {OutcomeSide.YES: dict(snap.yes), OutcomeSide.NO: dict(snap.no)} for snap in snapshots
    }
    for d in deltas:
        ladder = expected[d.ticker][d.side]
        size = ladder.get(d.price, 0) + d.delta
        if size:
            ladder[d.price] = size
        else:
            del ladder[d.price]
    stale = []
    for ticker, _ in markets:
        book = store.book(ticker)
        if (
            book is None
            or not book.valid
            or any(book.ladder(side) != tuple(sorted(expected[ticker][side].items())) for side in OutcomeSide)
        ):
            stale.append(ticker)
    return stale


async def _replay_client(port: int, burst: Any, n_deltas: int, seed: int) -> None:
    """Ingest the replayed stream with the real stream client and store; check every book after."""
    markets, snapshots, deltas = build(n_deltas, seed)
    tickers = [t for t, _ in markets]
    with tempfile.TemporaryDirectory() as key_dir:
        signer = _replay_signer(key_dir)
    store = BookStore(SystemClock())
    for ticker, grid in markets:
        store.register(ticker, grid)
    config = StreamConfig(url=f"ws://127.0.0.1:{port}/trade-api/ws/v2", queue_size=100_000)
    async with KalshiStream(config, signer, store) as stream:
        await stream.wait_live()
        await stream.subscribe(["orderbook_delta"], tickers)
        await stream.wait_books_valid(tickers)
        before = stream.status().metrics
        target = before.messages_received + len(deltas)
        first_ns = 0
        sending = asyncio.get_running_loop().run_in_executor(None, burst)
        while stream.metrics.messages_received < target:
            if not first_ns and stream.metrics.messages_received > before.messages_received:
                first_ns = time.perf_counter_ns()
            await asyncio.sleep(0.0005)
        elapsed_s = (time.perf_counter_ns() - first_ns) / 1e9
        sent, send_s = await sending
        after = stream.status().metrics
        stale = _stale_books(store, markets, snapshots, deltas)
    received = after.messages_received - before.messages_received
    print(
        f"WS ingest, replayed frames (child) -> KalshiStream -> BookStore, {len(markets)} markets: "
        f"{received:,} deltas in {elapsed_s:.2f} s = {received / elapsed_s:,.0f} messages/s; "
        f"applied {after.deltas_applied - before.deltas_applied:,}, gaps {after.gaps - before.gaps}, "
        f"books current: {'yes' if not stale else f'NO {stale[:3]}'} (producer sent {sent:,} at {sent / send_s:,.0f}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("both", "sim", "replay"), default="both")
    parser.add_argument("--rates", default="10000,20000,30000,40000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--markets", type=int, default=4)
    parser.add_argument("--replay-deltas", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.source in ("both", "replay"):
        with replay_child(args.replay_deltas, args.seed) as replay:
            asyncio.run(_replay_client(replay.port, replay.burst, args.replay_deltas, args.seed))
    if args.source in ("both", "sim"):
        with sim_child() as child:
            rates = [int(r) for r in args.rates.split(",")]
            tickers = child.tickers[: args.markets]
            asyncio.run(_client(child, tickers, rates, args.seconds))


if __name__ == "__main__":
    main()
