"""Shared helpers for the stream tests: a reference book sink, a scripted order driver, waiting, and
a tiny fake WebSocket server for the edges the simulator cannot produce."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from websockets.asyncio.server import ServerConnection, serve

from kalshiflow.clock import ManualClock
from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Money
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.exchange.ws_status import BackoffPolicy
from kalshiflow.exchange.ws_stream import KalshiStream, StreamConfig
from kalshiflow.sim import lifecycle
from kalshiflow.sim.book import Book
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.universe import generate_listings

FAST_BACKOFF = BackoffPolicy(initial_s=0.02, max_s=0.2, auth_initial_s=1.0)


@dataclass
class ReferenceSink:
    """The simplest correct book: dicts of price -> size per side, rebuilt from snapshots."""

    books: dict[str, dict[OutcomeSide, dict[int, int]]] = field(default_factory=dict)
    invalid: set[str] = field(default_factory=set)
    invalidations: list[tuple[tuple[str, ...], str]] = field(default_factory=list)

    def on_snapshot(self, snapshot: OrderbookSnapshot) -> None:
        self.books[snapshot.ticker] = {
            OutcomeSide.YES: {int(p): int(n) for p, n in snapshot.yes},
            OutcomeSide.NO: {int(p): int(n) for p, n in snapshot.no},
        }
        self.invalid.discard(snapshot.ticker)

    def on_delta(self, delta: OrderbookDelta) -> bool:
        ladder = self.books[delta.ticker][delta.side]
        size = ladder.get(int(delta.price), 0) + int(delta.delta)
        if size < 0:
            return False
        if size:
            ladder[int(delta.price)] = size
        else:
            ladder.pop(int(delta.price), None)
        return True

    def on_invalid(self, tickers: Sequence[str], reason: str) -> None:
        self.invalid.update(tickers)
        self.invalidations.append((tuple(tickers), reason))

    def matches(self, ticker: str, book: Book) -> bool:
        local = self.books.get(ticker)
        if local is None or ticker in self.invalid:
            return False
        return (
            sorted(local[OutcomeSide.YES].items()) == book.yes.ascending()
            and sorted(local[OutcomeSide.NO].items()) == book.no.ascending()
        )


def make_sim(seed: int = 7) -> SimExchange:
    clock = ManualClock()
    sim = SimExchange.create(clock, seed=seed)
    for listing in generate_listings(seed, 6, clock.now_ms()):
        listing.market.grid = listing.market.grid.named("linear_cent")
        sim.engine.add_market(listing.series, listing.event, listing.market)
    lifecycle.advance(sim.engine, clock.now_ms())
    return sim


def register(sim: SimExchange, key_id: str, pair: tuple[bytes, bytes]) -> RequestSigner:
    private_pem, public_pem = pair
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, RSAPrivateKey)
    sim.register_account(key_id, public_pem, int(Money.dollars(1_000_000)), key_id)
    return RequestSigner(key_id, key)


class OrderScript:
    """Seeded random resting orders, crossing orders and cancels on the engine, in-process."""

    def __init__(
        self, sim: SimExchange, account_ids: Sequence[str], tickers: Sequence[str], seed: int
    ) -> None:
        self.sim = sim
        self.account_ids = list(account_ids)
        self.tickers = list(tickers)
        self.rng = random.Random(seed)
        self.resting: list[tuple[str, str]] = []

    def step(self, n: int) -> None:
        engine, rng = self.sim.engine, self.rng
        for _ in range(n):
            if self.resting and rng.random() < 0.3:
                account_id, order_id = self.resting.pop(rng.randrange(len(self.resting)))
                with contextlib.suppress(ExchangeError):  # already filled
                    engine.cancel_order(account_id, order_id)
                continue
            account_id = rng.choice(self.account_ids)
            side = rng.choice((BookSide.BID, BookSide.ASK))
            request = OrderRequest(
                rng.choice(self.tickers),
                side,
                rng.randint(30, 70) * 100,
                rng.randint(1, 5) * 100,
                TimeInForce.GOOD_TILL_CANCELED,
                SelfTradePrevention.TAKER_AT_CROSS,
            )
            try:
                result = engine.create_order(account_id, request)
            except ExchangeError:
                continue
            if result.order.remaining_count:
                self.resting.append((account_id, result.order.order_id))


# ----------------------------------------------------------------------------- fake server
Script = Callable[[ServerConnection, int], Awaitable[None]]
FAKE_TICKER = "FAKE-1"
FAKE_BOOK = {"market_ticker": FAKE_TICKER, "market_id": "m", "yes_dollars_fp": [["0.4000", "5.00"]]}


@asynccontextmanager
async def fake_server(script: Script) -> AsyncIterator[str]:
    """Serve ``script(conn, connection_number)`` (from 1) on a loopback port; yields the WS URL."""
    connections = 0

    async def handler(conn: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await script(conn, connections)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/trade-api/ws/v2"


async def recv_command(conn: ServerConnection, log: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The client's next command (recorded in ``log`` if given)."""
    command: dict[str, Any] = json.loads(await conn.recv())
    if log is not None:
        log.append(command)
    return command


async def send_subscribed(conn: ServerConnection, command: dict[str, Any], channel: str, sid: int) -> None:
    reply = {"id": command["id"], "type": "subscribed", "msg": {"channel": channel, "sid": sid}}
    await conn.send(json.dumps(reply))


async def answer_subscribe(
    conn: ServerConnection,
    sid: int,
    channel: str = "orderbook_delta",
    log: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Receive a ``subscribe`` command and confirm it with ``sid``."""
    command = await recv_command(conn, log)
    assert command["cmd"] == "subscribe", command
    await send_subscribed(conn, command, channel, sid)
    return command


def snapshot_frame(sid: int, seq: int) -> str:
    return json.dumps({"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": FAKE_BOOK})


def fake_stream(url: str, signer: RequestSigner, **overrides: Any) -> tuple[KalshiStream, ReferenceSink]:
    """A stream (not started) with fast backoff and short deadlines, for the fake server."""
    sink = ReferenceSink()
    settings: dict[str, Any] = {
        "url": url,
        "backoff": FAST_BACKOFF,
        "resync_deadline_s": 0.5,
        "command_timeout_s": 1.0,
    }
    settings.update(overrides)
    return KalshiStream(StreamConfig(**settings), signer, sink), sink
