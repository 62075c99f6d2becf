"""The simulator reached in process, without the wire: the training environment owns both ends.

Why this exists. ``SimVenue`` first ran the trader against the simulator exactly as over a network,
minus the socket: every REST call signed (RSA-PSS), sent through httpx into the simulator's Starlette
application and its JSON parsed back; every stream message rendered to JSON by the simulator's
WebSocket hub and parsed again by the client. In an environment step that plumbing cost more than
the simulated market itself (issue 12: ~34 % market, most of the rest REST and frames). Here the
environment owns the exchange and the trader's account, so it can hand things over directly:

* ``InProcessRestClient`` is the real ``KalshiRestClient`` (the same endpoint code builds every
  request and parses every answer, the same pacer paces it) whose one attempt, instead of HTTP,
  calls the simulator's handler for the route through the same request pipeline the HTTP server
  runs after authentication (``rest_pipeline.serve``: rate limit, faults, handler, error envelope).
  No signing (the caller's account is known), no httpx, no Starlette routing. Bodies and answers
  still cross as JSON-shaped values copied through ``json`` (a few microseconds per call), so the
  handler and the client see exactly the values a socket would carry, never shared objects.
* ``BookDeltas`` hands the engine's book changes for the trader's subscribed markets to its
  ``BookStore`` as typed ``OrderbookDelta`` values -- the JSON the hub would render and the client
  parse is skipped, values are the same integers. It takes the hub's place among the engine's
  listeners, so every delta keeps its position among the other frames (fills, orders, positions,
  snapshots) which still go through the hub: the trader learns everything in the same order.
* Our own fills, order updates and positions are handed over typed too (``inprocess_private``),
  unless a stream fault could touch their frames.
* The hub's other data messages are queued unencoded (``ws_frames.DataFrame``: JSON text only when a
  socket writes one); the venue hands each payload to the client's parser as the value it would
  decode (``ws_parse.parse_value``), so no JSON is written or read for the stream at all. A test
  checks every such payload is exactly what its text decodes to, types included.

``Plumbing.WIRE`` keeps the full path (signed HTTP over ASGI, JSON frames): the parity tests run
both and require identical observations, rewards and fills.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.requests import Request

from kalshiflow.clock import Clock
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.errors import error_from_response, error_from_transport
from kalshiflow.exchange.ratelimit import Pacer
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_models import FillMessage, MarketPositionUpdate, OrderbookDelta, UserOrderUpdate
from kalshiflow.sim import subaccounts, wire
from kalshiflow.sim.events import BookDelta, EngineEvent, FillEvent, OrderEvent, PositionEvent
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.rest import rest_specs
from kalshiflow.sim.server.rest_pipeline import PREFIX, Reply, Spec, serve
from kalshiflow.sim.server.ws_frames import OutboxItem
from kalshiflow.sim.server.ws_hub import FILL, POSITIONS, USER_ORDERS, Session, Subscription, WsHub
from kalshiflow.train.inprocess_private import fill_message, order_message, position_message


class Plumbing(Enum):
    """How the trader reaches an in-process exchange."""

    WIRE = "wire"  # signed REST through the simulator's ASGI app, stream frames as JSON text
    DIRECT = "direct"  # handlers called in process, book deltas handed over typed (this module)


Frame = OutboxItem  # an outbox item: (is data, a data frame, control text or a close)
PrivateMessage = FillMessage | UserOrderUpdate | MarketPositionUpdate
Delivery = OrderbookDelta | PrivateMessage | Frame


class _NoNetwork(httpx.AsyncBaseTransport):
    """The in-process client's httpx client is never used; sending through it is a bug."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise RuntimeError("the in-process REST client sends nothing over HTTP")


class RouteMiss(Enum):
    """Why no endpoint serves a request (answered 404 and 405, as the HTTP app's fallback does)."""

    NO_PATH = "no_path"
    OTHER_METHOD = "other_method"


