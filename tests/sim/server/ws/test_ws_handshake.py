"""Handshake authentication (a real HTTP 401) and Kalshi's ``heartbeat`` Ping frames."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from tests.sim.server.ws.ws_helpers import Account, ws_headers
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.serve import ServerAddress
from kalshiflow.sim.server.ws import HEARTBEAT_PAYLOAD, WS_PATH, HeartbeatWebSocketProtocol, ws_routes


async def _rejected(url: str, headers: dict[str, str]) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as caught:
        await websockets.connect(url, additional_headers=headers, proxy=None)
    return caught.value


async def test_handshake_without_auth_headers_is_401(server: ServerAddress) -> None:
    err = await _rejected(server.ws_url, {})
    assert err.response.status_code == 401
    assert json.loads(err.response.body)["error"]["code"] == "missing_authentication"


@pytest.mark.parametrize("signed_path", ["/trade-api/v2/portfolio/balance", "/trade-api/ws/v1"])
async def test_handshake_with_a_signature_over_another_path_is_401(
    server: ServerAddress, sim: SimExchange, alice: Account, signed_path: str
) -> None:
    headers = alice.signer.headers("GET", signed_path, sim.clock.now_ms())
    err = await _rejected(server.ws_url, headers)
    assert err.response.status_code == 401
    assert json.loads(err.response.body)["error"]["code"] == "invalid_signature"


async def test_handshake_with_a_stale_timestamp_is_401(
    server: ServerAddress, sim: SimExchange, alice: Account
) -> None:
    headers = alice.signer.headers("GET", WS_PATH, sim.clock.now_ms() - sim.max_skew_ms - 1)
    assert (await _rejected(server.ws_url, headers)).response.status_code == 401


async def test_signed_handshake_is_accepted(server: ServerAddress, sim: SimExchange, alice: Account) -> None:
    async with websockets.connect(
        server.ws_url, additional_headers=ws_headers(sim, alice), proxy=None
    ) as conn:
        await conn.send(json.dumps({"id": 1, "cmd": "list_subscriptions"}))
        assert json.loads(await asyncio.wait_for(conn.recv(), 5)) == {"id": 1, "type": "ok", "msg": []}


async def test_heartbeat_protocol_sends_ping_frames_with_payload_heartbeat(
    sim: SimExchange, alice: Account
) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        Starlette(routes=ws_routes(sim)),
        ws=HeartbeatWebSocketProtocol,
        ws_ping_interval=0.05,
        ws_ping_timeout=5,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no startup event
            await asyncio.sleep(0.005)
        port = sock.getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}{WS_PATH}"))
        request = client.connect()
        for name, value in ws_headers(sim, alice).items():
            request.headers[name] = value
        client.send_request(request)
        writer.write(b"".join(client.data_to_send()))

        async def next_ping() -> bytes:
            while True:
                client.receive_data(await reader.read(65536))
                writer.write(b"".join(client.data_to_send()))  # answers the Ping with a Pong
                for event in client.events_received():
                    if isinstance(event, Frame) and event.opcode is Opcode.PING:
                        return bytes(event.data)

        assert await asyncio.wait_for(next_ping(), 5) == HEARTBEAT_PAYLOAD
        assert await asyncio.wait_for(next_ping(), 5) == HEARTBEAT_PAYLOAD  # and again after the Pong
        writer.close()
    finally:
        server.should_exit = True
        await task
        sock.close()
