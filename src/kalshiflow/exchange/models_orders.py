"""V2 order requests and the answers to order mutations, as typed, frozen values.

``NewOrder`` is what the trader asks for (one YES book: ``bid`` buys YES, ``ask`` buys NO, the price
is always the YES price) and renders Kalshi's ``CreateOrderV2Request``. The result types mirror the
V2 mutation responses (reference §7.1-§7.5): flat objects with ``ts_ms``; batch answers carry a
per-item error instead of failing the whole call.
"""

from __future__ import annotations

from dataclasses import dataclass

from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price
from kalshiflow.domain.values import hot_value
from kalshiflow.exchange.models_portfolio import Order
from kalshiflow.exchange.models_wire import Fields


@hot_value  # built for every order the trader sends: see domain.values
@dataclass(frozen=True, slots=True)
class NewOrder:
    """One V2 create. ``client_order_id`` is required here: the client fills it in before sending."""

    ticker: str
    side: BookSide
    price: Price  # YES price, on the market's grid
    count: Count
    client_order_id: str
    time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCELED
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.TAKER_AT_CROSS
    post_only: bool = False
    reduce_only: bool = False
    expiration_ts_s: int | None = None  # Unix seconds; only with good_till_canceled
    order_group_id: str | None = None
    cancel_order_on_pause: bool = False
    subaccount: int | None = None

    def __post_init__(self) -> None:
        if not self.client_order_id:
            raise ValueError("client_order_id must not be empty")
        if self.count <= 0:
            raise ValueError("count must be positive")
        if not 0 < self.price < PRICE_SCALE:
            raise ValueError("price must lie strictly between $0 and $1")

    def to_wire(self) -> dict[str, object]:
        body: dict[str, object] = {
            "ticker": self.ticker,
            "client_order_id": self.client_order_id,
            "side": self.side.value,
            "count": self.count.fp_str(),
            "price": self.price.dollars_str(),
            "time_in_force": self.time_in_force.value,
            "self_trade_prevention_type": self.self_trade_prevention.value,
        }
        optional: dict[str, object | None] = {
            "post_only": self.post_only or None,
            "reduce_only": self.reduce_only or None,
            "cancel_order_on_pause": self.cancel_order_on_pause or None,
            "expiration_time": self.expiration_ts_s,
            "order_group_id": self.order_group_id,
            "subaccount": self.subaccount,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body


@dataclass(frozen=True, slots=True)
class CreateOrderResult:
    order_id: str
    client_order_id: str
    fill_count: Count
    remaining_count: Count
    ts_ms: int
    average_fill_price: Money | None = None  # per contract, volume weighted; only when filled
    average_fee_paid: Money | None = None

    @classmethod
    def from_wire(cls, raw: object, client_order_id: str = "") -> CreateOrderResult:
        f = Fields(raw, "CreateOrderV2Response")
        return cls(
            order_id=f.text("order_id"),
            client_order_id=f.opt_text("client_order_id") or client_order_id,
            fill_count=f.count("fill_count"),
            remaining_count=f.count("remaining_count"),
            ts_ms=f.integer("ts_ms"),
            average_fill_price=f.opt_money("average_fill_price"),
            average_fee_paid=f.opt_money("average_fee_paid"),
        )


@dataclass(frozen=True, slots=True)
class CancelResult:
    order_id: str
    client_order_id: str
    reduced_by: Count  # what was still resting when cancelled
    ts_ms: int

    @classmethod
    def from_wire(cls, raw: object) -> CancelResult:
        f = Fields(raw, "CancelOrderV2Response")
        return cls(
            order_id=f.text("order_id"),
            client_order_id=f.opt_text("client_order_id", "") or "",
            reduced_by=f.count("reduced_by"),
            ts_ms=f.integer("ts_ms"),
        )


@dataclass(frozen=True, slots=True)
class AmendResult:
    order_id: str
    ts_ms: int
    client_order_id: str | None = None
    remaining_count: Count | None = None
    fill_count: Count | None = None  # what this amend matched
    average_fill_price: Money | None = None
    average_fee_paid: Money | None = None

    @classmethod
    def from_wire(cls, raw: object) -> AmendResult:
        f = Fields(raw, "AmendOrderV2Response")
        return cls(
            order_id=f.text("order_id"),
            ts_ms=f.integer("ts_ms"),
            client_order_id=f.opt_text("client_order_id"),
            remaining_count=f.opt_count("remaining_count"),
            fill_count=f.opt_count("fill_count"),
            average_fill_price=f.opt_money("average_fill_price"),
            average_fee_paid=f.opt_money("average_fee_paid"),
        )


@dataclass(frozen=True, slots=True)
class DecreaseResult:
    order_id: str
    remaining_count: Count
    ts_ms: int
    client_order_id: str = ""

    @classmethod
    def from_wire(cls, raw: object) -> DecreaseResult:
        f = Fields(raw, "DecreaseOrderV2Response")
        return cls(
            order_id=f.text("order_id"),
            remaining_count=f.count("remaining_count"),
            ts_ms=f.integer("ts_ms"),
            client_order_id=f.opt_text("client_order_id", "") or "",
        )


@dataclass(frozen=True, slots=True)
class ItemError:
    """The ``error`` of one batch item (Kalshi's ``ErrorResponse``)."""

    code: str
    message: str
    details: str = ""

    @classmethod
    def from_wire(cls, raw: object) -> ItemError:
        f = Fields(raw, "ErrorResponse")
        return cls(
            code=f.opt_text("code", "") or "",
            message=f.opt_text("message", "") or "",
            details=f.opt_text("details", "") or "",
        )


@dataclass(frozen=True, slots=True)
class BatchCreateItem:
    """One item of a batch create: a result or an error, never both."""

    client_order_id: str
    result: CreateOrderResult | None
    error: ItemError | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_wire(cls, raw: object, sent: NewOrder) -> BatchCreateItem:
        f = Fields(raw, "BatchCreateOrdersV2ResponseItem")
        if f.has("error"):
            return cls(sent.client_order_id, None, ItemError.from_wire(f.raw["error"]))
        result = CreateOrderResult.from_wire(raw, sent.client_order_id)
        return cls(result.client_order_id, result, None)


@dataclass(frozen=True, slots=True)
class BatchCancelItem:
    order_id: str
    result: CancelResult | None
    error: ItemError | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_wire(cls, raw: object, order_id: str) -> BatchCancelItem:
        f = Fields(raw, "BatchCancelOrdersV2ResponseItem")
        if f.has("error"):
            return cls(order_id, None, ItemError.from_wire(f.raw["error"]))
        result = CancelResult.from_wire(raw)
        return cls(result.order_id, result, None)


@dataclass(frozen=True, slots=True)
class OrderPlacement:
    """How a create ended: answered directly (``response``) or found by its id after an
    ambiguous outcome (``resolved``). Exactly one of the two is set."""

    client_order_id: str
    order_id: str
    response: CreateOrderResult | None = None
    resolved: Order | None = None

    @property
    def resolved_by_read(self) -> bool:
        return self.resolved is not None
