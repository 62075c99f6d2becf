"""Run the simulator's ASGI app under uvicorn on the current event loop.

Used by ``kalshiflow sim`` and by tests, which bind port 0 and read back the real port so that
parallel runs never collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from kalshiflow.domain.hosts import is_loopback
from kalshiflow.sim.server.ws import HeartbeatWebSocketProtocol

HEARTBEAT_INTERVAL_S = 10.0  # Kalshi pings every 10 s with payload "heartbeat"

log = logging.getLogger(__name__)


def warn_if_exposed(host: str) -> bool:
    """Warn loudly when the simulator listens beyond loopback; returns whether it does.

    The admin API has no authentication: anyone who can reach the port can change balances,
    settle markets and inject faults.
    """
    if is_loopback(host):
        return False
    log.warning(
        "sim.server.exposed host=%s: the simulator (and its unauthenticated /sim/admin API) is "
        "reachable from other machines; bind 127.0.0.1 unless that is intended",
        host,
    )
    return True


@dataclass(frozen=True, slots=True)
class ServerAddress:
    host: str
    port: int

    @property
    def _netloc(self) -> str:  # an IPv6 address goes in brackets in a URL: http://[::1]:8900
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self._netloc}/trade-api/v2"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._netloc}/trade-api/ws/v2"

    @property
    def base_url(self) -> str:
        return f"http://{self._netloc}"


class _ServerWithoutSignals(uvicorn.Server):
    """uvicorn leaving SIGINT/SIGTERM to the process that embeds it. Its own handlers would make
    Ctrl-C stop the simulator first (and re-raise the signal only once it is down): ``run``'s trader
    then reports a dead exchange at startup, or cancels its orders against one at shutdown.
    ``kalshiflow sim`` and ``record`` install their own handlers and leave this context to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def running_server(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[ServerAddress]:
    """Serve ``app`` until the context exits; yields the bound address.

    ``host`` is a name or an IPv4 or IPv6 address (``::1``); an error says whether ``--host`` or
    ``--port`` is the one to change."""
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise OSError(f"cannot listen on {host}: {exc.strerror}; check --host") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this on Linux. Without it, a response written as headers + body
    # waits for the client's delayed ACK (~40 ms) on every keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        fix = "choose another --port" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else "check --host"
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}; {fix}") from exc
    warn_if_exposed(host)
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ws=HeartbeatWebSocketProtocol,  # pings carry b"heartbeat", as Kalshi's do
        ws_ping_interval=HEARTBEAT_INTERVAL_S,
        ws_ping_timeout=2 * HEARTBEAT_INTERVAL_S,
        ws_max_size=1 << 20,
        ws_per_message_deflate=False,  # compression costs more CPU than loopback saves
        access_log=False,
    )
    server = _ServerWithoutSignals(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("simulator server stopped during startup")
        await asyncio.sleep(0.005)
    try:
        yield ServerAddress(host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
