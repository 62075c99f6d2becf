"""The simulator's JSON boundary: exact formatting primitives and strict request parsing.

Every number crosses the wire as a fixed-point string (reference §3.1) and is parsed here, once,
into the exact integer units of ``kalshiflow.domain.units``; nothing is ever rounded on the way in.
Parsing is deliberately strict -- unknown fields, wrong JSON types, ``"true"`` for ``true``,
over-precise counts -- because a simulator that accepts what Kalshi rejects lets client bugs reach
production. Every failure is an ``ExchangeError`` (400) with a message naming the field; no other
exception escapes a ``parse_*`` function, whatever the input.

Rendering of engine records lives in ``wire_market`` and ``wire_portfolio``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, TypeVar

from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.sim.errors import ExchangeError

INVALID_PARAMETERS: Final = "invalid_parameters"
MAX_SUBACCOUNT: Final = 63
MAX_COUNT_CONTRACTS: Final = 1_000_000_000  # far above any balance; keeps integers small
MAX_TEXT: Final = 256  # longest identifier string accepted (tickers, client order ids)
_DECIMAL: Final = re.compile(r"[0-9]{1,16}(?:\.[0-9]{1,16})?", re.ASCII)

JsonObject = dict[str, object]


# ------------------------------------------------------------------------------ formatting
# Rendered texts, remembered by value. Why: every calibration pass re-renders every watched market
# (seven times per market, the same open, close and expiration instants; a dozen prices), and
# ``strftime`` and the fixed-point formatting were most of the simulator's side of such a pass.
# A text depends on its value only; each cache is emptied when full, so it stays bounded.
_TEXT_CACHE_MAX: Final = 65_536
_TS_TEXT: dict[int, str] = {}
_PRICE_TEXT: dict[int, str] = {}
_COUNT_TEXT: dict[int, str] = {}


def _remember(cache: dict[int, str], units: int, text: str) -> str:
    if len(cache) >= _TEXT_CACHE_MAX:
        cache.clear()
    cache[units] = text
    return text


def _is_units(value: object) -> bool:
    """Only integers are looked up: ``True`` and ``1.0`` equal ``1`` as keys, and the constructors
    refuse them."""
    return isinstance(value, int) and not isinstance(value, bool)


def ts(ms: int) -> str:
    """RFC 3339 UTC with a ``Z`` suffix; milliseconds only when there are any."""
    text = _TS_TEXT.get(ms) if _is_units(ms) else None
    if text is not None:
        return text
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    whole = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return _remember(_TS_TEXT, ms, f"{whole}.{ms % 1000:03d}Z" if ms % 1000 else f"{whole}Z")


def ts_or_none(ms: int | None) -> str | None:
    return None if ms is None else ts(ms)


def price(units: int) -> str:
    text = _PRICE_TEXT.get(units) if _is_units(units) else None
    return text if text is not None else _remember(_PRICE_TEXT, units, Price(units).dollars_str())


def money(units: int) -> str:
    return Money(units).dollars_str()


def count(units: int) -> str:
    text = _COUNT_TEXT.get(units) if _is_units(units) else None
    return text if text is not None else _remember(_COUNT_TEXT, units, Count(units).fp_str())


def cents(money_units: int) -> int:
    """A legacy integer-cent field (the spec still has a few), rounded toward minus infinity."""
    return Money(money_units).cents_floor()


def error_body(code: str, message: str, details: str = "") -> JsonObject:
    return {"error": {"code": code, "message": message, "details": details}}


# ------------------------------------------------------------------------------ parsing
def bad(message: str, code: str = INVALID_PARAMETERS) -> ExchangeError:
    return ExchangeError(400, code, message)


def parse_json(raw: bytes) -> object:
    """Decode a request body; an empty body is an empty object."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise bad("invalid JSON body") from None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_object(raw: object, allowed: frozenset[str], what: str = "request body") -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise bad(f"{what} must be a JSON object")
    unknown = sorted(k for k in raw if k not in allowed)
    if unknown:
        raise bad(f"unknown field(s) in {what}: {', '.join(_clip(k) for k in unknown)}")
    return raw


