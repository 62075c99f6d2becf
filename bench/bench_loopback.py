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
import statistics
import time
from pathlib import Path

import httpx
import websockets

from kalshiflow.clock import SystemClock
from kalshiflow.exchange.auth import RequestSigner, load_private_key
from kalshiflow.exchange.httpx_auth import KalshiAuth
from sim_child import KEY_ID, SimChild, sim_child


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


async def _fan_out(child: SimChild, ticker: str, rates: list[int], seconds: float) -> None:
    signer = RequestSigner(KEY_ID, load_private_key(str(child.key_path)))
    url = f"ws://127.0.0.1:{child.port}/trade-api/ws/v2"
    headers = signer.headers("GET", "/trade-api/ws/v2", SystemClock().now_ms())
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
            produced = await child.drive_async(rate, seconds, [ticker])
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
    with sim_child() as child:
        asyncio.run(_round_trip(child.port, child.key_path, child.tickers[0], args.orders))
        rates = [int(r) for r in args.rates.split(",")]
        asyncio.run(_fan_out(child, child.tickers[1], rates, args.seconds))


if __name__ == "__main__":
    main()
