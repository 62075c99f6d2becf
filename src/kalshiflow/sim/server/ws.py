"""The simulator's WebSocket endpoint ``/trade-api/ws/v2``: handshake auth, commands, heartbeat.

The upgrade is authenticated before it is accepted (a bad signature is a real HTTP 401, as on
Kalshi). After that the connection reads JSON commands and answers them in Kalshi's reply shapes
(reference section 11); bad input of any kind gets an ``error`` reply and never ends the session.
Data messages come from ``WsHub``; this module only owns the socket and the command grammar.

Heartbeat: ASGI cannot send WebSocket Ping frames, so the Kalshi ``heartbeat`` Ping every 10 s is
sent by the uvicorn protocol subclass ``HeartbeatWebSocketProtocol`` (uvicorn config
``ws=HeartbeatWebSocketProtocol, ws_ping_interval=10``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from kalshiflow.sim import ws_messages as render
from kalshiflow.sim.auth import AuthError, auth_error_body, verify_request
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.ws_frames import Close
from kalshiflow.sim.server.ws_hub import (
    CHANNELS,
    LIFECYCLE,
    ORDER_GROUPS,
    ORDERBOOK,
    TICKER,
    Session,
    Subscription,
    WsHub,
)

log = logging.getLogger(__name__)

WS_PATH = "/trade-api/ws/v2"
HEARTBEAT_PAYLOAD = b"heartbeat"
HEARTBEAT_INTERVAL_S = 10.0
DISCONNECT_POLL_S = 0.1
_TICKER_RE = re.compile(r"^[A-Z0-9.\-]+$")


class HeartbeatWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with Kalshi's keep-alive: Ping frames carrying ``heartbeat``."""

    def send_keepalive_ping(self) -> None:
        self.ping_timer = None
        if self.close_sent or self.transport.is_closing():
            return
        self.pending_ping_payload = HEARTBEAT_PAYLOAD
        self.ping_sent_at = self.loop.time()
        self.conn.send_ping(HEARTBEAT_PAYLOAD)
        self.transport.write(b"".join(self.conn.data_to_send()))
        if self.ping_timeout is not None:
            self.pong_timer = self.loop.call_later(self.ping_timeout, self.keepalive_timeout)
        else:
            self.schedule_ping()


class CommandError(Exception):
    def __init__(self, code: int, text: str, sid: int | None = None, tickers: list[str] | None = None):
        super().__init__(text)
        self.code = code
        self.text = text
        self.sid = sid
        self.tickers = tickers


def _as_bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise CommandError(1, f"{name} must be a boolean")
    return value


