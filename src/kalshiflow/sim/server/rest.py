"""Kalshi Trade API v2 REST endpoints of the simulator, under ``/trade-api/v2``.

Every endpoint is a small synchronous handler (one atomic engine call) wrapped once by
``_endpoint``, which applies the cross-cutting policy in the order a real exchange would:
injected latency -> authentication -> rate limit (and injected 429 bursts) -> injected 5xx ->
body parsing -> handler -> injected lost response. ``ExchangeError`` becomes its status and
Kalshi's envelope; any other exception is logged and answered 500, so malformed input can never
take the server down.

Choices where Kalshi is silent (all deliberate, see also the module constants):

* Unsigned public requests are rate-limited per client IP (``ip:<host>`` buckets at the default
  tier), so a client that forgets to sign still meets 429s; signed requests bill their account.
* Cursors are opaque base64 offsets into a stable ordering (newest first for orders, fills,
  trades and settlements); an unparseable cursor is a 400.
* ``read_lag_ms`` hides orders created and fills made within the lag window, and shows positions
  touched within it as they were at the window's start (replayed from the account's fills).
* A lost response is produced by starting the response with a header value the HTTP server
  refuses, so the server closes the connection before writing a byte: the mutation happened, the
  client sees a transport error.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from kalshiflow.domain.ratelimits import classify
from kalshiflow.sim import order_groups, wire
from kalshiflow.sim import wire_market as wm
from kalshiflow.sim import wire_portfolio as wp
from kalshiflow.sim.auth import AuthError, verify_request
from kalshiflow.sim.errors import ExchangeError, not_found
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.positions import apply_fill
from kalshiflow.sim.ratelimit import TOO_MANY_REQUESTS_STATUS, too_many_requests_body
from kalshiflow.sim.state import STATUS_FILTERS, Account, Position
from kalshiflow.sim.wire import JsonObject

log = logging.getLogger(__name__)

PREFIX: Final = "/trade-api/v2"
MAX_BODY_BYTES: Final = 1 << 20
BATCH_MAX_ITEMS: Final = 20
V1_GONE_BODY: Final = wire.error_body(
    "deprecated_v1_order_endpoint",
    "Please switch to the V2 endpoints",
    "https://docs.kalshi.com/api-reference/orders/create-order-v2",
)
_SIGNATURE_HEADERS: Final = ("kalshi-access-key", "kalshi-access-timestamp", "kalshi-access-signature")

Access = Literal["public", "private"]
Reply = tuple[int, JsonObject | None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler sees: the exchange, the request, the caller's account and the parsed body."""

    sim: SimExchange
    request: Request
    account_id: str | None
    body: object
    now_ms: int

    @property
    def account(self) -> Account:
        assert self.account_id is not None, "private endpoints always authenticate"
        return self.sim.engine.account(self.account_id)

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    @property
    def lag_cutoff_ms(self) -> int:
        return self.now_ms - self.sim.faults.read_lag_ms


Handler = Callable[[Call], Reply]


class LostResponseFault(Exception):
    """Raised on purpose so the HTTP server drops the connection without answering."""


class _LostResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # uvicorn (httptools and h11) validates header values before writing anything.
        with contextlib.suppress(Exception):
            await send({"type": "http.response.start", "status": 200, "headers": [(b"x-sim-lost", b"\n")]})
        raise LostResponseFault("fault injection: response intentionally lost after the request took effect")


# ------------------------------------------------------------------------------ cross-cutting
def _json(status: int, body: JsonObject | None, headers: dict[str, str] | None = None) -> Response:
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def _authenticate(sim: SimExchange, request: Request, access: Access) -> str | None:
    signed = any(h in request.headers for h in _SIGNATURE_HEADERS)
    if access == "public" and not signed:
        return None
    return verify_request(
        sim.keys, request.headers, request.method, request.url.path, sim.clock.now_ms(), sim.max_skew_ms
    )


