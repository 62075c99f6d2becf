"""Stream settings and the signed WebSocket handshake, with every failure classified.

Why a module of its own: how a connection attempt failed decides what the stream does next. A
401/403 means the key, the signature or the clock is wrong and a quick retry cannot help (slow
backoff, optional give-up); refused connections, unknown hosts, timeouts and other statuses are
transient (normal backoff). Each becomes a ``StreamError`` with a message that names the URL or the
HTTP status and never contains key material.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from kalshiflow.clock import Clock, signing_clock
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.exchange.ws_status import BackoffPolicy, ErrorKind, StreamError, StreamMetrics

MAX_FRAME_BYTES = 1 << 24


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """Settings of one stream.

    * ``url``: ``wss://.../trade-api/ws/v2`` (the signed path is the URL's path).
    * ``command_timeout_s`` (5 s): wait for a command's reply.
    * ``resync_deadline_s`` (5 s): an invalid book must get its snapshot within this; each miss
      escalates (get_snapshot -> resubscribe -> reconnect).
    * ``idle_timeout_s`` (25 s): no frame for this long -> ping; Kalshi pings every 10 s.
    * ``ping_timeout_s`` (5 s): no pong within this -> the connection is dead, reconnect.
    * ``open_timeout_s`` (10 s): TCP + TLS + upgrade.
    * ``queue_size`` (10 000 messages): bound of the channel-message queue for the consumer.
    * ``backoff``: reconnect delays; ``seed`` (0) seeds their jitter.
    * ``max_auth_failures`` (None = never give up): consecutive auth failures before closing.
    * ``watchdog_interval_s`` (0.1 s): how often deadlines and liveness are checked.
    """

    url: str
    command_timeout_s: float = 5.0
    resync_deadline_s: float = 5.0
    idle_timeout_s: float = 25.0
    ping_timeout_s: float = 5.0
    open_timeout_s: float = 10.0
    queue_size: int = 10_000
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    seed: int = 0
    max_auth_failures: int | None = None
    watchdog_interval_s: float = 0.1


class ConnectFailed(Exception):
    def __init__(self, error: StreamError) -> None:
        super().__init__(str(error))
        self.error = error


async def open_connection(
    config: StreamConfig, signer: RequestSigner, clock: Clock, metrics: StreamMetrics
) -> ClientConnection:
    """Open the connection with freshly signed headers; failures raise ``ConnectFailed``."""
    url = config.url
    headers = signer.headers("GET", urlsplit(url).path, signing_clock(clock).now_ms())
    try:
        return await websockets.connect(
            url,
            additional_headers=headers,
            open_timeout=config.open_timeout_s,
            ping_interval=None,  # liveness is the stream watchdog's job; server pings are answered
            close_timeout=1.0,
            max_size=MAX_FRAME_BYTES,
            compression=None,
            proxy=None,
        )
    except InvalidStatus as err:
        status = err.response.status_code
        body = err.response.body.decode("utf-8", "replace")[:200] if err.response.body else ""
        if status in (401, 403):
            metrics.auth_failures += 1
            hint = "check the API key id, the private key and the clock"
            raise ConnectFailed(
                StreamError(ErrorKind.AUTH, f"handshake rejected with HTTP {status} ({hint}): {body}")
            ) from None
        metrics.connect_failures += 1
        raise ConnectFailed(
            StreamError(ErrorKind.CONNECT, f"handshake rejected with HTTP {status}: {body}")
        ) from None
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as err:
        metrics.connect_failures += 1
        text = str(err) or type(err).__name__
        raise ConnectFailed(StreamError(ErrorKind.CONNECT, f"cannot connect to {url}: {text}")) from None
