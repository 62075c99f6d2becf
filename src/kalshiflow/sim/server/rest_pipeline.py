"""The cross-cutting request pipeline every simulator REST endpoint runs through.

It exists so each endpoint can be a small synchronous handler (one atomic engine call) while the
policy a real exchange applies to all requests lives in one place. ``route`` wraps a handler once
and applies, in the order a real exchange would: injected latency -> authentication -> rate limit
(and injected 429 bursts) -> injected 5xx -> body parsing -> handler -> injected lost response.
``ExchangeError`` becomes its status and Kalshi's envelope; any other exception is logged and
answered 500, so malformed input can never take the server down. ``fallback_route`` answers unknown
paths (404) and wrong methods (405) in the same envelope.

Choices where Kalshi is silent (deliberate):

* Unsigned public requests are rate-limited per client IP (``ip:<host>`` buckets at the default
  tier), so a client that forgets to sign still meets 429s; signed requests bill their account.
* A lost response is produced by starting the response with a header value the HTTP server
  refuses, so the server closes the connection before writing a byte: the mutation happened, the
  client sees a transport error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from kalshiflow.domain.ratelimits import classify
from kalshiflow.sim import api_keys, subaccounts, wire
from kalshiflow.sim.auth import AuthError, verify_request
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.ratelimit import TOO_MANY_REQUESTS_STATUS, too_many_requests_body
from kalshiflow.sim.state import Account
from kalshiflow.sim.wire import JsonObject

# Named after the original single ``rest`` module so log configuration keeps matching.
log = logging.getLogger("kalshiflow.sim.server.rest")

PREFIX: Final = "/trade-api/v2"
MAX_BODY_BYTES: Final = 1 << 20
BATCH_MAX_ITEMS: Final = 20
_SIGNATURE_HEADERS: Final = ("kalshi-access-key", "kalshi-access-timestamp", "kalshi-access-signature")
_INTERNAL_ERROR_BODY: Final = wire.error_body("internal_server_error", "internal server error")

Access = Literal["public", "private"]
Reply = tuple[int, JsonObject | None]


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
        """The caller's primary account (sub-account 0)."""
        assert self.account_id is not None, "private endpoints always authenticate"
        return self.sim.engine.account(self.account_id)

    def accounts_for(self, *, omitted_means_all: bool) -> list[Account]:
        """The engine accounts the ``subaccount`` query selects: the one named, or when it is
        omitted all of the user's (``omitted_means_all``) or the primary one."""
        engine, primary = self.sim.engine, self.account.account_id
        number = wire.query_opt_int(self.query, "subaccount")
        if number is None and omitted_means_all:
            return [subaccounts.account(engine, primary, n) for n in subaccounts.numbers(engine, primary)]
        return [subaccounts.account(engine, primary, number or 0)]

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    @property
    def historical_cutoff_ms(self) -> int:
        """Settled markets, fills, trades and finished orders older than this are historical."""
        retention = self.sim.historical_retention_ms
        return 0 if retention is None else max(0, self.now_ms - retention)

    @property
    def lag_cutoff_ms(self) -> int:
        return self.now_ms - self.sim.faults.read_lag_ms


Handler = Callable[[Call], Reply]


@dataclass(frozen=True, slots=True)
class Spec:
    """One endpoint: its path under ``PREFIX``, its handler, its method and who may call it."""

    path: str
    handler: Handler
    method: str = "GET"
    access: Access = "private"


class LostResponseFault(Exception):
    """Raised on purpose so the HTTP server drops the connection without answering."""


class _LostResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # uvicorn (httptools and h11) validates header values before writing anything.
        with contextlib.suppress(Exception):
            await send({"type": "http.response.start", "status": 200, "headers": [(b"x-sim-lost", b"\n")]})
        raise LostResponseFault("fault injection: response intentionally lost after the request took effect")