class Router:
    """Which ``Spec`` serves a method and path, as the Starlette router matches them: specs in
    ``rest_specs`` order, a ``{param}`` segment matches one non-empty segment."""

    def __init__(self, specs: Sequence[Spec]) -> None:
        self._specs = [(spec, spec.path.strip("/").split("/")) for spec in specs]
        self._literal: dict[tuple[str, str], Spec] = {}
        # Specs by segment count, in ``specs`` order: only a spec with as many segments as the path
        # can match it (``_params``), so a parametrized path (a cancel's order id) is tried against
        # those few instead of every endpoint.
        self._by_length: dict[int, list[tuple[Spec, list[str]]]] = {}
        for spec, segments in self._specs:
            self._by_length.setdefault(len(segments), []).append((spec, segments))
            if not any(s.startswith("{") for s in segments):
                self._literal.setdefault((spec.method, spec.path), spec)

    def match(self, method: str, path: str) -> tuple[Spec, dict[str, str]] | RouteMiss:
        """The spec serving ``method`` on ``path`` (under ``PREFIX``) and its path parameters."""
        spec = self._literal.get((method, path))
        if spec is not None:
            return spec, {}
        parts = path.strip("/").split("/")
        other_method = False
        for candidate, segments in self._by_length.get(len(parts), ()):
            params = _params(segments, parts)
            if params is None:
                continue
            if candidate.method == method:
                return candidate, params
            other_method = True
        return RouteMiss.OTHER_METHOD if other_method else RouteMiss.NO_PATH


def _params(segments: list[str], parts: list[str]) -> dict[str, str] | None:
    if len(segments) != len(parts):
        return None
    params: dict[str, str] = {}
    for segment, part in zip(segments, parts, strict=True):
        if segment.startswith("{"):
            if not part:
                return None
            params[segment[1:-1]] = part
        elif segment != part:
            return None
    return params


def _plain(value: object) -> object:
    """The value a JSON round trip gives: what the other end would have parsed off the wire."""
    try:
        return _copy_plain(value, 0)
    except _NotPlain:
        return _json_round_trip(value)


def _json_round_trip(value: object) -> object:
    return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")))


class _NotPlain(Exception):
    """A value the JSON round trip would change or refuse: only the round trip says how."""


_PLAIN_DEPTH_MAX = 64  # deeper than any reply or body; a cycle ends here (the round trip refuses it)


