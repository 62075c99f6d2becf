"""The ASGI application of the simulator: Trade API v2 REST, WebSocket, and the sim-only admin API.

REST lives under ``/trade-api/v2``, the WebSocket at ``/trade-api/ws/v2``; the admin API (faults,
balance and position edits, market lifecycle control) lives under ``/sim/admin`` so that no Kalshi
client can reach it by accident.
"""

from __future__ import annotations

from starlette.applications import Starlette

from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.admin import admin_routes
from kalshiflow.sim.server.rest import rest_routes
from kalshiflow.sim.server.ws import ws_routes
from kalshiflow.sim.server.ws_hub import WsHub


def build_app(sim: SimExchange, hub: WsHub | None = None) -> Starlette:
    """The application; ``hub`` serves its WebSocket (default: a new one). An in-process venue that
    already feeds its client from a hub passes it, so the engine has one stream listener, not two."""
    app = Starlette(routes=[*rest_routes(sim), *ws_routes(sim, hub), *admin_routes(sim)])
    app.state.sim = sim
    return app
