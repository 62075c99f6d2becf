"""The dashboard's HTTP surface: the page, ``/ws``, the REST API, ``/metrics`` and the controls.

Routes:

* ``GET /`` the single-page app; ``/static/...`` its ES modules, styles, icon and the vendored
  chart library (package data, nothing fetched at run time). ``GET /favicon.ico`` is the same
  icon: a browser asks for it on any page it shows here (``/api/status``, ``/metrics``), and a
  404 there is an error in the console of every one.
* ``WS /ws`` a snapshot on connect, then messages as they happen, each frame either one message
  (the snapshot) or a JSON array of messages (see ``dashboard.hub``).
* ``GET /api/status|positions|orders|fills|history|calibrations|schemas``, ``GET /healthz``,
  ``GET /metrics`` (Prometheus text format). ``/api/orders`` gives each live order with
  ``queue_ahead`` (contracts ahead of it in its price level's queue, 0.01 contract units, with
  ``queue_ahead_fp``), null until the first read.
* ``POST /api/control/{pause|resume|close|flatten|kill_on|kill_off|calibrate}`` with the token
  header (``close`` takes ``{"ticker": ...}``): 401 without a valid token, 403 from a foreign
  Origin, 400 on bad input; nothing changes on a refusal.
* Any other ``/api/...`` path: 404 with JSON ``{"error": ...}`` naming the read endpoints (405
  for a GET of a control or of ``/api/token``).
* ``POST /api/token`` with the token header: 204 when this trader takes the token, 401 when not,
  403 from a foreign Origin. Changes and records nothing (the page checks a pasted token with it).

Listening on loopback, every request must name a loopback ``Host`` (421 otherwise): a web page
whose name was re-pointed at 127.0.0.1 (DNS rebinding) cannot read the trader either.

No response carries a secret: the token is only ever compared, never echoed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from kalshiflow.dashboard import views
from kalshiflow.dashboard.controls import (
    TOKEN_HEADER,
    TraderControls,
    apply,
    origin_ok,
    token_ok,
    who,
)
from kalshiflow.dashboard.hub import DashboardHub, encode
from kalshiflow.dashboard.messages import ControlAction, ControlResult, message_schemas
from kalshiflow.dashboard.metrics import CONTENT_TYPE, DashboardMetrics
from kalshiflow.domain.hosts import loopback_host_ok
from kalshiflow.domain.units import display_dollars
from kalshiflow.events.schema import jsonable

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 4_096
# The read endpoints, as an unknown /api path names them.
API_READS = tuple(
    f"/api/{name}"
    for name in ("status", "positions", "orders", "fills", "history", "calibrations", "schemas")
)


def _json(value: object, status: int = 200) -> JSONResponse:
    return JSONResponse(jsonable(value), status_code=status)


def _error(status: int, text: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


class _LoopbackHostOnly:
    """Every HTTP request and WebSocket handshake must name a loopback ``Host`` (421 otherwise, the
    WebSocket closed): see ``domain.hosts.loopback_host_ok``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not loopback_host_ok(Headers(scope=scope)):
            if scope["type"] == "http":
                await _error(421, "this dashboard answers to localhost / 127.0.0.1 only")(
                    scope, receive, send
                )
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


