"""The simulator in a child process (its own core), driven at a target orderbook delta rate.

Shared by ``bench_loopback`` and ``bench_ws_ingest``. The child builds a ``SimExchange`` (seed 7,
8 listings on whole-cent grids), writes a fresh private key to ``<key_dir>/bench.pem`` for
``KEY_ID``, switches the rate limits off (so figures measure the server, not the token buckets) and
serves the app on loopback. It sends ``{"port", "tickers"}`` once, then answers each
``("drive", rate, seconds, tickers, shape)`` with the number of deltas it produced, until ``("stop",)``.

    with sim_child() as child:
        produced = child.drive(10_000, 3.0, [ticker])

Scripts in bench/ import this as ``sim_child``: ``python bench/NAME.py`` puts bench/ on ``sys.path``
(and the spawned child inherits that path).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from kalshiflow.clock import SystemClock
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Money
from kalshiflow.exchange.auth import generate_key_pair, write_private_key
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.serve import running_server
from kalshiflow.sim.universe import generate_listings

KEY_ID = "bench-key"
KEY_FILE = "bench.pem"


@dataclass(frozen=True)
class DriveShape:
    """How the driver's create + cancel orders look (the defaults: YES bids only, all cancelled)."""

    both_sides: bool = False  # alternate bids and asks (asks at $0.99 down, never crossing)
    size_steps: int = 1  # order size 100 + (n % size_steps) * 100 (fixed-point contracts)
    rest_every: int = 0  # every Nth order is left resting so books grow (0: never)


@dataclass(frozen=True)
class SimChild:
    """The parent's handle on the running child: its port, its tickers, the key to sign with."""

    conn: Connection
    port: int
    tickers: list[str]
    key_path: Path

    def drive(
        self, rate: int, seconds: float, tickers: Sequence[str], shape: DriveShape | None = None
    ) -> int:
        """Blocking: the child emits ~``rate`` deltas/s for ``seconds``; returns how many it produced."""
        self.conn.send(("drive", rate, seconds, list(tickers), asdict(shape or DriveShape())))
        produced: int = self.conn.recv()
        return produced

    async def drive_async(
        self, rate: int, seconds: float, tickers: Sequence[str], shape: DriveShape | None = None
    ) -> int:
        """``drive`` off the event loop, so this process keeps reading its sockets meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.drive, rate, seconds, tickers, shape)


@contextmanager
def sim_child() -> Iterator[SimChild]:
    """Start the simulator child (spawn), wait until it serves, stop it on exit."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    with tempfile.TemporaryDirectory() as key_dir:
        proc = ctx.Process(target=server_main, args=(child, key_dir), daemon=True)
        proc.start()
        info = parent.recv()
        try:
            yield SimChild(parent, info["port"], info["tickers"], Path(key_dir) / KEY_FILE)
        finally:
            parent.send(("stop",))
            proc.join(timeout=10)


# ----------------------------------------------------------------------------- child: the simulator
def server_main(conn: Connection, key_dir: str) -> None:
    asyncio.run(_serve(conn, Path(key_dir)))


def build_sim(key_dir: Path) -> SimExchange:
    """The simulator with its markets open, the bench key registered and rate limits off."""
    clock = SystemClock()
    sim = SimExchange.create(clock, seed=7)
    now = clock.now_ms()
    for listing in generate_listings(7, 8, now):
        listing.market.grid = listing.market.grid.named("linear_cent")
        sim.engine.add_market(listing.series, listing.event, listing.market)
    lifecycle.advance(sim.engine, now)
    private_pem, public_pem = generate_key_pair()
    write_private_key(str(key_dir / KEY_FILE), private_pem)
    sim.register_account(KEY_ID, public_pem, Money.dollars(10**9))
    sim.engine.add_account("driver", Money.dollars(10**9))
    assert sim.limiters is not None
    sim.limiters.check = lambda *args, **kwargs: True  # type: ignore[method-assign]
    return sim


async def _serve(conn: Connection, key_dir: Path) -> None:
    sim = build_sim(key_dir)
    loop = asyncio.get_running_loop()
    async with running_server(build_app(sim)) as address:
        conn.send({"port": address.port, "tickers": sorted(sim.engine.markets)})
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command[0] == "stop":
                break
            _, rate, seconds, tickers, shape = command
            conn.send(await drive(sim, tickers, rate, seconds, DriveShape(**shape)))


async def drive(
    sim: SimExchange, tickers: Sequence[str], rate: int, seconds: float, shape: DriveShape
) -> int:
    """Emit ~``rate`` orderbook deltas/s over ``tickers`` for ``seconds`` (create + cancel resting
    orders at $0.01..$0.20 YES bids / $0.99..$0.80 asks, never crossing the synthetic book)."""
    engine = sim.engine
    produced, n = 0, 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        debt = rate * elapsed - produced
        while debt >= 2:
            n += 1
            side = BookSide.ASK if shape.both_sides and not n % 2 else BookSide.BID
            price = 100 + (n % 20) * 100 if side is BookSide.BID else 9900 - (n % 20) * 100
            order = engine.create_order(
                "driver",
                OrderRequest(
                    tickers[n % len(tickers)],
                    side,
                    price,
                    100 + (n % shape.size_steps) * 100,
                    TimeInForce.GOOD_TILL_CANCELED,
                    SelfTradePrevention.TAKER_AT_CROSS,
                ),
            ).order
            if not shape.rest_every or n % shape.rest_every:
                engine.cancel_order("driver", order.order_id)
                produced += 2
                debt -= 2
            else:
                produced += 1
                debt -= 1
        await asyncio.sleep(0.005)
    return produced
