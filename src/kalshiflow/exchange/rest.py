"""``KalshiRestClient``: the Trade API v2 over HTTP, for the simulator, demo and production alike.

The client is composed from one transport and three groups of endpoints, each in its own module:

* ``rest_transport`` -- pacing, signing, error classification, read retries, pagination;
* ``rest_market`` -- exchange status, markets, order books, events;
* ``rest_portfolio`` -- balance, positions, orders, fills, settlements, order groups;
* ``rest_orders`` -- V2 order mutations and resolution of ambiguous creates;
* ``rest_account`` -- queue positions, API limits, endpoint costs, scheduled fee changes.

Use it as an async context manager so the keep-alive pool is closed::

    connection = ExchangeConnection.from_settings("demo", key_id="...", key_file="key.pem")
    async with KalshiRestClient.from_connection(connection) as client:
        markets = await client.list_markets(status="open")
"""

from __future__ import annotations

from collections.abc import Callable

from kalshiflow.clock import Clock, SystemClock
from kalshiflow.exchange.environments import ExchangeConnection
from kalshiflow.exchange.ratelimit import Pacer, PacerConfig
from kalshiflow.exchange.rest_account import AccountEndpoints
from kalshiflow.exchange.rest_market import MarketEndpoints
from kalshiflow.exchange.rest_orders import OrderEndpoints, uuid4_text
from kalshiflow.exchange.rest_transport import RestSettings


class KalshiRestClient(MarketEndpoints, OrderEndpoints, AccountEndpoints):
    """Async REST client: every read paced and retried, every write sent at most once."""

    @classmethod
    def from_connection(
        cls,
        connection: ExchangeConnection,
        *,
        clock: Clock | None = None,
        pacer_config: PacerConfig | None = None,
        settings: RestSettings | None = None,
        client_order_id_factory: Callable[[], str] = uuid4_text,
    ) -> KalshiRestClient:
        """A client for ``connection``; loads the private key now (errors name the setting)."""
        clock = clock or SystemClock()
        return cls(
            connection.rest_url,
            connection.signer(),
            clock=clock,
            pacer=Pacer(clock, pacer_config),
            settings=settings,
            client_order_id_factory=client_order_id_factory,
        )
