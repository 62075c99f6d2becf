"""The account's view as typed, frozen values: balance, positions, orders, fills, settlements, groups.

Parsed once from Kalshi's JSON (reference §5.2-§5.6, §5.8) into exact domain units. Direction is
always the canonical pair ``outcome_side``/``book_side`` (a bid buys YES, an ask buys NO); the
deprecated ``side``/``action`` are ignored. Positions are net and signed: + YES, - NO.
"""

from __future__ import annotations

from dataclasses import dataclass

from kalshiflow.domain.orders import BookSide, OrderStatus, OutcomeSide, SelfTradePrevention
from kalshiflow.domain.units import ZERO_MONEY, Count, Money, Price
from kalshiflow.exchange.models_wire import Fields, WireFormatError


def _direction(f: Fields) -> tuple[OutcomeSide, BookSide]:
    """``outcome_side``/``book_side``; either one implies the other, and they must agree."""
    outcome = f.opt_enum("outcome_side", OutcomeSide)
    book = f.opt_enum("book_side", BookSide)
    if outcome is None and book is None:
        raise WireFormatError(f"{f.what}.book_side: missing required field")
    if book is None:
        assert outcome is not None
        book = outcome.book_side
    if outcome is None:
        outcome = book.outcome_side
    if outcome.book_side is not book:
        raise WireFormatError(f"{f.what}: outcome_side {outcome} contradicts book_side {book}")
    return outcome, book


@dataclass(frozen=True, slots=True)
class Balance:
    """Available cash (exact, from ``balance_dollars``) and the positions' value."""

    balance: Money
    portfolio_value: Money
    updated_ms: int | None = None

    @classmethod
    def from_wire(cls, raw: object) -> Balance:
        f = Fields(raw, "Balance")
        # balance_dollars is exact; the integer-cent balance truncates and is only a fallback.
        balance = f.money("balance_dollars") if f.has("balance_dollars") else f.cents("balance")
        updated_s = f.opt_integer("updated_ts")
        return cls(
            balance=balance,
            portfolio_value=f.cents("portfolio_value") if f.has("portfolio_value") else Money(0),
            updated_ms=None if updated_s is None else updated_s * 1000,
        )


@dataclass(frozen=True, slots=True)
class MarketPosition:
    ticker: str
    position: Count  # signed: + YES contracts, - NO contracts
    market_exposure: Money  # cost basis of the current position
    total_traded: Money
    realized_pnl: Money
    fees_paid: Money
    last_updated_ms: int | None = None
    exchange_index: int = 0

    @classmethod
    def from_wire(cls, raw: object) -> MarketPosition:
        f = Fields(raw, "MarketPosition")
        return cls(
            ticker=f.text("ticker"),
            position=f.count("position_fp"),
            market_exposure=f.money("market_exposure_dollars"),
            total_traded=f.money("total_traded_dollars"),
            realized_pnl=f.money("realized_pnl_dollars"),
            fees_paid=f.money("fees_paid_dollars"),
            last_updated_ms=f.opt_time_ms("last_updated_ts"),
            exchange_index=f.opt_integer("exchange_index", 0) or 0,
        )


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    client_order_id: str
    ticker: str
    outcome_side: OutcomeSide
    book_side: BookSide
    status: OrderStatus
    yes_price: Price
    fill_count: Count
    remaining_count: Count
    initial_count: Count
    taker_fill_cost: Money
    maker_fill_cost: Money
    taker_fees: Money
    maker_fees: Money
    created_ms: int | None = None
    last_update_ms: int | None = None
    expiration_ms: int | None = None
    self_trade_prevention: SelfTradePrevention | None = None
    order_group_id: str | None = None
    cancel_order_on_pause: bool = False
    subaccount: int | None = None
    exchange_index: int = 0

    @property
    def no_price(self) -> Price:
        return self.yes_price.complement()

    @property
    def fees(self) -> Money:
        return Money(self.taker_fees + self.maker_fees)

    @property
    def is_resting(self) -> bool:
        return self.status is OrderStatus.RESTING

    @classmethod
    def from_wire(cls, raw: object) -> Order:
        f = Fields(raw, "Order")
        outcome, book = _direction(f)
        return cls(
            order_id=f.text("order_id"),
            client_order_id=f.opt_text("client_order_id", "") or "",
            ticker=f.text("ticker"),
            outcome_side=outcome,
            book_side=book,
            status=f.enum("status", OrderStatus),
            yes_price=f.price("yes_price_dollars"),
            fill_count=f.count("fill_count_fp"),
            remaining_count=f.count("remaining_count_fp"),
            initial_count=f.count("initial_count_fp"),
            taker_fill_cost=f.opt_money("taker_fill_cost_dollars") or Money(0),
            maker_fill_cost=f.opt_money("maker_fill_cost_dollars") or Money(0),
            taker_fees=f.opt_money("taker_fees_dollars") or Money(0),
            maker_fees=f.opt_money("maker_fees_dollars") or Money(0),
            created_ms=f.opt_time_ms("created_time"),
            last_update_ms=f.opt_time_ms("last_update_time"),
            expiration_ms=f.opt_time_ms("expiration_time"),
            self_trade_prevention=f.opt_enum("self_trade_prevention_type", SelfTradePrevention),
            order_group_id=f.opt_text("order_group_id") or None,
            cancel_order_on_pause=f.opt_flag("cancel_order_on_pause"),
            subaccount=f.opt_integer("subaccount_number"),
            exchange_index=f.opt_integer("exchange_index", 0) or 0,
        )


