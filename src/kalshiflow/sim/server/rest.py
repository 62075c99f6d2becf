"""Kalshi Trade API v2 REST endpoints of the simulator, under ``/trade-api/v2``.

This module only composes the route table; it exists so the application (``sim/server/app.py``)
has one entry point. The pieces live by responsibility:

* ``rest_pipeline`` -- the policy every request runs through (latency, auth, rate limit, fault
  injection, error envelope, lost response) and the 404/405 fallback;
* ``rest_query`` -- pagination cursors and shared query-string filters;
* ``rest_market`` -- public market data;
* ``rest_portfolio`` -- account reads and order groups;
* ``rest_market_meta`` -- series list, event metadata, fee changes;
* ``rest_history`` -- the historical cutoff and the data older than it;
* ``rest_resting`` -- queue positions and the value of resting orders;
* ``rest_subaccounts`` -- sub-accounts: create, balances, transfers;
* ``rest_candles`` -- candlesticks of a market, of many, of an event;
* ``rest_api_keys`` -- key management (keys made here sign requests at once);
* ``rest_account`` -- API limits, endpoint costs, usage-level progress, user-data freshness;
* ``rest_orders`` -- V2 order mutations, batches, cancel-all and the retired V1 paths;
* ``rest_unsupported`` -- every other operation of Kalshi's OpenAPI, answered 501 by name.

Routes are ordered so that a literal path segment always wins over a ``{param}`` at the same
depth (``/markets/candlesticks`` is never the market ``candlesticks``), whatever order the
resource modules list them in.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.rest_account import ACCOUNT_ROUTES
from kalshiflow.sim.server.rest_api_keys import API_KEY_ROUTES
from kalshiflow.sim.server.rest_candles import CANDLE_ROUTES
from kalshiflow.sim.server.rest_history import HISTORY_ROUTES
from kalshiflow.sim.server.rest_market import MARKET_ROUTES
from kalshiflow.sim.server.rest_market_meta import MARKET_META_ROUTES
from kalshiflow.sim.server.rest_orders import ORDER_ROUTES
from kalshiflow.sim.server.rest_pipeline import Spec, fallback_route, route
from kalshiflow.sim.server.rest_portfolio import PORTFOLIO_ROUTES
from kalshiflow.sim.server.rest_resting import RESTING_ROUTES
from kalshiflow.sim.server.rest_subaccounts import SUBACCOUNT_ROUTES
from kalshiflow.sim.server.rest_unsupported import UNSUPPORTED_ROUTES


def specificity(path: str) -> tuple[int, ...]:
    """Sort key: per segment 0 for a literal and 1 for a ``{param}``, so literals match first."""
    return tuple(1 if segment.startswith("{") else 0 for segment in path.strip("/").split("/"))


def rest_specs() -> list[Spec]:
    """Every REST endpoint, literal segments before ``{param}`` ones (the order routes match in)."""
    return sorted(
        (
            *MARKET_ROUTES,
            *MARKET_META_ROUTES,
            *PORTFOLIO_ROUTES,
            *RESTING_ROUTES,
            *ORDER_ROUTES,
            *ACCOUNT_ROUTES,
            *API_KEY_ROUTES,
            *CANDLE_ROUTES,
            *SUBACCOUNT_ROUTES,
            *HISTORY_ROUTES,
            *UNSUPPORTED_ROUTES,
        ),
        key=lambda spec: specificity(spec.path),
    )


def rest_routes(sim: SimExchange) -> list[BaseRoute]:
    """Every REST endpoint wrapped in the request pipeline, then the 404/405 fallback."""
    routes: list[BaseRoute] = [route(sim, spec) for spec in rest_specs()]
    return [*routes, fallback_route(routes)]