async def _read_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise wire.bad(f"request body is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def batch_limit(sim: SimExchange, account_id: str, method: str, path: str) -> int:
    """Most items one batch may hold: 20, and never more than the write bucket can pay at once."""
    assert sim.limiters is not None
    per_item = classify(method, path).tokens
    return max(1, min(BATCH_MAX_ITEMS, sim.limiters.for_account(account_id).write.capacity // per_item))


def _within_rate_limit(sim: SimExchange, request: Request, account_id: str | None, body: object) -> bool:
    assert sim.limiters is not None
    method, path = request.method, request.url.path
    if account_id is None:
        host = request.client.host if request.client is not None else "unknown"
        return sim.limiters.check(f"ip:{host}", method, path)
    items = 0
    shard: int | None = None
    if isinstance(body, dict):
        orders = body.get("orders")
        if isinstance(orders, list) and len(orders) <= batch_limit(sim, account_id, method, path):
            items = len(orders)  # an oversize batch is billed as one item and rejected with 400
        index = body.get("exchange_index")
        shard = index if isinstance(index, int) and not isinstance(index, bool) else None
    return sim.limiters.check(account_id, method, path, items, exchange_index=shard)


def _endpoint(sim: SimExchange, handler: Handler, access: Access) -> Callable[[Request], object]:
    async def endpoint(request: Request) -> Response:
        faults = sim.faults
        delay = faults.latency_s()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            account_id = _authenticate(sim, request, access)
        except AuthError as err:
            return _json(401, wire.error_body(err.code, err.message))
        try:
            body = wire.parse_json(await _read_body(request))
        except ExchangeError as err:
            body = err
        if faults.take_rate_limit_burst() or not _within_rate_limit(sim, request, account_id, body):
            return JSONResponse(too_many_requests_body(), status_code=TOO_MANY_REQUESTS_STATUS)
        if faults.should_fail_5xx():
            return _json(500, wire.error_body("internal_server_error", "internal server error"))
        try:
            if isinstance(body, ExchangeError):
                raise body
            status, reply = handler(Call(sim, request, account_id, body, sim.clock.now_ms()))
        except ExchangeError as err:
            status, reply = err.status, wire.error_body(err.code, err.message, err.details)
        except Exception:
            log.exception("sim.rest.unhandled_error method=%s path=%s", request.method, request.url.path)
            status, reply = 500, wire.error_body("internal_server_error", "internal server error")
        if faults.should_lose_response():
            return _LostResponse()
        return _json(status, reply)

    return endpoint


def _route(
    sim: SimExchange, path: str, handler: Handler, method: str = "GET", access: Access = "private"
) -> Route:
    return Route(PREFIX + path, _endpoint(sim, handler, access), methods=[method])


# ------------------------------------------------------------------------------ pagination
def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (binascii.Error, ValueError):
        raise wire.bad("invalid cursor") from None
    kind, _, number = text.partition(":")
    if kind != "offset" or not number.isascii() or not number.isdigit() or len(number) > 12:
        raise wire.bad("invalid cursor")
    return int(number)


def _page(items: Sequence[T], query: dict[str, str], default: int, maximum: int) -> tuple[Sequence[T], str]:
    limit = wire.query_int(query, "limit", default, 1, maximum)
    start = _decode_cursor(query.get("cursor"))
    end = start + limit
    return items[start:end], _encode_cursor(end) if end < len(items) else ""


def _csv(query: dict[str, str], name: str) -> set[str] | None:
    raw = query.get(name)
    if not raw:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _in_ts_range(ts_ms: int, query: dict[str, str], low: str = "min_ts", high: str = "max_ts") -> bool:
    min_s, max_s = wire.query_opt_int(query, low), wire.query_opt_int(query, high)
    return (min_s is None or ts_ms >= min_s * 1000) and (max_s is None or ts_ms // 1000 <= max_s)


# ------------------------------------------------------------------------------ exchange + markets
def _exchange_status(call: Call) -> Reply:
    engine = call.sim.engine
    return 200, wm.exchange_status(engine.exchange_active, engine.trading_active)


def _exchange_schedule(call: Call) -> Reply:
    return 200, wm.exchange_schedule()


def _market_json(call: Call, ticker: str) -> JsonObject:
    engine = call.sim.engine
    return wm.market(engine.market(ticker), engine.books[ticker], call.now_ms)


def _markets(call: Call) -> Reply:
    engine, query = call.sim.engine, call.query
    status = query.get("status")
    if status and status not in STATUS_FILTERS:
        raise wire.bad(f"status must be one of: {', '.join(STATUS_FILTERS)}")
    events, tickers = _csv(query, "event_ticker"), _csv(query, "tickers")
    series = query.get("series_ticker")
    selected = [
        m
        for m in engine.markets.values()
        if (not status or m.status in STATUS_FILTERS[status])
        and (events is None or m.event_ticker in events)
        and (tickers is None or m.ticker in tickers)
        and (not series or engine.events[m.event_ticker].series_ticker == series)
        and _in_ts_range(m.close_ms, query, "min_close_ts", "max_close_ts")
    ]
    page, cursor = _page(selected, query, 100, 1000)
    return 200, {"markets": [_market_json(call, m.ticker) for m in page], "cursor": cursor}


def _market(call: Call) -> Reply:
    return 200, {"market": _market_json(call, call.param("ticker"))}


def _depth(call: Call) -> int:
    return wire.query_int(call.query, "depth", 0, -(10**6), 100)


def _orderbook(call: Call) -> Reply:
    engine, ticker = call.sim.engine, call.param("ticker")
    engine.market(ticker)
    return 200, {"orderbook_fp": wm.orderbook(engine.books[ticker], _depth(call))}


def _orderbooks(call: Call) -> Reply:
    engine = call.sim.engine
    tickers = [t.strip() for raw in call.request.query_params.getlist("tickers") for t in raw.split(",")]
    tickers = [t for t in tickers if t]
    if not 1 <= len(tickers) <= 100:
        raise wire.bad("tickers must name between 1 and 100 markets")
    depth = _depth(call)
    books = []
    for ticker in tickers:
        engine.market(ticker)
        books.append({"ticker": ticker, "orderbook_fp": wm.orderbook(engine.books[ticker], depth)})
    return 200, {"orderbooks": books}


def _trades(call: Call) -> Reply:
    query, ticker = call.query, call.query.get("ticker")
    selected = [
        t
        for t in reversed(call.sim.engine.trades)
        if (not ticker or t.ticker == ticker) and _in_ts_range(t.ts_ms, query)
    ]
    page, cursor = _page(selected, query, 100, 1000)
    return 200, {"trades": [wm.trade(t) for t in page], "cursor": cursor}


def _event_json(call: Call, event_ticker: str, nested: bool) -> tuple[JsonObject, list[JsonObject]]:
    engine = call.sim.engine
    event = engine.events.get(event_ticker)
    if event is None:
        raise not_found("event", event_ticker)
    markets = [
        _market_json(call, m.ticker) for m in engine.markets.values() if m.event_ticker == event_ticker
    ]
    series = engine.series.get(event.series_ticker)
    return wm.event(event, series, markets if nested else None), markets


def _events(call: Call) -> Reply:
    engine, query = call.sim.engine, call.query
    status, series = query.get("status"), query.get("series_ticker")
    if status and status not in STATUS_FILTERS:
        raise wire.bad(f"status must be one of: {', '.join(STATUS_FILTERS)}")
    nested, tickers = wire.query_bool(query, "with_nested_markets"), _csv(query, "tickers")
    statuses: dict[str, set[str]] = {}
    for m in engine.markets.values():
        statuses.setdefault(m.event_ticker, set()).add(m.status.value)
    selected = [
        e
        for e in engine.events.values()
        if (not series or e.series_ticker == series)
        and (tickers is None or e.event_ticker in tickers)
        and (not status or any(s in STATUS_FILTERS[status] for s in statuses.get(e.event_ticker, ())))
    ]
    page, cursor = _page(selected, query, 200, 200)
    return 200, {"events": [_event_json(call, e.event_ticker, nested)[0] for e in page], "cursor": cursor}


def _event(call: Call) -> Reply:
    event, markets = _event_json(
        call, call.param("event_ticker"), wire.query_bool(call.query, "with_nested_markets")
    )
    return 200, {"event": event, "markets": markets}


def _series(call: Call) -> Reply:
    engine, ticker = call.sim.engine, call.param("series_ticker")
    series = engine.series.get(ticker)
    if series is None:
        raise not_found("series", ticker)
    members = [m for m in engine.markets.values() if engine.events[m.event_ticker].series_ticker == ticker]
    updated = max((m.updated_ms for m in members), default=0) or call.now_ms
    return 200, {"series": wm.series(series, wm.total_volume(members), updated)}


# ------------------------------------------------------------------------------ portfolio reads
def _balance(call: Call) -> Reply:
    engine, account = call.sim.engine, call.account
    value = 0
    for ticker, pos in account.positions.items():
        book = engine.books.get(ticker)
        if book is None or pos.position == 0:
            continue
        bid = book.yes.best() if pos.position > 0 else book.no.best()
        value += (bid or 0) * abs(pos.position)
    return 200, wp.balance(account, value, call.now_ms)


def _visible_position(call: Call, account: Account, ticker: str, pos: Position) -> Position:
    cutoff = call.lag_cutoff_ms
    if call.sim.faults.read_lag_ms == 0 or pos.last_updated_ms <= cutoff:
        return pos
    past = Position()
    for f in account.fills:
        if f.ticker == ticker and f.ts_ms <= cutoff:
            apply_fill(past, f.side, f.yes_price, f.count, f.fee, f.ts_ms)
    return past


def _positions(call: Call) -> Reply:
    engine, query, account = call.sim.engine, call.query, call.account
    filters = _csv(query, "count_filter") or set()
    if not filters <= {"position", "total_traded"}:
        raise wire.bad("count_filter accepts position and total_traded")
    ticker, event_ticker = query.get("ticker"), query.get("event_ticker")
    rows: list[tuple[str, Position]] = []
    for t, pos in account.positions.items():
        market = engine.markets.get(t)
        if (
            market is None
            or (ticker and t != ticker)
            or (event_ticker and market.event_ticker != event_ticker)
        ):
            continue
        shown = _visible_position(call, account, t, pos)
        keep = {"position": shown.position != 0, "total_traded": shown.total_traded != 0}
        if any(keep[f] for f in filters) if filters else any(keep.values()):
            rows.append((t, shown))
    page, cursor = _page(rows, query, 100, 1000)
    by_event: dict[str, list[Position]] = {}
    for t, pos in rows:
        by_event.setdefault(engine.markets[t].event_ticker, []).append(pos)
    return 200, {
        "market_positions": [wp.market_position(t, pos) for t, pos in page],
        "event_positions": [wp.event_position(e, ps) for e, ps in by_event.items()],
        "cursor": cursor,
    }


def _orders(call: Call) -> Reply:
    engine, query, account = call.sim.engine, call.query, call.account
    status = query.get("status")
    if status and status not in ("resting", "canceled", "executed"):
        raise wire.bad("status must be one of: resting, canceled, executed")
    tickers, events = _csv(query, "ticker"), _csv(query, "event_ticker")
    cutoff = call.lag_cutoff_ms
    selected = [
        o
        for o in (engine.orders[oid] for oid in reversed(account.order_ids))
        if o.created_ms <= cutoff
        and (not status or o.status.value == status)
        and (tickers is None or o.ticker in tickers)
        and (events is None or engine.markets[o.ticker].event_ticker in events)
        and _in_ts_range(o.created_ms, query)
    ]
    page, cursor = _page(selected, query, 100, 1000)
    return 200, {"orders": [wp.order(o, account.user_id) for o in page], "cursor": cursor}


def _order(call: Call) -> Reply:
    order_id = call.param("order_id")
    order = call.sim.engine.own_order(call.account.account_id, order_id)
    if order.created_ms > call.lag_cutoff_ms:
        raise not_found("order", order_id)
    return 200, {"order": wp.order(order, call.account.user_id)}


def _fills(call: Call) -> Reply:
    query, account = call.query, call.account
    ticker, order_id, cutoff = query.get("ticker"), query.get("order_id"), call.lag_cutoff_ms
    selected = [
        f
        for f in reversed(account.fills)
        if f.ts_ms <= cutoff
        and (not ticker or f.ticker == ticker)
        and (not order_id or f.order_id == order_id)
        and _in_ts_range(f.ts_ms, query)
    ]
    page, cursor = _page(selected, query, 100, 1000)
    return 200, {"fills": [wp.fill(f) for f in page], "cursor": cursor}


def _settlements(call: Call) -> Reply:
    query, ticker = call.query, call.query.get("ticker")
    event_ticker = query.get("event_ticker")
    selected = [
        s
        for s in reversed(call.account.settlements)
        if (not ticker or s.ticker == ticker)
        and (not event_ticker or s.event_ticker == event_ticker)
        and _in_ts_range(s.settled_ms, query)
    ]
    page, cursor = _page(selected, query, 100, 1000)
    return 200, {"settlements": [wp.settlement(s) for s in page], "cursor": cursor}


# ------------------------------------------------------------------------------ V2 order mutations
def _create(call: Call) -> Reply:
    result = call.sim.engine.create_order(call.account.account_id, wire.parse_create(call.body))
    return 201, wp.create_response(result.order, result.fills, result.ts_ms)


def _cancel(call: Call) -> Reply:
    engine, account_id = call.sim.engine, call.account.account_id
    order = engine.own_order(account_id, call.param("order_id"))
    reduced_by = engine.cancel_order(account_id, order.order_id)
    return 200, wp.cancel_response(order, reduced_by, engine.clock.now_ms())


def _amend(call: Call) -> Reply:
    engine, account_id = call.sim.engine, call.account.account_id
    req = wire.parse_amend(call.body)
    order = engine.own_order(account_id, call.param("order_id"))
    if req.client_order_id is not None and req.client_order_id != order.client_order_id:
        raise wire.bad("client_order_id does not match the order", "order_id_and_client_order_id_mismatch")
    result = engine.amend_order(
        account_id,
        order.order_id,
        req.ticker,
        req.side,
        req.yes_price,
        req.total_count,
        req.updated_client_order_id,
    )
    return 200, wp.amend_response(result.order, result.fills, result.ts_ms)


def _decrease(call: Call) -> Reply:
    engine, account_id = call.sim.engine, call.account.account_id
    reduce_by, reduce_to = wire.parse_decrease(call.body)
    order = engine.decrease_order(account_id, call.param("order_id"), reduce_by, reduce_to)
    return 200, wp.decrease_response(order, engine.clock.now_ms())


def _batch_items(call: Call) -> list[object]:
    request = call.request
    limit = batch_limit(call.sim, call.account.account_id, request.method, request.url.path)
    return wire.parse_batch(call.body, limit)


def _item_error(err: ExchangeError) -> JsonObject:
    return {"code": err.code, "message": err.message, "details": err.details}


def _batch_create(call: Call) -> Reply:
    engine, account_id = call.sim.engine, call.account.account_id
    replies: list[JsonObject] = []
    for item in _batch_items(call):
        try:
            result = engine.create_order(account_id, wire.parse_create(item))
        except ExchangeError as err:
            cid = item.get("client_order_id") if isinstance(item, dict) else None
            replies.append(
                {"client_order_id": cid if isinstance(cid, str) else None, "error": _item_error(err)}
            )
            continue
        replies.append(wp.create_response(result.order, result.fills, result.ts_ms))
    return 201, {"orders": replies}


def _batch_cancel(call: Call) -> Reply:
    engine, account_id = call.sim.engine, call.account.account_id
    replies: list[JsonObject] = []
    for item in _batch_items(call):
        order_id = ""
        try:
            order_id = wire.parse_cancel_item(item)
            order = engine.own_order(account_id, order_id)
            reduced_by = engine.cancel_order(account_id, order_id)
        except ExchangeError as err:
            replies.append(
                {
                    "order_id": order_id,
                    "client_order_id": None,
                    "reduced_by": "0.00",
                    "error": _item_error(err),
                }
            )
            continue
        replies.append(wp.cancel_response(order, reduced_by, engine.clock.now_ms()))
    return 200, {"orders": replies}


def _cancel_all(call: Call) -> Reply:
    subaccount = wire.query_opt_int(call.query, "subaccount")
    call.sim.engine.cancel_all(call.account.account_id, subaccount)
    return 204, None


def _v1_gone(call: Call) -> Reply:
    if call.sim.v1_mutations_gone:
        return 410, V1_GONE_BODY
    return 501, wire.error_body("not_implemented", "the simulator implements only the V2 order endpoints")


# ------------------------------------------------------------------------------ order groups
def _group_create(call: Call) -> Reply:
    limit, subaccount = wire.parse_group_limit(call.body, allow_subaccount=True)
    group = order_groups.create_group(call.sim.engine, call.account.account_id, limit, subaccount)
    return 201, {"order_group_id": group.group_id, "subaccount": group.subaccount, "exchange_index": 0}


def _groups(call: Call) -> Reply:
    groups = order_groups.list_groups(call.sim.engine, call.account.account_id)
    return 200, {"order_groups": [wp.order_group(g) for g in groups]}


def _group(call: Call) -> Reply:
    group = order_groups.own_group(call.sim.engine, call.account.account_id, call.param("group_id"))
    return 200, wp.order_group_detail(group, sorted(group.order_ids))


def _group_action(action: Callable[[Call], None]) -> Handler:
    def handler(call: Call) -> Reply:
        action(call)
        return 200, {}

    return handler


def _group_limit(call: Call) -> None:
    limit, _ = wire.parse_group_limit(call.body, allow_subaccount=False)
    order_groups.update_limit(call.sim.engine, call.account.account_id, call.param("group_id"), limit)


# ------------------------------------------------------------------------------ fallbacks
def _fallback(routes: Iterable[BaseRoute]) -> Route:
    """Unknown path -> 404, known path with another method -> 405, both in Kalshi's envelope."""
    known = list(routes)

    async def fallback(request: Request) -> Response:
        allowed: set[str] = set()
        for route in known:
            match, _ = route.matches(request.scope)
            if match is Match.PARTIAL and isinstance(route, Route) and route.methods:
                allowed |= route.methods
        if allowed:
            body = wire.error_body("method_not_allowed", f"{request.method} is not allowed on this endpoint")
            return _json(405, body, {"Allow": ", ".join(sorted(allowed))})
        return _json(404, wire.error_body("not_found", f"no endpoint at {request.url.path}"))

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    return Route(PREFIX + "/{path:path}", fallback, methods=methods, include_in_schema=False)


def rest_routes(sim: SimExchange) -> list[BaseRoute]:
    def r(path: str, handler: Handler, method: str = "GET", access: Access = "private") -> Route:
        return _route(sim, path, handler, method, access)

    def group(action: Callable[..., None]) -> Handler:
        return _group_action(lambda c: action(c.sim.engine, c.account.account_id, c.param("group_id")))

    routes: list[BaseRoute] = [
        r("/exchange/status", _exchange_status, access="public"),
        r("/exchange/schedule", _exchange_schedule, access="public"),
        r("/markets", _markets, access="public"),
        r("/markets/trades", _trades, access="public"),
        r("/markets/orderbooks", _orderbooks, access="public"),
        r("/markets/{ticker}", _market, access="public"),
        r("/markets/{ticker}/orderbook", _orderbook, access="public"),
        r("/events", _events, access="public"),
        r("/events/{event_ticker}", _event, access="public"),
        r("/series/{series_ticker}", _series, access="public"),
        r("/portfolio/balance", _balance),
        r("/portfolio/positions", _positions),
        r("/portfolio/fills", _fills),
        r("/portfolio/settlements", _settlements),
        r("/portfolio/orders", _orders),
        r("/portfolio/orders", _v1_gone, "POST"),
        r("/portfolio/orders/batched", _v1_gone, "POST"),
        r("/portfolio/orders/batched", _v1_gone, "DELETE"),
        r("/portfolio/orders/{order_id}", _order),
        r("/portfolio/orders/{order_id}", _v1_gone, "DELETE"),
        r("/portfolio/orders/{order_id}/amend", _v1_gone, "POST"),
        r("/portfolio/orders/{order_id}/decrease", _v1_gone, "POST"),
        r("/portfolio/events/orders", _create, "POST"),
        r("/portfolio/events/orders", _cancel_all, "DELETE"),
        r("/portfolio/events/orders/batched", _batch_create, "POST"),
        r("/portfolio/events/orders/batched", _batch_cancel, "DELETE"),
        r("/portfolio/events/orders/{order_id}", _cancel, "DELETE"),
        r("/portfolio/events/orders/{order_id}/amend", _amend, "POST"),
        r("/portfolio/events/orders/{order_id}/decrease", _decrease, "POST"),
        r("/portfolio/order_groups", _groups),
        r("/portfolio/order_groups/create", _group_create, "POST"),
        r("/portfolio/order_groups/{group_id}", _group),
        r("/portfolio/order_groups/{group_id}", group(order_groups.delete_group), "DELETE"),
        r("/portfolio/order_groups/{group_id}/reset", group(order_groups.reset_group), "PUT"),
        r("/portfolio/order_groups/{group_id}/trigger", group(order_groups.trigger_group), "PUT"),
        r("/portfolio/order_groups/{group_id}/limit", _group_action(_group_limit), "PUT"),
    ]
    return [*routes, _fallback(routes)]