@dataclass(frozen=True, slots=True)
class Fill:
    trade_id: str
    order_id: str
    ticker: str
    outcome_side: OutcomeSide
    book_side: BookSide
    yes_price: Price
    count: Count
    is_taker: bool
    fee: Money
    ts_ms: int
    exchange_index: int = 0

    @property
    def no_price(self) -> Price:
        return self.yes_price.complement()

    @classmethod
    def from_wire(cls, raw: object) -> Fill:
        f = Fields(raw, "Fill")
        outcome, book = _direction(f)
        trade_id = f.opt_text("trade_id") or f.text("fill_id")
        ticker = f.opt_text("ticker") or f.text("market_ticker")
        ts_s = f.opt_integer("ts")
        ts_ms = f.opt_time_ms("created_time")
        if ts_ms is None:
            if ts_s is None:
                raise WireFormatError("Fill.created_time: missing required field")
            ts_ms = ts_s * 1000
        return cls(
            trade_id=trade_id,
            order_id=f.text("order_id"),
            ticker=ticker,
            outcome_side=outcome,
            book_side=book,
            yes_price=f.price("yes_price_dollars"),
            count=f.count("count_fp"),
            is_taker=f.flag("is_taker"),
            fee=f.opt_money("fee_cost") or Money(0),
            ts_ms=ts_ms,
            exchange_index=f.opt_integer("exchange_index", 0) or 0,
        )


@dataclass(frozen=True, slots=True)
class Settlement:
    ticker: str
    market_result: str  # yes | no | scalar | void
    yes_count: Count
    no_count: Count
    yes_total_cost: Money
    no_total_cost: Money
    revenue: Money  # the wire's integer cents, exact
    settled_ms: int
    event_ticker: str = ""
    fee_cost: Money = ZERO_MONEY
    value: Price | None = None  # payout of one YES contract (wire: integer cents)

    @classmethod
    def from_wire(cls, raw: object) -> Settlement:
        f = Fields(raw, "Settlement")
        value_cents = f.opt_integer("value")
        return cls(
            ticker=f.text("ticker"),
            market_result=f.text("market_result"),
            yes_count=f.count("yes_count_fp"),
            no_count=f.count("no_count_fp"),
            yes_total_cost=f.opt_money("yes_total_cost_dollars") or Money(0),
            no_total_cost=f.opt_money("no_total_cost_dollars") or Money(0),
            revenue=f.cents("revenue"),
            settled_ms=f.time_ms("settled_time"),
            event_ticker=f.opt_text("event_ticker", "") or "",
            fee_cost=f.opt_money("fee_cost") or Money(0),
            value=None if value_cents is None else Price.from_cents(value_cents),
        )


@dataclass(frozen=True, slots=True)
class OrderGroup:
    """An order group; ``order_ids`` is filled only by ``GET /portfolio/order_groups/{id}``."""

    order_group_id: str
    contracts_limit: Count | None
    is_auto_cancel_enabled: bool = True
    order_ids: tuple[str, ...] = ()
    exchange_index: int = 0

    @classmethod
    def from_list_item(cls, raw: object) -> OrderGroup:
        f = Fields(raw, "OrderGroup")
        return cls(
            order_group_id=f.text("id"),
            contracts_limit=f.opt_count("contracts_limit_fp"),
            is_auto_cancel_enabled=f.flag("is_auto_cancel_enabled"),
            exchange_index=f.opt_integer("exchange_index", 0) or 0,
        )

    @classmethod
    def from_detail(cls, order_group_id: str, raw: object) -> OrderGroup:
        f = Fields(raw, "GetOrderGroupResponse")
        order_ids = []
        for i, item in enumerate(f.array("orders")):
            if not isinstance(item, str):
                raise WireFormatError(f"GetOrderGroupResponse.orders[{i}]: expected an order id string")
            order_ids.append(item)
        return cls(
            order_group_id=order_group_id,
            contracts_limit=f.opt_count("contracts_limit_fp"),
            is_auto_cancel_enabled=f.flag("is_auto_cancel_enabled"),
            order_ids=tuple(order_ids),
            exchange_index=f.opt_integer("exchange_index", 0) or 0,
        )
