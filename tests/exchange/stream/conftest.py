"""Fixtures: a seeded simulator served over loopback (full app, port 0) and streams against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tests.exchange.stream.stream_kit import FAST_BACKOFF, ReferenceSink, make_sim, register

from kalshiflow.exchange.auth import RequestSigner, generate_key_pair
from kalshiflow.exchange.ws_stream import KalshiStream, StreamConfig
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.serve import ServerAddress, running_server

MakeStream = Callable[..., Awaitable[tuple[KalshiStream, ReferenceSink]]]


@pytest.fixture(scope="session")
def key_pairs() -> list[tuple[bytes, bytes]]:
    return [generate_key_pair() for _ in range(3)]


@pytest.fixture
def sim() -> SimExchange:
    return make_sim()


@pytest.fixture
def signer(sim: SimExchange, key_pairs: list[tuple[bytes, bytes]]) -> RequestSigner:
    return register(sim, "alice", key_pairs[0])


@pytest.fixture
def other_account(sim: SimExchange, key_pairs: list[tuple[bytes, bytes]]) -> str:
    register(sim, "bob", key_pairs[1])
    return "bob"


@pytest.fixture
def tickers(sim: SimExchange) -> list[str]:
    return sorted(sim.engine.markets)[:3]


@pytest.fixture
async def server(sim: SimExchange) -> AsyncIterator[ServerAddress]:
    async with running_server(build_app(sim)) as address:
        yield address


@pytest.fixture
async def make_stream(
    server: ServerAddress, sim: SimExchange, signer: RequestSigner
) -> AsyncIterator[MakeStream]:
    opened: list[KalshiStream] = []

    async def _make(**overrides: Any) -> tuple[KalshiStream, ReferenceSink]:
        settings: dict[str, Any] = {
            "url": server.ws_url,
            "resync_deadline_s": 0.5,
            "command_timeout_s": 2.0,
            "backoff": FAST_BACKOFF,
            "seed": 1,
        }
        settings.update(overrides)
        use_signer = settings.pop("signer", signer)
        sink = ReferenceSink()
        stream = KalshiStream(StreamConfig(**settings), use_signer, sink, clock=sim.clock)
        opened.append(stream)
        stream.start()
        return stream, sink

    yield _make
    for stream in opened:
        await stream.close()


@pytest.fixture
def server_url(server: ServerAddress) -> str:
    return server.ws_url