def build_app(
    hub: DashboardHub,
    controls: TraderControls,
    token: str,
    metrics: DashboardMetrics,
    *,
    loopback_only: bool = False,
) -> Starlette:
    """``loopback_only`` (the dashboard listens on loopback): refuse requests naming another host."""
    parts = hub.parts
    schemas = message_schemas()

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    async def favicon(request: Request) -> Response:
        return FileResponse(
            STATIC / "favicon.svg", media_type="image/svg+xml", headers={"cache-control": "max-age=86400"}
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "state": parts.lifecycle.state.value})

    async def status(request: Request) -> Response:
        snapshot = hub.snapshot()
        summary = snapshot.portfolio
        body: dict[str, Any] = {
            "state": snapshot.status.state.value,
            "since": snapshot.status.since_ms,
            "previous_state": jsonable(snapshot.status.previous_state),
            "pause_reason": snapshot.status.pause_reason,
            "kill_switch": snapshot.status.kill_switch,
            "cash_dollars": None if summary is None else display_dollars(summary.cash),
            "portfolio_value_dollars": None if summary is None else display_dollars(summary.portfolio_value),
            "portfolio": jsonable(summary),
        }
        return JSONResponse(body)

    async def positions(request: Request) -> Response:
        core = parts.core
        rows = () if core is None else views.position_rows(core)
        items = []
        for row in rows:
            item = jsonable(row)
            item["position_fp"] = row.position.fp_str()  # signed, as Kalshi writes it
            items.append(item)
        return JSONResponse(items)

    async def orders(request: Request) -> Response:
        core = parts.core
        if core is None:
            return JSONResponse([])
        items = []
        for order in views.live_orders(core):
            item = jsonable(order)
            ahead = core.queue.ahead_of(order.client_order_id)  # None until first read
            item["queue_ahead"] = None if ahead is None else int(ahead)  # 0.01 contract units
            item["queue_ahead_fp"] = None if ahead is None else ahead.fp_str()
            items.append(item)
        return JSONResponse(items)

    async def fills(request: Request) -> Response:
        return _json(tuple(hub.fills))

    async def history(request: Request) -> Response:
        return _json(views.status_view(parts).history)

    async def calibrations(request: Request) -> Response:
        return _json(tuple(hub.calibrations))

    async def get_schemas(request: Request) -> Response:
        return JSONResponse(schemas)

    async def get_metrics(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def control(request: Request) -> Response:
        if not origin_ok(request.headers, request.url.scheme):
            return _error(403, "foreign origin")
        if not token_ok(token, request.headers.get(TOKEN_HEADER)):
            return _error(401, "missing or wrong token")
        try:
            action = ControlAction(request.path_params["action"])
        except ValueError:
            return _error(404, "unknown control")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "body too large")
        ticker: str | None = None
        if body.strip():
            try:
                payload = json.loads(body)
            except ValueError:
                return _error(400, "body is not JSON")
            if not isinstance(payload, dict):
                return _error(400, "body must be a JSON object")
            raw = payload.get("ticker")
            if raw is not None and not isinstance(raw, str):
                return _error(400, "ticker must be a string")
            ticker = raw
        by = who(request.headers, request.client.host if request.client else None)
        try:
            ok, detail = await apply(controls, action, by, ticker)
        except (ValueError, KeyError) as exc:
            return _error(400, str(exc).strip("'\""))
        result = ControlResult(action, ok, detail, by, hub.clock.now_ms())
        hub.broadcast(result)
        log.info("dashboard.control", extra={"action": action.value, "by": by, "ok": ok, "detail": detail})
        return _json(result, 200 if ok else 409)

    async def unknown_api(request: Request) -> Response:
        # A guessed endpoint (/api/portfolio) answered a bare "Not Found" in text: say what exists.
        path = request.url.path
        if path == "/api/token" or path.startswith("/api/control/"):  # a POST route asked with GET
            return JSONResponse({"error": f"{path} takes POST"}, status_code=405, headers={"allow": "POST"})
        return _error(404, f"no endpoint {path}; the API has {', '.join(API_READS)}")

    async def check_token(request: Request) -> Response:
        if not origin_ok(request.headers, request.url.scheme):
            return _error(403, "foreign origin")
        if not token_ok(token, request.headers.get(TOKEN_HEADER)):
            return _error(401, "missing or wrong token")
        return Response(status_code=204)

    async def ws(websocket: WebSocket) -> None:
        if not origin_ok(websocket.headers, "http"):
            await websocket.close(code=1008)
            return
        await websocket.accept()
        client = hub.connect(who(websocket.headers, websocket.client.host if websocket.client else None))
        try:
            while True:
                batch = await client.next()
                text = encode("snapshot", hub.snapshot()) if batch is None else "[" + ",".join(batch) + "]"
                await websocket.send_text(text)
        except (WebSocketDisconnect, ConnectionError, RuntimeError):
            pass
        finally:
            hub.disconnect(client)

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/healthz", healthz),
        Route("/metrics", get_metrics),
        Route("/api/status", status),
        Route("/api/positions", positions),
        Route("/api/orders", orders),
        Route("/api/fills", fills),
        Route("/api/history", history),
        Route("/api/calibrations", calibrations),
        Route("/api/schemas", get_schemas),
        Route("/api/control/{action}", control, methods=["POST"]),
        Route("/api/token", check_token, methods=["POST"]),
        Route("/api/{rest:path}", unknown_api, methods=["GET", "POST"]),
        WebSocketRoute("/ws", ws),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_LoopbackHostOnly)] if loopback_only else [])