def _json(status: int, body: JsonObject | None, headers: dict[str, str] | None = None) -> Response:
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def _authenticate(sim: SimExchange, request: Request, access: Access) -> str | None:
    signed = any(h in request.headers for h in _SIGNATURE_HEADERS)
    if access == "public" and not signed:
        return None
    return verify_request(
        sim.keys, request.headers, request.method, request.url.path, sim.auth_now_ms(), sim.max_skew_ms
    )


def _key_allows(sim: SimExchange, request: Request) -> bool:
    """The signing key's scopes (keys made through ``/api_keys`` may be narrower than full access)."""
    scopes = sim.api_keys.info(request.headers.get("kalshi-access-key", "")).scopes
    return api_keys.allows(scopes, request.method, request.url.path.removeprefix(PREFIX))


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


def request_path(request: Request) -> str:
    """``request.url.path``, read from the scope when that is the same text (every API path).

    Why: Starlette builds and re-parses the whole URL for ``request.url`` (~5 us), and the rate
    limit asks it of every call -- the training environment's in-process calls too. A path that
    ``URL`` escapes (``?``, ``#``, a backslash) or rewrites (a leading ``//`` without a host) is
    still read from the URL.
    """
    path: str = request.scope["path"]
    if path.startswith("//") or "?" in path or "#" in path or "\\" in path:
        return request.url.path
    return path


def _within_rate_limit(sim: SimExchange, request: Request, account_id: str | None, body: object) -> bool:
    assert sim.limiters is not None
    method, path = request.method, request_path(request)
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
        if account_id is not None and not _key_allows(sim, request):
            return _json(403, wire.error_body("forbidden", "the API key's scopes do not allow this request"))
        try:
            body = wire.parse_json(await _read_body(request))
        except ExchangeError as err:
            body = err
        answer = serve(sim, handler, request, account_id, body)
        if answer is None:
            return _LostResponse()
        return _json(*answer)

    return endpoint


def serve(
    sim: SimExchange, handler: Handler, request: Request, account_id: str | None, body: object
) -> Reply | None:
    """The pipeline after authentication and body parsing: rate limit (and injected 429 bursts),
    injected 5xx, the handler, the error envelope, injected lost response (None).

    Shared by the HTTP endpoint and by a client in the same process that already owns the caller's
    account (the training environment), so both meet the same exchange policy in the same order.
    """
    faults = sim.faults
    if faults.take_rate_limit_burst() or not _within_rate_limit(sim, request, account_id, body):
        return TOO_MANY_REQUESTS_STATUS, dict(too_many_requests_body())
    if faults.should_fail_5xx():
        return 500, _INTERNAL_ERROR_BODY
    try:
        if isinstance(body, ExchangeError):
            raise body
        status, reply = handler(Call(sim, request, account_id, body, sim.clock.now_ms()))
    except ExchangeError as err:
        status, reply = err.status, wire.error_body(err.code, err.message, err.details)
    except Exception:
        log.exception("sim.rest.unhandled_error method=%s path=%s", request.method, request.url.path)
        status, reply = 500, _INTERNAL_ERROR_BODY
    if faults.should_lose_response():
        return None
    return status, reply


def route(sim: SimExchange, spec: Spec) -> Route:
    """The Starlette route serving ``spec`` through the full pipeline."""
    return Route(PREFIX + spec.path, _endpoint(sim, spec.handler, spec.access), methods=[spec.method])


def fallback_route(routes: Iterable[BaseRoute]) -> Route:
    """Unknown path -> 404, known path with another method -> 405, both in Kalshi's envelope."""
    known = list(routes)

    async def fallback(request: Request) -> Response:
        allowed: set[str] = set()
        for known_route in known:
            match, _ = known_route.matches(request.scope)
            if match is Match.PARTIAL and isinstance(known_route, Route) and known_route.methods:
                allowed |= known_route.methods
        if allowed:
            body = wire.error_body("method_not_allowed", f"{request.method} is not allowed on this endpoint")
            return _json(405, body, {"Allow": ", ".join(sorted(allowed))})
        return _json(404, wire.error_body("not_found", f"no endpoint at {request.url.path}"))

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    return Route(PREFIX + "/{path:path}", fallback, methods=methods, include_in_schema=False)
