"""Kalshi Trade API v2 REST endpoints of the simulator, under ``/trade-api/v2``.

This module only composes the route table; it exists so the application (``sim/server/app.py``)
has one entry point. The pieces live by responsibility:

* ``rest_pipeline`` -- the policy every request runs through (latency, auth, rate limit, fault
  injection, error envelope, lost response) and the 404/405 fallback;
* ``rest_query`` -- pagination cursors and shared query-string filters;
* ``rest_market`` -- public market data;
* ``rest_portfolio`` -- account reads and order groups;
* ``rest_orders`` -- V2 order mutations, batches, cancel-all and the retired V1 paths.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.rest_market import MARKET_ROUTES
from kalshiflow.sim.server.rest_orders import ORDER_ROUTES
from kalshiflow.sim.server.rest_pipeline import fallback_route, route
from kalshiflow.sim.server.rest_portfolio import PORTFOLIO_ROUTES


def rest_routes(sim: SimExchange) -> list[BaseRoute]:
    """Every REST endpoint wrapped in the request pipeline, then the 404/405 fallback."""
    routes: list[BaseRoute] = [
        route(sim, spec) for spec in (*MARKET_ROUTES, *PORTFOLIO_ROUTES, *ORDER_ROUTES)
    ]
    return [*routes, fallback_route(routes)]