class CommandHandler:
    """Kalshi's command grammar for one session; every method runs synchronously on the loop."""

    def __init__(self, hub: WsHub, session: Session) -> None:
        self.hub = hub
        self.session = session

    def handle_text(self, text: str) -> None:
        command_id: int | None = None
        try:
            try:
                command = json.loads(text)
            except (ValueError, RecursionError):
                raise CommandError(1, "Unable to process message") from None
            if not isinstance(command, dict):
                raise CommandError(1, "Unable to process message")
            raw_id = command.get("id")
            if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, int) or raw_id < 0):
                raise CommandError(1, "Unable to process message")
            command_id = raw_id
            self._dispatch(command, command_id)
        except CommandError as err:
            self.session.send_control(
                render.error_reply(err.code, err.text, command_id, sid=err.sid, market_tickers=err.tickers)
            )
        except Exception:  # a bug in one command must not end the session
            log.exception("ws.command_failed")
            self.session.send_control(render.error_reply(1, "Unable to process message", command_id))

    def _dispatch(self, command: dict[str, Any], command_id: int | None) -> None:
        cmd = command.get("cmd")
        if cmd == "list_subscriptions":
            subs = sorted(self.session.subs.values(), key=lambda s: s.sid)
            listing = [{"channel": s.channel, "sid": s.sid} for s in subs]
            self.session.send_control(render.reply("ok", command_id, msg=listing))
            return
        handlers = {
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "update_subscription": self._update,
        }
        handler = handlers.get(cmd) if isinstance(cmd, str) else None
        if handler is None:
            raise CommandError(5, "Unknown command")
        params = command.get("params")
        if params is None:
            raise CommandError(2, "Params required")
        if not isinstance(params, dict):
            raise CommandError(1, "Unable to process message")
        handler(params, command_id)

    # ----------------------------------------------------------------- parameters
    def _tickers(self, params: dict[str, Any]) -> list[str] | None:
        """``market_ticker`` or ``market_tickers``; None when neither is given."""
        single, many = params.get("market_ticker"), params.get("market_tickers")
        if single is not None and many is not None:
            raise CommandError(11, "market_ticker and market_tickers are mutually exclusive")
        if single is not None:
            many = [single]
        if many is None:
            return None
        if not isinstance(many, list) or not all(isinstance(t, str) for t in many):
            raise CommandError(1, "market_tickers must be a list of strings")
        if not many:
            return None
        unknown = [t for t in many if not _TICKER_RE.match(t) or t not in self.hub.engine.markets]
        if unknown:
            raise CommandError(11, "Invalid parameter: unknown market ticker", tickers=unknown)
        return list(dict.fromkeys(many))

    def _sid_of(self, params: dict[str, Any]) -> Subscription:
        sid, sids = params.get("sid"), params.get("sids")
        if sid is not None and sids is not None:
            raise CommandError(12, "Exactly one subscription ID is required")
        if sids is not None:
            if not isinstance(sids, list) or len(sids) != 1:
                raise CommandError(12, "Exactly one subscription ID is required")
            sid = sids[0]
        if sid is None:
            raise CommandError(12, "Exactly one subscription ID is required")
        if isinstance(sid, bool) or not isinstance(sid, int):
            raise CommandError(1, "sid must be an integer")
        sub = self.session.subs.get(sid)
        if sub is None:
            raise CommandError(7, "Unknown subscription ID", sid=sid)
        return sub

    # ----------------------------------------------------------------- subscribe
    def _subscribe(self, params: dict[str, Any], command_id: int | None) -> None:
        channels = params.get("channels")
        if channels is None or channels == []:
            raise CommandError(3, "Channels required")
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise CommandError(1, "channels must be a list of strings")
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            raise CommandError(8, f"Unknown channel name: {unknown[0]}")
        tickers = self._tickers(params)
        if ORDERBOOK in channels and tickers is None:
            raise CommandError(14, "Market Ticker required")
        use_yes_price = _as_bool(params, "use_yes_price")
        initial_ticker = _as_bool(params, "send_initial_snapshot")
        skip_ack = _as_bool(params, "skip_ticker_ack")
        for channel in dict.fromkeys(channels):
            wanted = None if channel in (LIFECYCLE, ORDER_GROUPS) else tickers
            sub = self.session.by_channel(channel)
            if sub is None:
                sub = Subscription(
                    self.session.new_sid(),
                    channel,
                    self.session,
                    None if wanted is None else set(wanted),
                    use_yes_price=use_yes_price and channel == ORDERBOOK,
                    skip_ticker_ack=skip_ack,
                )
                self.hub.subscribe(sub)
                new_markets = list(wanted or [])
            elif wanted is None:
                new_markets = []
                if sub.tickers is not None and channel != ORDERBOOK:
                    self.hub.unsubscribe(sub)  # widen to all markets, keeping sid and seq
                    sub.tickers, sub.active = None, True
                    self.hub.subscribe(sub)
            else:
                new_markets = self.hub.add_markets(sub, wanted)
            self.session.send_control(
                render.reply("subscribed", command_id, msg={"channel": channel, "sid": sub.sid})
            )
            self._initial_messages(sub, new_markets, initial_ticker)

    def _initial_messages(self, sub: Subscription, tickers: list[str], ticker_snapshot: bool) -> None:
        if sub.channel == ORDERBOOK:
            for ticker in tickers:
                self.hub.send_snapshot(sub, ticker)
        elif sub.channel == TICKER and ticker_snapshot:
            for ticker in tickers:
                self.hub.send_ticker(sub, ticker)

    # ----------------------------------------------------------------- unsubscribe
    def _unsubscribe(self, params: dict[str, Any], command_id: int | None) -> None:
        sids = params.get("sids")
        if sids is None or sids == []:
            raise CommandError(4, "Subscription IDs required")
        if not isinstance(sids, list) or any(isinstance(s, bool) or not isinstance(s, int) for s in sids):
            raise CommandError(1, "sids must be a list of integers")
        for sid in sids:
            sub = self.session.subs.get(sid)
            if sub is None:
                self.session.send_control(
                    render.error_reply(7, "Unknown subscription ID", command_id, sid=sid)
                )
                continue
            self.hub.unsubscribe(sub)
            # AsyncAPI requires ``seq`` (>= 1) on every ``unsubscribed``: a channel without sequence
            # numbers (ticker, fill, ...) or a sequenced one that has sent nothing yet reports 1.
            self.session.send_control(render.reply("unsubscribed", command_id, sid=sid, seq=max(sub.seq, 1)))

    # ----------------------------------------------------------------- update_subscription
    def _update(self, params: dict[str, Any], command_id: int | None) -> None:
        action = params.get("action")
        if action is None:
            raise CommandError(15, "Action required")
        if action not in ("add_markets", "delete_markets", "get_snapshot"):
            raise CommandError(13, "Unsupported action")
        sub = self._sid_of(params)
        if sub.channel in (LIFECYCLE, ORDER_GROUPS):
            raise CommandError(13, "Unsupported action", sid=sub.sid)
        tickers = self._tickers(params)
        if tickers is None:
            raise CommandError(14, "Market Ticker required", sid=sub.sid)
        if action == "get_snapshot":
            if sub.channel != ORDERBOOK:
                raise CommandError(13, "Unsupported action", sid=sub.sid)
            missing = [t for t in tickers if not sub.wants(t)]
            if missing:
                raise CommandError(11, "Market not in subscription", sid=sub.sid, tickers=missing)
            for ticker in tickers:
                self.hub.send_snapshot(sub, ticker, command_id)
            return
        if sub.tickers is None:
            raise CommandError(11, "Subscription covers all markets", sid=sub.sid)
        if action == "add_markets":
            added = self.hub.add_markets(sub, tickers)
        else:
            added = []
            self.hub.delete_markets(sub, tickers)
        msg = None if sub.skip_ticker_ack else {"market_tickers": sorted(sub.tickers)}
        self.session.send_control(render.reply("ok", command_id, sid=sub.sid, seq=sub.seq or None, msg=msg))
        self._initial_messages(sub, added, _as_bool(params, "send_initial_snapshot"))


