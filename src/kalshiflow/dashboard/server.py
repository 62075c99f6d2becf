"""The dashboard as one part the composition layer starts and stops: bind, serve, stop.

The socket is bound first, before the trader connects to any exchange, so a port already in use
stops ``kalshiflow run`` with one line before anything is sent (nothing half-started). uvicorn then
serves the app on the trader's own event loop: the hub's fan-out and the trader share the loop, and
everything the dashboard does per event is a bounded, non-blocking append.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import uvicorn

from kalshiflow.clock import Clock
from kalshiflow.dashboard.app import build_app
from kalshiflow.dashboard.controls import TraderControls, new_token
from kalshiflow.dashboard.hub import DashboardHub, HubConfig
from kalshiflow.dashboard.metrics import DashboardMetrics
from kalshiflow.dashboard.views import TraderParts
from kalshiflow.dashboard.webhook import WebhookNotifier
from kalshiflow.domain.hosts import is_loopback
from kalshiflow.events.bus import EventBus

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000


class _QuietServer(uvicorn.Server):
    """uvicorn without its own SIGINT/SIGTERM handlers: the trader owns them (Ctrl-C stops the
    trader, whose shutdown stops the dashboard last, so the page sees the trader stop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class DashboardBindError(Exception):
    """The dashboard cannot listen where it was told to; the message names the setting."""


@dataclass(frozen=True)
class DashboardConfig:
    """``host`` (127.0.0.1): where to listen (non-loopback is allowed, with a loud warning);
    ``port`` (8000, 0 = any free port); ``token`` (None = generate one at startup);
    ``webhook_url`` (None = no notifications); ``hub``: the fan-out's bounds and cadence."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    webhook_url: str | None = None
    hub: HubConfig = field(default_factory=HubConfig)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DashboardBindError(
            f"the dashboard cannot listen on {host}:{port} ({exc.strerror}); "
            "use --dashboard-port, KALSHIFLOW_DASHBOARD_PORT or --no-dashboard"
        ) from None
    return sock


class Dashboard:
    def __init__(
        self,
        config: DashboardConfig,
        bus: EventBus,
        parts: TraderParts,
        clock: Clock,
        controls: TraderControls,
    ) -> None:
        self.config = config
        self.token = config.token or new_token()
        self.metrics = DashboardMetrics(parts)
        self.hub = DashboardHub(bus, parts, clock, self.metrics, config.hub)
        self.webhook = None if not config.webhook_url else WebhookNotifier(config.webhook_url, bus, parts)
        self.app = build_app(
            self.hub, controls, self.token, self.metrics, loopback_only=is_loopback(config.host)
        )
        self._sock: socket.socket | None = None
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def loopback(self) -> bool:
        return is_loopback(self.config.host)

    def bind(self) -> None:
        """Take the port now (before the trader connects), or raise ``DashboardBindError``."""
        self._sock = bind(self.config.host, self.config.port)

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("not bound")
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.config.host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"

    async def start(self) -> None:
        if self._sock is None:
            self.bind()
        assert self._sock is not None
        self.hub.start()
        if self.webhook is not None:
            self.webhook.start()
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            ws_max_size=64 * 1024,  # the page never sends anything large
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            ws_per_message_deflate=False,
        )
        self._server = _QuietServer(config)
        self._task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[self._sock]), name="dashboard-server"
        )
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise DashboardBindError("the dashboard server stopped during startup")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        await self.hub.stop()
        if self.webhook is not None:
            await self.webhook.stop()
        if self._server is not None:
            self._server.should_exit = True
            for client in self.hub.clients:
                client.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
        if self._sock is not None:
            self._sock.close()
