"""A WebSocket server that replays pre-rendered orderbook frames as fast as it can, in a child process.

Why: ``bench_ws_ingest`` against the simulator measures the slower of two processes, and on this
2-core machine the simulator's matching engine (create + cancel per delta) saturates first. To see
what the *client* (``KalshiStream`` + ``BookStore``) can ingest, this child speaks just enough of
the Trade API v2 WebSocket (accepts the upgrade, answers ``subscribe`` with ``subscribed``, sends a
snapshot per market) and then, on the parent's request, sends the ``bench_books`` delta stream --
rendered with the simulator's own envelope and field names -- back to back, each frame with its
``seq``. The parent knows the same seeded stream, so it can check every book afterwards.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from bench_books import build
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.sim.ws_messages import dumps, envelope

SID = 1


def render_snapshot(snapshot: OrderbookSnapshot, seq: int) -> str:
    msg: dict[str, Any] = {"market_ticker": snapshot.ticker, "market_id": f"id-{snapshot.ticker}"}
    if snapshot.yes:
        msg["yes_dollars_fp"] = [[Price(p).dollars_str(), Count(n).fp_str()] for p, n in snapshot.yes]
    if snapshot.no:
        msg["no_dollars_fp"] = [[Price(p).dollars_str(), Count(n).fp_str()] for p, n in snapshot.no]
    return envelope("orderbook_snapshot", SID, seq, dumps(msg))


def render_delta(delta: OrderbookDelta, seq: int, ts_ms: int) -> str:
    msg = {
        "market_ticker": delta.ticker,
        "market_id": f"id-{delta.ticker}",
        "price_dollars": delta.price.dollars_str(),
        "delta_fp": delta.delta.fp_str(),
        "side": delta.side.value,
        "ts": "2026-12-06T23:00:00Z",
        "ts_ms": ts_ms,
    }
    return envelope("orderbook_delta", SID, seq, dumps(msg))


def _text_frame(text: str) -> bytes:
    """One unmasked, final WebSocket text frame (RFC 6455 section 5.2), as a server sends it."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        head = bytes((0x81, size))
    elif size < 1 << 16:
        head = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return head + payload


_CHUNK = 2_000


@dataclass(frozen=True)
class ReplayChild:
    conn: Connection
    port: int

    def burst(self) -> tuple[int, float]:
        """Blocking: the child sends every delta frame to the subscribed client; returns how many
        and how long sending took (if that is close to the client's time, the producer limited)."""
        self.conn.send(("burst",))
        sent: tuple[int, float] = self.conn.recv()
        return sent


@contextmanager
def replay_child(n_deltas: int, seed: int) -> Iterator[ReplayChild]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_main, args=(child, n_deltas, seed), daemon=True)
    proc.start()
    port = parent.recv()
    try:
        yield ReplayChild(parent, port)
    finally:
        parent.send(("stop",))
        proc.join(timeout=10)


def _main(conn: Connection, n_deltas: int, seed: int) -> None:
    asyncio.run(_serve(conn, n_deltas, seed))


async def _serve(conn: Connection, n_deltas: int, seed: int) -> None:
    _, snapshots, deltas = build(n_deltas, seed)
    first_seq = len(snapshots) + 1
    frames = [render_delta(d, first_seq + i, 1_796_598_000_000 + i) for i, d in enumerate(deltas)]
    wire = [_text_frame(frame) for frame in frames]
    clients: list[ServerConnection] = []

    async def handler(ws: ServerConnection) -> None:
        async for text in ws:
            command = json.loads(text)
            if command.get("cmd") != "subscribe":
                await ws.send(json.dumps({"type": "ok", "id": command.get("id"), "msg": {}}))
                continue
            reply = {
                "type": "subscribed",
                "id": command["id"],
                "msg": {"channel": "orderbook_delta", "sid": SID},
            }
            await ws.send(json.dumps(reply))
            for seq, snapshot in enumerate(snapshots, start=1):
                await ws.send(render_snapshot(snapshot, seq))
            clients.append(ws)

    loop = asyncio.get_running_loop()
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        conn.send(port)
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command[0] == "stop":
                return
            ws = clients[-1]
            start = time.perf_counter()
            # Pre-encoded WebSocket frames written in chunks straight to the socket: a per-message
            # ``ws.send`` would make this producer, not the client under test, the bottleneck.
            for chunk_start in range(0, len(wire), _CHUNK):
                ws.transport.write(b"".join(wire[chunk_start : chunk_start + _CHUNK]))
                await asyncio.sleep(0)
            conn.send((len(frames), time.perf_counter() - start))
