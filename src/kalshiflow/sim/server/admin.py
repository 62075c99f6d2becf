"""The simulator's own control API under ``/sim/admin``: faults, accounts, market lifecycle.

Not part of Kalshi's API, so it has no Kalshi auth (the simulator binds 127.0.0.1) and no rate
limits or injected faults. Because a page open in the user's browser could otherwise post to it
cross-site, requests with a foreign ``Origin`` (403) and bodies that are not ``application/json``
(415) are refused before any handler runs; and, served on loopback, requests naming a host that is
not loopback (421): a page whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own
name as ``Host`` and ``Origin``, which passes the Origin check. It changes state only through the engine's own operations where they
exist (lifecycle functions emit the same events a scheduled transition would), and keeps money
bookkeeping explicit: a balance edit moves the difference through ``engine.deposits`` so that
"balances + reserved + escrow = deposits - fees" stays checkable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Final

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.hosts import is_loopback, loopback_host_ok
from kalshiflow.domain.settlement import MarketResult
from kalshiflow.domain.units import Money
from kalshiflow.sim import fee_schedule, lifecycle, wire
from kalshiflow.sim.errors import ExchangeError, not_found
from kalshiflow.sim.events import BalanceEvent, PositionEvent
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.wire import JsonObject

log = logging.getLogger(__name__)

PREFIX: Final = "/sim/admin"
_DECIMAL_TEXT: Final = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,6})?", re.ASCII)
AdminHandler = Callable[[SimExchange, Request, Mapping[str, object]], tuple[int, JsonObject]]


def _same_origin(request: Request) -> bool:
    """No ``Origin`` (a script, curl, the trader's tests) or the simulator's own origin.

    Browsers send ``Origin`` on every cross-site POST/PUT/DELETE, including the "simple" ones that
    skip the CORS preflight; refusing foreign origins is what stops a web page from editing
    balances or injecting faults through the user's browser.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json"


def _served_on_loopback(request: Request) -> bool:
    """The connection arrived on a loopback address (the socket's own address, not the client's)."""
    server = request.scope.get("server")
    return server is not None and is_loopback(str(server[0]))


def _refusal(request: Request, raw_body: bytes) -> tuple[int, JsonObject] | None:
    """Why a request may not reach the admin API (421 another host named on loopback, 403 foreign
    origin, 415 non-JSON body), if it may not."""
    if _served_on_loopback(request) and not loopback_host_ok(request.headers):
        log.warning("sim.admin.refused_host path=%s", request.url.path)
        return 421, wire.error_body(
            "misdirected_request", "the admin API answers to localhost / 127.0.0.1 only"
        )
    if not _same_origin(request):
        log.warning("sim.admin.refused_origin path=%s", request.url.path)
        return 403, wire.error_body("forbidden", "cross-origin requests to the admin API are refused")
    if raw_body and not _is_json(request):
        # text/plain and form bodies are what a cross-site form or no-cors fetch can send.
        return 415, wire.error_body("unsupported_media_type", "admin request bodies must be application/json")
    return None


def _admin(sim: SimExchange, handler: AdminHandler, fields: frozenset[str]) -> Callable[[Request], object]:
    async def endpoint(request: Request) -> Response:
        raw_body = await request.body()
        refused = _refusal(request, raw_body)
        if refused is not None:
            return JSONResponse(refused[1], status_code=refused[0])
        try:
            body = wire.parse_object(wire.parse_json(raw_body), fields)
            status, reply = handler(sim, request, body)
        except ExchangeError as err:
            status, reply = err.status, wire.error_body(err.code, err.message, err.details)
        except (ValidationError, ValueError) as err:
            status, reply = 400, wire.error_body("invalid_parameters", _first_line(err))
        except Exception:
            log.exception("sim.admin.unhandled_error path=%s", request.url.path)
            status, reply = 500, wire.error_body("internal_server_error", "internal server error")
        return JSONResponse(reply, status_code=status)

    return endpoint


def _first_line(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return f"{where}: {first.get('msg', 'invalid value')}"
    return str(err).splitlines()[0] if str(err) else "invalid value"


def _money_field(body: Mapping[str, object], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, str):
        raise wire.bad(f'field {name!r} must be a dollar string such as "123.4500"')
    try:
        return int(Money.parse(value))
    except ValueError:
        raise wire.bad(f"field {name!r} ({value!r}) is not an exact dollar amount") from None


# ------------------------------------------------------------------------------ faults
def _faults_view(sim: SimExchange) -> JsonObject:
    faults = sim.faults
    return {
        "config": faults.config.model_dump(),
        "pending": {
            "http_5xx": faults.pending_5xx,
            "lost_responses": faults.pending_lost_responses,
            "rate_limit_burst": faults.pending_rate_limit_burst,
        },
    }


def _get_faults(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    return 200, _faults_view(sim)


def _put_faults(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    sim.faults.update(body)
    return 200, _faults_view(sim)


def _reset_faults(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    sim.faults.reset()
    return 200, _faults_view(sim)


def _ws_disconnect(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    return 200, {"generation": sim.faults.trigger_ws_disconnect()}


def _schedule(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    counts = {name: wire.opt_int(body, name, 0, 1_000_000) for name in _SCHEDULE_FIELDS}
    sim.faults.schedule_5xx(counts["http_5xx"] or 0)
    sim.faults.schedule_lost_responses(counts["lost_responses"] or 0)
    if counts["rate_limit_burst"] is not None:
        sim.faults.update({"rate_limit_burst_requests": counts["rate_limit_burst"]})
    return 200, _faults_view(sim)


_SCHEDULE_FIELDS: Final = frozenset({"http_5xx", "lost_responses", "rate_limit_burst"})


# ------------------------------------------------------------------------------ accounts
def _set_balance(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    engine = sim.engine
    account = engine.account(request.path_params["account_id"])
    target = _money_field(body, "balance_dollars")
    if target < 0:
        raise wire.bad("balance_dollars must not be negative")
    engine.deposits += target - account.balance
    account.balance = target
    now = engine.clock.now_ms()
    account.updated_ms = now
    if engine.listeners:
        engine.emit(BalanceEvent(account.account_id, now))
    return 200, {"account_id": account.account_id, "balance_dollars": wire.money(account.balance)}


def _set_position(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    """Overwrite a position (an edit from outside the market: no counterparty, no cash moves)."""
    engine = sim.engine
    account = engine.account(request.path_params["account_id"])
    market = engine.market(request.path_params["ticker"])
    raw = body.get("position_fp")
    if not isinstance(raw, str) or not raw.strip():
        raise wire.bad("field 'position_fp' must be a signed count string such as \"-10.00\"")
    negative = raw.strip().startswith("-")
    units = wire.parse_count(raw.strip().removeprefix("-"), "position_fp", allow_zero=True)
    position = -units if negative else units
    cost = _money_field(body, "cost_dollars") if "cost_dollars" in body else 0
    pos = engine.position(account.account_id, market.ticker)
    market.open_interest += max(0, position) - max(0, pos.position)
    pos.position, pos.cost = position, cost
    pos.last_updated_ms = engine.clock.now_ms()
    if engine.listeners:
        engine.emit(PositionEvent(account.account_id, market.ticker, pos))
    return 200, {
        "ticker": market.ticker,
        "position_fp": wire.count(position),
        "cost_dollars": wire.money(cost),
    }


def _add_account(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    key_id = wire.req_str(body, "key_id")
    pem = body.get("public_key_pem")
    if not isinstance(pem, str):
        raise wire.bad("field 'public_key_pem' must be a PEM string")
    balance = _money_field(body, "balance_dollars") if "balance_dollars" in body else 0
    if balance < 0:
        raise wire.bad("balance_dollars must not be negative")
    account_id = wire.opt_str(body, "account_id") or key_id
    if account_id in sim.engine.accounts:
        raise ExchangeError(409, "account_exists", f"account {account_id!r} already exists")
    sim.keys.register(key_id, pem, account_id)  # validates the key before the account exists
    sim.register_account(key_id, pem, balance, account_id)
    return 201, {"account_id": account_id, "key_id": key_id, "balance_dollars": wire.money(balance)}


# ------------------------------------------------------------------------------ markets + exchange
def _determine(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    engine, ticker = sim.engine, request.path_params["ticker"]
    raw = wire.req_str(body, "result")
    try:
        result = MarketResult(raw)
    except ValueError:
        raise wire.bad("result must be one of: yes, no, void, scalar") from None
    value = None
    if body.get("settlement_value_dollars") is not None:
        value = wire.parse_price(body["settlement_value_dollars"], "settlement_value_dollars")
    lifecycle.determine(engine, ticker, result, value)
    if wire.opt_bool(body, "settle_now"):
        lifecycle.settle_market(engine, engine.market(ticker), engine.clock.now_ms())
    return 200, {"ticker": ticker, "status": engine.market(ticker).status.value}


def _close_time(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    engine, ticker = sim.engine, request.path_params["ticker"]
    close_s = wire.opt_int(body, "close_ts", 0, 10**11)
    if close_s is None:
        raise wire.bad("missing required field 'close_ts'")
    lifecycle.set_close_time(engine, ticker, close_s * 1000)
    lifecycle.advance(engine, engine.clock.now_ms())  # a past close time closes the market now
    market = engine.market(ticker)
    return 200, {"ticker": ticker, "close_time": wire.ts(market.close_ms), "status": market.status.value}


def _exchange(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    engine = sim.engine
    if "exchange_active" in body:
        engine.exchange_active = wire.opt_bool(body, "exchange_active")
    if "trading_active" in body:
        lifecycle.set_trading_active(engine, wire.opt_bool(body, "trading_active"))
    return 200, {"exchange_active": engine.exchange_active, "trading_active": engine.trading_active}


def _fee_change(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    """Schedule a series fee change or an event override change (null clears an override)."""
    raw_type, raw_mult = body.get("fee_type"), body.get("fee_multiplier")
    try:
        fee_type = None if raw_type is None else FeeType(str(raw_type))
    except ValueError:
        raise wire.bad(f"fee_type must be one of: {', '.join(t.value for t in FeeType)}") from None
    if raw_mult is not None and not (isinstance(raw_mult, str) and _DECIMAL_TEXT.fullmatch(raw_mult)):
        raise wire.bad('fee_multiplier must be a decimal string such as "0.5"')
    scheduled_s = wire.opt_int(body, "scheduled_ts", 0, 10**11)
    change = fee_schedule.schedule(
        sim.engine,
        series_ticker=wire.opt_str(body, "series_ticker"),
        event_ticker=wire.opt_str(body, "event_ticker"),
        fee_type=fee_type,
        fee_multiplier=None if raw_mult is None else Fraction(raw_mult),
        scheduled_ms=sim.engine.clock.now_ms() if scheduled_s is None else scheduled_s * 1000,
    )
    return 201, {"id": change.change_id, "scheduled_ts": wire.ts(change.scheduled_ms)}


def _historical(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    """Set (or with null clear) the retention after which data moves to ``/historical/*``."""
    retention_s = wire.opt_int(body, "retention_s", 0, 10**10)
    sim.historical_retention_ms = None if retention_s is None else retention_s * 1000
    return 200, {"retention_s": retention_s}


def _state(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
    engine = sim.engine
    accounts = [
        {
            "account_id": a.account_id,
            "balance_dollars": wire.money(a.balance),
            "reserved_dollars": wire.money(a.reserved(engine.orders)),
            "positions": sum(1 for p in a.positions.values() if p.position != 0),
            "orders": len(a.order_ids),
            "resting_orders": sum(1 for oid in a.order_ids if engine.orders[oid].is_resting),
            "fills": len(a.fills),
        }
        for a in engine.accounts.values()
    ]
    return 200, {
        "now_ms": engine.clock.now_ms(),
        "accounts": accounts,
        "markets": len(engine.markets),
        "orders": len(engine.orders),
        "resting_orders": sum(1 for o in engine.orders.values() if o.is_resting),
        "trades": len(engine.trades),
        "fees_collected_dollars": wire.money(engine.fees_collected),
        "deposits_dollars": wire.money(engine.deposits),
        "exchange_active": engine.exchange_active,
        "trading_active": engine.trading_active,
    }


def _unknown_market_guard(handler: AdminHandler) -> AdminHandler:
    def guarded(sim: SimExchange, request: Request, body: Mapping[str, object]) -> tuple[int, JsonObject]:
        ticker = request.path_params.get("ticker")
        if ticker is not None and ticker not in sim.engine.markets:
            raise not_found("market", ticker)
        return handler(sim, request, body)

    return guarded


_NONE: Final = frozenset[str]()
_FAULT_FIELDS: Final = frozenset(
    {
        "latency_ms",
        "latency_jitter_ms",
        "http_5xx_rate",
        "rate_limit_burst_requests",
        "lost_response_rate",
        "ws_drop_rate",
        "ws_duplicate_rate",
        "ws_seq_gap_rate",
        "ws_disconnect_after_messages",
        "read_lag_ms",
    }
)


def admin_routes(sim: SimExchange) -> list[BaseRoute]:
    def r(path: str, handler: AdminHandler, method: str, fields: frozenset[str] = _NONE) -> Route:
        return Route(PREFIX + path, _admin(sim, handler, fields), methods=[method])

    return [
        r("/faults", _get_faults, "GET"),
        r("/faults", _put_faults, "PUT", _FAULT_FIELDS),
        r("/faults/reset", _reset_faults, "POST"),
        r("/faults/ws_disconnect", _ws_disconnect, "POST"),
        r("/faults/schedule", _schedule, "POST", _SCHEDULE_FIELDS),
        r("/historical", _historical, "POST", frozenset({"retention_s"})),
        r(
            "/fee_changes",
            _fee_change,
            "POST",
            frozenset({"series_ticker", "event_ticker", "fee_type", "fee_multiplier", "scheduled_ts"}),
        ),
        r(
            "/accounts",
            _add_account,
            "POST",
            frozenset({"key_id", "public_key_pem", "balance_dollars", "account_id"}),
        ),
        r("/accounts/{account_id}/balance", _set_balance, "POST", frozenset({"balance_dollars"})),
        r(
            "/accounts/{account_id}/positions/{ticker}",
            _set_position,
            "POST",
            frozenset({"position_fp", "cost_dollars"}),
        ),
        r(
            "/markets/{ticker}/determine",
            _unknown_market_guard(_determine),
            "POST",
            frozenset({"result", "settlement_value_dollars", "settle_now"}),
        ),
        r(
            "/markets/{ticker}/close_time",
            _unknown_market_guard(_close_time),
            "POST",
            frozenset({"close_ts"}),
        ),
        r("/exchange", _exchange, "POST", frozenset({"trading_active", "exchange_active"})),
        r("/state", _state, "GET"),
    ]