def _clip(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _present(body: Mapping[str, object], name: str) -> bool:
    return body.get(name) is not None


def req_str(body: Mapping[str, object], name: str) -> str:
    if not _present(body, name):
        raise bad(f"missing required field {name!r}")
    return opt_str(body, name) or _empty(name)


def _empty(name: str) -> str:
    raise bad(f"field {name!r} must not be empty")


def opt_str(body: Mapping[str, object], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(f"field {name!r} must be a string")
    if len(value) > MAX_TEXT:
        raise bad(f"field {name!r} is longer than {MAX_TEXT} characters")
    return value


def opt_bool(body: Mapping[str, object], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad(f"field {name!r} must be a JSON boolean (true/false), not {_json_type(value)}")
    return value


def opt_int(body: Mapping[str, object], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"field {name!r} must be an integer, not {_json_type(value)}")
    if not low <= value <= high:
        raise bad(f"field {name!r} must be between {low} and {high}")
    return value


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _decimal_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise bad(f"field {name!r} must be a decimal string, not {_json_type(value)}")
    if _DECIMAL.fullmatch(value) is None:
        raise bad(f"field {name!r} ({_clip(value)}) is not a plain decimal number")
    return value


def parse_price(value: object, name: str = "price") -> int:
    """A FixedPointDollars price; grid validity is the engine's job (400 ``invalid_price``)."""
    text = _decimal_text(value, name)
    try:
        return int(Price.parse(text))
    except ValueError:
        raise bad(f"field {name!r} ({text!r}) has more than 4 decimal places", "invalid_price") from None


def parse_count(value: object, name: str = "count", allow_zero: bool = False) -> int:
    """A FixedPointCount as a string (``"10"``, ``"10.00"``) or a whole JSON integer."""
    if isinstance(value, int) and not isinstance(value, bool):
        units = value * 100 if abs(value) <= MAX_COUNT_CONTRACTS else MAX_COUNT_CONTRACTS * 1000
    else:
        text = _decimal_text(value, name)
        try:
            units = int(Count.parse(text))
        except ValueError:
            raise bad(
                f"field {name!r} ({text!r}) has more than 2 decimal places", "invalid_order_size"
            ) from None
    if units < 0 or (units == 0 and not allow_zero):
        raise bad(f"field {name!r} must be positive", "invalid_order_size")
    if units > MAX_COUNT_CONTRACTS * 100:
        raise bad(f"field {name!r} is too large", "invalid_order_size")
    return units


_E = TypeVar("_E", BookSide, TimeInForce, SelfTradePrevention)


def _enum(body: Mapping[str, object], name: str, kind: type[_E]) -> _E:
    raw = req_str(body, name)
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise bad(f"field {name!r} must be one of: {allowed}") from None


def check_exchange_index(body: Mapping[str, object]) -> None:
    """The simulator has one shard: 0, or -1 (auto-route), or absent."""
    opt_int(body, "exchange_index", -1, 0)


# ------------------------------------------------------------------------------ requests
CREATE_FIELDS: Final = frozenset(
    {
        "ticker",
        "client_order_id",
        "side",
        "count",
        "price",
        "expiration_time",
        "time_in_force",
        "post_only",
        "self_trade_prevention_type",
        "cancel_order_on_pause",
        "reduce_only",
        "subaccount",
        "order_group_id",
        "exchange_index",
    }
)


def parse_create(raw: object) -> OrderRequest:
    """``CreateOrderV2Request`` -> ``OrderRequest`` (expiration seconds become ms)."""
    body = parse_object(raw, CREATE_FIELDS)
    ticker = req_str(body, "ticker")
    side = _enum(body, "side", BookSide)
    if not _present(body, "count"):
        raise bad("missing required field 'count'")
    if not _present(body, "price"):
        raise bad("missing required field 'price'")
    count_units = parse_count(body["count"])
    yes_price = parse_price(body["price"])
    tif = _enum(body, "time_in_force", TimeInForce)
    stp = _enum(body, "self_trade_prevention_type", SelfTradePrevention)
    expiration_s = opt_int(body, "expiration_time", 0, 10**11)
    check_exchange_index(body)
    return OrderRequest(
        ticker=ticker,
        side=side,
        yes_price=yes_price,
        count=count_units,
        time_in_force=tif,
        self_trade_prevention=stp,
        client_order_id=opt_str(body, "client_order_id") or "",
        post_only=opt_bool(body, "post_only"),
        reduce_only=opt_bool(body, "reduce_only"),
        cancel_order_on_pause=opt_bool(body, "cancel_order_on_pause"),
        expiration_ms=None if expiration_s is None else expiration_s * 1000,
        order_group_id=opt_str(body, "order_group_id") or None,
        subaccount=opt_int(body, "subaccount", 0, MAX_SUBACCOUNT) or 0,
    )


@dataclass(frozen=True, slots=True)
class AmendRequest:
    ticker: str
    side: BookSide
    yes_price: int
    total_count: int
    client_order_id: str | None
    updated_client_order_id: str | None


AMEND_FIELDS: Final = frozenset(
    {
        "ticker",
        "side",
        "price",
        "count",
        "client_order_id",
        "updated_client_order_id",
        "expiration_time",
        "exchange_index",
    }
)


def parse_amend(raw: object) -> AmendRequest:
    body = parse_object(raw, AMEND_FIELDS)
    ticker = req_str(body, "ticker")
    side = _enum(body, "side", BookSide)
    if not _present(body, "price"):
        raise bad("missing required field 'price'")
    if not _present(body, "count"):
        raise bad("missing required field 'count'")
    yes_price = parse_price(body["price"])
    total = parse_count(body["count"])
    if _present(body, "expiration_time"):
        raise bad("amending expiration_time is not supported by the simulator")
    check_exchange_index(body)
    return AmendRequest(
        ticker,
        side,
        yes_price,
        total,
        opt_str(body, "client_order_id") or None,
        opt_str(body, "updated_client_order_id") or None,
    )


DECREASE_FIELDS: Final = frozenset({"reduce_by", "reduce_to", "exchange_index", "market_ticker"})


def parse_decrease(raw: object) -> tuple[int | None, int | None]:
    """Exactly one of ``reduce_by`` (> 0) / ``reduce_to`` (>= 0)."""
    body = parse_object(raw, DECREASE_FIELDS)
    has_by, has_to = _present(body, "reduce_by"), _present(body, "reduce_to")
    if has_by == has_to:
        raise bad("exactly one of 'reduce_by' and 'reduce_to' is required")
    opt_str(body, "market_ticker")
    check_exchange_index(body)
    if has_by:
        return parse_count(body["reduce_by"], "reduce_by"), None
    return None, parse_count(body["reduce_to"], "reduce_to", allow_zero=True)


def parse_batch(raw: object, max_items: int) -> list[object]:
    """The ``orders`` array of a batch body, 1..``max_items`` items (items are parsed one by one)."""
    body = parse_object(raw, frozenset({"orders"}))
    items = body.get("orders")
    if not isinstance(items, list):
        raise bad("field 'orders' must be an array")
    if not items:
        raise bad("field 'orders' must not be empty")
    if len(items) > max_items:
        raise bad(f"batch of {len(items)} orders exceeds the maximum of {max_items}")
    return items


CANCEL_ITEM_FIELDS: Final = frozenset({"order_id", "subaccount", "exchange_index", "market_ticker"})


def parse_cancel_item(raw: object) -> str:
    body = parse_object(raw, CANCEL_ITEM_FIELDS, "batch cancel item")
    opt_int(body, "subaccount", 0, MAX_SUBACCOUNT)
    opt_str(body, "market_ticker")
    check_exchange_index(body)
    return req_str(body, "order_id")


GROUP_FIELDS: Final = frozenset({"contracts_limit", "contracts_limit_fp", "subaccount", "exchange_index"})


def parse_group_limit(raw: object, allow_subaccount: bool) -> tuple[int, int]:
    """(contracts limit in 0.01 contracts, subaccount) from an order-group create/limit body."""
    allowed = GROUP_FIELDS if allow_subaccount else frozenset({"contracts_limit", "contracts_limit_fp"})
    body = parse_object(raw, allowed)
    whole = opt_int(body, "contracts_limit", 1, MAX_COUNT_CONTRACTS)
    fp = (
        parse_count(body["contracts_limit_fp"], "contracts_limit_fp")
        if _present(body, "contracts_limit_fp")
        else None
    )
    if whole is None and fp is None:
        raise bad("one of 'contracts_limit' and 'contracts_limit_fp' is required")
    if whole is not None and fp is not None and whole * 100 != fp:
        raise bad("'contracts_limit' and 'contracts_limit_fp' do not match")
    check_exchange_index(body)
    limit = fp if fp is not None else (whole or 0) * 100
    return limit, opt_int(body, "subaccount", 0, MAX_SUBACCOUNT) or 0


# ------------------------------------------------------------------------------ query strings
def query_int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if re.fullmatch(r"-?[0-9]{1,12}", raw, re.ASCII) is None:
        raise bad(f"query parameter {name!r} must be an integer")
    value = int(raw)
    if not low <= value <= high:
        raise bad(f"query parameter {name!r} must be between {low} and {high}")
    return value


def query_opt_int(params: Mapping[str, str], name: str) -> int | None:
    if not params.get(name):
        return None
    return query_int(params, name, 0, -(10**12), 10**12)


def query_bool(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return False
    if raw not in ("true", "false"):
        raise bad(f"query parameter {name!r} must be true or false")
    return raw == "true"