def _copy_plain(value: object, depth: int) -> object:
    """``value`` copied when it is already what the round trip yields, else ``_NotPlain``.

    Why: the round trip was a third of a 20-market ``list_markets`` call in process (encode and
    decode ~45 fields per market); copying is ~3x cheaper. Exact because only values the round
    trip leaves equal are accepted: ``str``, ``int``, ``bool``, ``None`` and finite ``float``
    (exact types, no subclasses -- an ``IntEnum`` or ``StrEnum`` goes through the round trip),
    and fresh ``dict`` (string keys only) and ``list`` containers of them; immutable leaves may
    be shared, containers never are.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if depth >= _PLAIN_DEPTH_MAX:
        raise _NotPlain
    if kind is dict:
        copied: dict[str, object] = {}
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise _NotPlain  # the round trip turns keys into text
            leaf = type(item)
            if leaf is str or leaf is int or leaf is bool or item is None:
                copied[key] = item
            else:
                copied[key] = _copy_plain(item, depth + 1)
        return copied
    if kind is list:
        return [_copy_plain(item, depth + 1) for item in value]  # type: ignore[attr-defined]
    if kind is float and math.isfinite(value):  # type: ignore[arg-type]
        return value  # repr round-trips a finite float exactly
    raise _NotPlain


class InProcessRestClient(KalshiRestClient):
    """The trader's REST client whose every attempt is served by the simulator in this process.

    Everything above one attempt -- endpoint methods, pacing, retries, pagination, error classes --
    is ``KalshiRestClient``'s own code; see the module docstring for what the attempt skips.
    """

    def __init__(
        self, sim: SimExchange, account_id: str, *, clock: Clock, pacer: Pacer, rest_url: str
    ) -> None:
        super().__init__(rest_url, None, clock=clock, pacer=pacer, transport=_NoNetwork())
        self._sim = sim
        self._account_id = account_id
        self._router = Router(rest_specs())
        self.requests = 0

    async def _send(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]] | None,
        body: object | None,
        batch_items: int,
    ) -> object | None:
        await self.pacer.acquire(method, path, batch_items)
        self.requests += 1
        answer = self._serve(method, path, params, body)
        if answer is None:  # an injected lost response: the mutation happened, no answer came
            lost = httpx.RemoteProtocolError("the simulator dropped the response")
            raise error_from_transport(lost, method, path, self.rest_url)
        status, reply = answer
        if status == 429:
            self.pacer.on_rate_limited(method, path)
        if status >= 400:
            raise error_from_response(httpx.Response(status, json=reply), method, path)
        self.pacer.on_success(method, path)
        if status == 204 or reply is None:
            return None
        return _plain(reply)

    def _serve(
        self, method: str, path: str, params: Sequence[tuple[str, str]] | None, body: object | None
    ) -> Reply | None:
        full_path = PREFIX + path
        found = self._router.match(method, path)
        if found is RouteMiss.NO_PATH:
            return 404, wire.error_body("not_found", f"no endpoint at {full_path}")
        if found is RouteMiss.OTHER_METHOD:
            return 405, wire.error_body("method_not_allowed", f"{method} is not allowed on this endpoint")
        spec, path_params = found
        request = Request(
            {
                "type": "http",
                "method": method,
                "path": full_path,
                "root_path": "",
                "query_string": urlencode(list(params)).encode("ascii") if params else b"",
                "headers": [],
                "path_params": path_params,
                "scheme": "http",
                "server": ("venue.invalid", 80),
            }
        )
        # The HTTP path signs every request, so the simulator bills every call to the account; an
        # empty body is the empty object (``wire.parse_json``).
        parsed = {} if body is None else _plain(body)
        return serve(self._sim, spec.handler, request, self._account_id, parsed)


class BookDeltas:
    """The engine's book changes of subscribed markets, typed, in order with the hub's frames.

    Installed in the hub's place among the engine's listeners (same position, so listeners after it
    see events after it as before): for each event it first lets the hub render what it renders
    (private channels, snapshots already queued), moves the session's queued frames into
    ``pending``, then appends the typed delta when the event changed a subscribed book. The
    subscription passed in is bookkeeping only: it is never in the hub's index, so the hub renders
    no orderbook frames for it (it still sends snapshots on request, through the session).
    """

    def __init__(self, hub: WsHub, session: Session, books: Subscription) -> None:
        self._hub_on_event: Callable[[EngineEvent], None] = hub.on_event
        self._private_subs = hub.private_subscriptions
        self._session = session
        self._sessions = hub.sessions
        self._account = session.account_id
        self._outbox = session.outbox
        self._sub = books
        self.pending: deque[Delivery] = deque()
        self._prices: dict[int, Price] = {}
        self._counts: dict[int, Count] = {}
        self._foreign_accounts: dict[str, bool] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            BookDelta: self._on_delta,
            OrderEvent: self._on_order,
            FillEvent: self._on_fill,
            PositionEvent: self._on_position,
        }
        listeners = hub.engine.listeners
        listeners[listeners.index(hub.on_event)] = self.on_event

    def on_event(self, event: EngineEvent) -> None:
        # One dict lookup by exact type picks the handler; every engine event of an episode comes
        # through here (a replay's tape makes most of them: its book changes), so each test saved counts.
        handler = self._handlers.get(type(event))
        if handler is None:
            self._hub_on_event(event)
        else:
            handler(event)

    def _on_order(self, event: OrderEvent) -> None:
        sid = self._private(event, event.order.account_id, USER_ORDERS)
        if sid is not None:
            self._typed(event, order_message(event, sid, time.monotonic_ns()))

    def _on_fill(self, event: FillEvent) -> None:
        sid = self._private(event, event.fill.account_id, FILL)
        if sid is not None:
            self._typed(event, fill_message(event, sid, time.monotonic_ns()))

    def _on_position(self, event: PositionEvent) -> None:
        sid = self._private(event, event.account_id, POSITIONS)
        if sid is not None:
            self._typed(event, position_message(event, sid, time.monotonic_ns()))

    def _private(self, event: EngineEvent, account_id: str, channel: str) -> int | None:
        """The sid to send the event to typed (``_typed``), or None once it is handled here."""
        foreign = self._foreign_accounts.get(account_id)
        if foreign is None:
            foreign = self._foreign(account_id)
        if len(self._sessions) == 1:
            if foreign:
                return None  # another account's order, fill or position: nobody here listens for it
            sid = self._direct_sid(channel)
            if sid is not None:
                return sid
        self._hub_on_event(event)
        return None

    def _direct_sid(self, channel: str) -> int | None:
        """Our subscription's sid when the hub would send our event on ``channel`` as one plain
        data frame to it: it is the channel's only subscriber, unfiltered, and no fault can touch
        the frame. Then the frame's message is built typed (``inprocess_private``) instead of
        rendered by the hub and parsed by the client (~11 % of a random-action episode). Like the
        typed book deltas, such messages wait in ``pending``, outside the outbox's bound."""
        session = self._session
        if session.closing or not session.faults.quiet():
            return None
        subs = self._private_subs(channel, self._account)
        if subs is None or len(subs) != 1:
            return None
        for sub in subs:
            if sub.active and sub.tickers is None and sub.session is session:
                return sub.sid
        return None

    def _typed(self, event: EngineEvent, message: PrivateMessage | None) -> None:
        if message is None:  # a value only the parser can judge: the hub's frame, as before
            self._hub_on_event(event)
            return
        action = self._session.faults.next_action()  # the hub's count and draw for the frame
        assert action == "send", action  # as ``quiet`` promised
        if self._outbox._items:
            self.take_frames()
        self.pending.append(message)

    def _on_delta(self, event: BookDelta) -> None:
        if len(self._sessions) != 1:  # ``_only_session``, inlined on the hottest path
            self._hub_on_event(event)  # another session may follow this book or its ticker
        sub = self._sub
        tickers = sub.tickers
        if tickers is None or event.ticker not in tickers or not sub.active:
            return
        if self._outbox._items:
            self.take_frames()
        price = self._prices.get(event.price)
        if price is None:
            price = self._prices[event.price] = Price(event.price)
        count = self._counts.get(event.delta)
        if count is None:
            count = self._counts[event.delta] = Count(event.delta)
        sub.seq += 1
        self.pending.append(
            OrderbookDelta(sub.sid, sub.seq, event.ticker, event.side, price, count, event.ts_ms)
        )

    def _foreign(self, account_id: str) -> bool:
        """Whether an engine account belongs to another user than the trader's. Remembered per
        account: a simulated market's participants trade all the time, one string split each (a
        replay's tape accounts are house accounts, whose private events the engine never reports)."""
        foreign = self._foreign_accounts.get(account_id)
        if foreign is None:
            foreign = self._foreign_accounts[account_id] = subaccounts.primary_of(account_id) != self._account
        return foreign

    def _only_session(self) -> bool:
        """Whether the trader's session is the hub's only one: then the hub renders nothing for a
        book change (the trader's book subscription is not in its index, nobody follows tickers or
        trades) nor for another account's private events, and calling it can be skipped -- most
        engine events of a replay are the book changes the tape causes."""
        return len(self._sessions) == 1

    def take_frames(self) -> None:
        """Move the session's queued frames behind what is pending (they came first)."""
        outbox = self._outbox
        items = outbox._items  # the socket writer's queue, read synchronously
        while items:
            item = items.popleft()
            if item[0]:
                outbox._data -= 1
            self.pending.append(item)

    def add(self, tickers: Iterable[str]) -> list[str]:
        """Follow more markets (the hub's ``add_markets`` without entering its index)."""
        current = self._sub.tickers
        if current is None:
            return []
        added = [t for t in dict.fromkeys(tickers) if t not in current]
        current.update(added)
        return added
