"""Fixtures for the simulator's WebSocket tests: a seeded sim, two funded keyed accounts and a live
WebSocket server on port 0 (helpers live in ws_helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import websockets
from starlette.applications import Starlette
from tests.sim.server.ws.ws_helpers import Account, WsClient, make_sim, register, ws_headers
from websockets.asyncio.client import ClientConnection

from kalshiflow.clock import ManualClock
from kalshiflow.exchange.auth import generate_key_pair
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.serve import ServerAddress, running_server
from kalshiflow.sim.server.ws import ws_routes
from kalshiflow.sim.server.ws_hub import WsHub

Connect = Callable[[Account], Awaitable[WsClient]]


@pytest.fixture(scope="session")
def key_pairs() -> list[tuple[bytes, bytes]]:
    """RSA key generation is slow; two pairs serve the whole session."""
    return [generate_key_pair() for _ in range(2)]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> SimExchange:
    return make_sim(clock)


@pytest.fixture
def alice(sim: SimExchange, key_pairs: list[tuple[bytes, bytes]]) -> Account:
    return register(sim, "alice", key_pairs[0])


@pytest.fixture
def bob(sim: SimExchange, key_pairs: list[tuple[bytes, bytes]]) -> Account:
    return register(sim, "bob", key_pairs[1])


@pytest.fixture
def cent_ticker(sim: SimExchange) -> str:
    """A market on the whole-cent grid, so test prices are simple."""
    return next(t for t, m in sim.engine.markets.items() if m.grid.structure == "linear_cent")


@pytest.fixture
def other_ticker(sim: SimExchange, cent_ticker: str) -> str:
    return next(
        t for t, m in sim.engine.markets.items() if m.grid.structure == "linear_cent" and t != cent_ticker
    )


@pytest.fixture
def hub(sim: SimExchange) -> WsHub:
    return WsHub(sim)


@pytest.fixture
async def server(sim: SimExchange, hub: WsHub) -> AsyncIterator[ServerAddress]:
    """A WS-only app: these tests drive the engine in-process and need no REST routes."""
    async with running_server(Starlette(routes=ws_routes(sim, hub))) as address:
        yield address


@pytest.fixture
async def connect(server: ServerAddress, sim: SimExchange) -> AsyncIterator[Connect]:
    opened: list[ClientConnection] = []

    async def _connect(account: Account) -> WsClient:
        conn = await websockets.connect(
            server.ws_url, additional_headers=ws_headers(sim, account), proxy=None, compression=None
        )
        opened.append(conn)
        return WsClient(conn)

    yield _connect
    for conn in opened:
        await conn.close()