# --------------------------------------------------------------------------- connection


async def _write(websocket: WebSocket, session: Session) -> None:
    while True:
        item = await session.outbox.get()
        if isinstance(item, Close):
            await websocket.close(code=item.code, reason=item.reason)
            return
        await websocket.send_text(item)


async def _watch_disconnects(sim: SimExchange, session: Session) -> None:
    """Honour the admin's one-shot disconnect even on a connection that receives no data."""
    while not session.closing:
        if sim.faults.disconnect_requested(session.disconnect_generation):
            session.close("simulated disconnect")
            return
        await asyncio.sleep(DISCONNECT_POLL_S)


async def _serve(websocket: WebSocket, hub: WsHub, session: Session) -> None:
    handler = CommandHandler(hub, session)
    writer = asyncio.create_task(_write(websocket, session))
    watcher = asyncio.create_task(_watch_disconnects(hub.sim, session))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                session.send_control(render.error_reply(1, "Unable to process message"))
                continue
            handler.handle_text(text)
    except WebSocketDisconnect:
        return
    finally:
        hub.close_session(session)
        session.closing = True
        for task in (writer, watcher):
            task.cancel()
        for task in (writer, watcher):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def ws_routes(sim: SimExchange, hub: WsHub | None = None) -> list[BaseRoute]:
    """The WebSocket route; pass ``hub`` to tune it (outbox bound) or to inspect it in tests."""
    ws_hub = hub if hub is not None else WsHub(sim)

    async def endpoint(websocket: WebSocket) -> None:
        try:
            account_id = verify_request(
                sim.keys, dict(websocket.headers), "GET", WS_PATH, sim.auth_now_ms(), sim.max_skew_ms
            )
        except AuthError as err:
            await websocket.send_denial_response(JSONResponse(auth_error_body(err), status_code=401))
            return
        await websocket.accept()
        await _serve(websocket, ws_hub, ws_hub.open_session(account_id))

    return [WebSocketRoute(WS_PATH, endpoint)]
