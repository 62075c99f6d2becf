"""Simulator over loopback: create-order round trip and WebSocket orderbook fan-out.

    python bench/bench_loopback.py [--orders 2000] [--rates 10000,20000,30000,40000] [--seconds 3]

The simulator runs in a child process (its own core); this process is the client. Rate limits are
switched off in the child so the figures measure the server, not the token buckets.

1. Create-order round trip: sequential signed ``POST /portfolio/events/orders`` (resting orders far
   from the touch) over one keep-alive connection; prints p50/p99/mean latency and requests/s.
2. WS fan-out: one subscriber to ``orderbook_delta`` for one market; the child drives the engine at a
   target delta rate (create + cancel of resting orders) for a few seconds per rate. Prints the rate
   the subscriber actually received, and whether any message was lost (seq gap or error 25).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import websockets

from kalshiflow.clock import SystemClock
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Money
from kalshiflow.exchange.auth import RequestSigner, generate_key_pair, load_private_key, write_private_key
from kalshiflow.exchange.httpx_auth import KalshiAuth
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.serve import running_server
from kalshiflow.sim.universe import generate_listings

KEY_ID = "bench-key"


def _server_main(conn: Connection, key_dir: str) -> None:
    asyncio.run(_serve(conn, Path(key_dir)))


async def _serve(conn: Connection, key_dir: Path) -> None:
    clock = SystemClock()
    sim = SimExchange.create(clock, seed=7)
    now = clock.now_ms()
    for listing in generate_listings(7, 8, now):
        listing.market.grid = listing.market.grid.named("linear_cent")
        sim.engine.add_market(listing.series, listing.event, listing.market)
    lifecycle.advance(sim.engine, now)
    private_pem, public_pem = generate_key_pair()
    write_private_key(str(key_dir / "bench.pem"), private_pem)
    sim.register_account(KEY_ID, public_pem, Money.dollars(10**9))
    sim.engine.add_account("driver", Money.dollars(10**9))
    assert sim.limiters is not None
    sim.limiters.check = lambda *args, **kwargs: True  # type: ignore[method-assign]
    tickers = sorted(sim.engine.markets)
    loop = asyncio.get_running_loop()
    async with running_server(build_app(sim)) as address:
        conn.send({"port": address.port, "tickers": tickers})
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command[0] == "stop":
                break
            _, rate, seconds, ticker = command
            produced = await _drive(sim, ticker, rate, seconds)
            conn.send(produced)


async def _drive(sim: SimExchange, ticker: str, rate: int, seconds: float) -> int:
    """Emit ~``rate`` orderbook deltas per second for ``seconds`` (create + cancel resting orders)."""
    engine = sim.engine
    tick_s = 0.005
    produced = 0
    start = time.perf_counter()
    n = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        debt = rate * elapsed - produced
        while debt >= 2:
            n += 1
            price = 100 + (n % 20) * 100  # $0.01..$0.20 YES bids: never crosses the synthetic book
            order = engine.create_order(
                "driver",
                OrderRequest(
                    ticker,
                    BookSide.BID,
                    price,
                    100,
                    TimeInForce.GOOD_TILL_CANCELED,
                    SelfTradePrevention.TAKER_AT_CROSS,
                ),
            ).order
            engine.cancel_order("driver", order.order_id)
            produced += 2
            debt -= 2
        await asyncio.sleep(tick_s)
    return produced


async def _round_trip(port: int, key_path: Path, ticker: str, orders: int) -> None:
    signer = RequestSigner(KEY_ID, load_private_key(str(key_path)))
    base = f"http://127.0.0.1:{port}/trade-api/v2"
    latencies: list[int] = []
    async with httpx.AsyncClient(base_url=base, auth=KalshiAuth(signer)) as client:
        for i in range(orders + 50):
            body = {
                "ticker": ticker,
                "client_order_id": f"rt-{i}",
                "side": "bid",
                "count": "1.00",
                "price": "0.0100",
                "time_in_force": "good_till_canceled",
                "self_trade_prevention_type": "taker_at_cross",
            }
            t0 = time.perf_counter_ns()
            response = await client.post("/portfolio/events/orders", json=body)
            dt = time.perf_counter_ns() - t0
            if response.status_code != 201:
                raise SystemExit(f"create failed: {response.status_code} {response.text}")
            if i >= 50:  # warm-up excluded
                latencies.append(dt)
    latencies.sort()
    ms = [x / 1e6 for x in latencies]
    print("create-order round trip over loopback (signed, keep-alive, sequential)")
    print(f"  orders         {len(ms)}")
    print(f"  p50            {ms[len(ms) // 2]:.3f} ms")
    print(f"  p99            {ms[int(len(ms) * 0.99)]:.3f} ms")
    print(f"  mean           {statistics.fmean(ms):.3f} ms")
    print(f"  throughput     {len(ms) / (sum(ms) / 1000):.0f} creates/s")


async def _fan_out(
    conn: Connection, port: int, key_path: Path, ticker: str, rates: list[int], seconds: float
) -> None:
    signer = RequestSigner(KEY_ID, load_private_key(str(key_path)))
    url = f"ws://127.0.0.1:{port}/trade-api/ws/v2"
    headers = signer.headers("GET", "/trade-api/ws/v2", SystemClock().now_ms())
    loop = asyncio.get_running_loop()
    print("WS orderbook_delta fan-out to one subscriber")
    print(f"  {'target/s':>9} {'received/s':>11} {'deltas':>8} {'lost':>5}")
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        await ws.send(
            json.dumps(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {"channels": ["orderbook_delta"], "market_tickers": [ticker]},
                }
            )
        )
        stats = {"received": 0, "lost": 0, "first": 0.0, "last": 0.0}
        reader = asyncio.create_task(_count_deltas(ws, stats))
        for rate in rates:
            stats.update(received=0, lost=0, first=0.0, last=0.0)
            conn.send(("drive", rate, seconds, ticker))
            produced = await loop.run_in_executor(None, conn.recv)
            # Wait until the subscriber has everything (or nothing arrives for a second).
            idle_since = time.perf_counter()
            seen = -1
            while stats["received"] + stats["lost"] < produced and time.perf_counter() - idle_since < 1.0:
                if stats["received"] != seen:
                    seen = int(stats["received"])
                    idle_since = time.perf_counter()
                await asyncio.sleep(0.05)
            received = int(stats["received"])
            span = max(1e-9, stats["last"] - stats["first"])
            print(f"  {rate:>9} {received / span:>11.0f} {received:>8} {produced - received:>5}")
        reader.cancel()


async def _count_deltas(ws: websockets.ClientConnection, stats: dict[str, float]) -> None:
    """Count orderbook deltas as they arrive; seq gaps and error replies count as lost."""
    last_seq: int | None = None
    async for raw in ws:
        message = json.loads(raw)
        seq = message.get("seq")
        if seq is not None:
            if last_seq is not None and seq != last_seq + 1:
                stats["lost"] += seq - last_seq - 1
            last_seq = seq
        kind = message.get("type")
        if kind == "orderbook_delta":
            now = time.perf_counter()
            if not stats["received"]:
                stats["first"] = now
            stats["last"] = now
            stats["received"] += 1
        elif kind == "error":
            print(f"  error: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rates", default="10000,20000,30000,40000")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    with tempfile.TemporaryDirectory() as key_dir:
        proc = ctx.Process(target=_server_main, args=(child, key_dir), daemon=True)
        proc.start()
        info = parent.recv()
        key_path = Path(key_dir) / "bench.pem"
        tickers = info["tickers"]
        asyncio.run(_round_trip(info["port"], key_path, tickers[0], args.orders))
        rates = [int(r) for r in args.rates.split(",")]
        asyncio.run(_fan_out(parent, info["port"], key_path, tickers[1], rates, args.seconds))
        parent.send(("stop",))
        proc.join(timeout=10)


if __name__ == "__main__":
    main()
