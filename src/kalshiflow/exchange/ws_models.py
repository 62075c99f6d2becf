"""Typed WebSocket messages, parsed once at the boundary into exact domain units.

The stream client turns every frame from ``/trade-api/ws/v2`` into one of these frozen values (or a
``MalformedFrame`` describing what was wrong); nothing outside ``exchange/`` sees Kalshi's JSON.
Orderbook levels keep Kalshi's convention: each side is a ladder of *bids* in that side's own price
(a NO level at $0.30 is a NO bid at 30c, i.e. a YES offer at 70c), ascending by price.

Only current (fixed-point) fields are modelled; fields Kalshi marks deprecated (``side``/``action``
on fills, ``ts``/``time`` strings, ``is_yes``) are not carried, so no consumer grows a dependency
on them. Unknown message types are not an error: they become ``UnknownMessage`` so that a new
Kalshi channel never crashes the reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

import msgspec

from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, Money, Price

Level = tuple[Price, Count]


@dataclass(frozen=True, slots=True)
class OrderbookSnapshot:
    sid: int
    seq: int
    ticker: str
    yes: tuple[Level, ...]  # YES bids, ascending by price
    no: tuple[Level, ...]  # NO bids in NO-leg prices, ascending by price
    received_ns: int = 0  # local monotonic receive time (time.monotonic_ns)


class OrderbookDelta(msgspec.Struct, frozen=True, gc=False):
    """One level change. A frozen ``msgspec.Struct`` where the other messages are frozen dataclasses:
    deltas are the stream's bulk (and a replay's and the training environment's, built in process),
    and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) cost ~0.9 us a delta
    against ~0.08 us; same fields, order, equality, hash and immutability. Its fields hold no
    references that could form a cycle, so the garbage collector need not track it (``gc=False``)."""

    sid: int
    seq: int
    ticker: str
    side: OutcomeSide
    price: Price  # in the side's own leg price
    delta: Count  # signed change of the aggregate size at that level
    ts_ms: int | None = None
    client_order_id: str | None = None
    received_ns: int = 0


# ----------------------------------------------------------------------------- public channels


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    """``ticker``: top of book and volume; unsequenced, so a lost one is simply superseded."""

    sid: int
    ticker: str
    market_id: str
    last_price: Price
    yes_bid: Price
    yes_ask: Price
    yes_bid_size: Count
    yes_ask_size: Count
    last_trade_size: Count
    volume: Count
    open_interest: Count
    dollar_volume: int  # whole dollars, as Kalshi sends it
    dollar_open_interest: int
    ts_ms: int
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class PublicTrade:
    sid: int
    seq: int
    trade_id: str
    ticker: str
    yes_price: Price
    no_price: Price
    count: Count
    taker_outcome_side: OutcomeSide
    taker_book_side: BookSide
    is_block_trade: bool
    ts_ms: int
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class MarketLifecycle:
    """``market_lifecycle_v2``; conditional fields are None when the event type does not carry them."""

    sid: int
    seq: int
    ticker: str
    event_type: str
    open_ts: int | None = None  # Unix seconds, as on the wire
    close_ts: int | None = None
    determination_ts: int | None = None
    settled_ts: int | None = None
    result: str | None = None
    settlement_value: Price | None = None
    is_deactivated: bool | None = None
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class EventLifecycle:
    sid: int
    seq: int
    event_ticker: str
    title: str
    subtitle: str
    collateral_return_type: str
    series_ticker: str
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class EventFeeUpdate:
    """``event_fee_update`` (on ``market_lifecycle_v2``): an event's fee overrides now in force;
    None clears an override (the series' fee applies). ``fee_type_override`` stays the wire text
    (a type this client does not know is still delivered); the multiplier is exact."""

    sid: int
    seq: int
    event_ticker: str
    fee_type_override: str | None
    fee_multiplier_override: Fraction | None
    received_ns: int = 0


# ----------------------------------------------------------------------------- private channels


@dataclass(frozen=True, slots=True)
class FillMessage:
    """``fill``: one execution of one of our orders; ``trade_id`` de-duplicates it."""

    sid: int
    trade_id: str
    order_id: str
    client_order_id: str | None
    ticker: str
    is_taker: bool
    book_side: BookSide
    outcome_side: OutcomeSide
    yes_price: Price
    count: Count
    fee: Money
    post_position: Count  # signed net position after the fill (+YES / -NO)
    ts_ms: int
    subaccount: int | None = None
    received_ns: int = 0


class WsOrderStatus(StrEnum):
    RESTING = "resting"
    CANCELED = "canceled"
    EXECUTED = "executed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class UserOrderUpdate:
    sid: int
    order_id: str
    client_order_id: str
    ticker: str
    status: WsOrderStatus
    book_side: BookSide
    outcome_side: OutcomeSide
    yes_price: Price
    fill_count: Count
    remaining_count: Count
    initial_count: Count
    taker_fill_cost: Money
    maker_fill_cost: Money
    taker_fees: Money
    maker_fees: Money
    order_group_id: str | None
    created_ts_ms: int | None
    last_updated_ts_ms: int | None
    last_update_reason: str | None
    expiration_ts_ms: int | None
    subaccount: int | None
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class MarketPositionUpdate:
    sid: int
    ticker: str
    position: Count  # signed: +YES / -NO
    position_cost: Money
    realized_pnl: Money
    fees_paid: Money
    position_fee_cost: Money
    volume: Count
    subaccount: int | None = None
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class OrderGroupUpdate:
    sid: int
    seq: int
    event_type: str
    order_group_id: str
    contracts_limit: Count | None
    ts_ms: int
    received_ns: int = 0


# ----------------------------------------------------------------------------- command replies


@dataclass(frozen=True, slots=True)
class Subscribed:
    command_id: int | None
    channel: str
    sid: int


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    command_id: int | None
    sid: int
    seq: int | None


@dataclass(frozen=True, slots=True)
class SubscriptionListing:
    channel: str
    sid: int


@dataclass(frozen=True, slots=True)
class OkReply:
    """``ok``: an update_subscription ack (``sid`` + markets) or a list_subscriptions answer."""

    command_id: int | None
    sid: int | None
    seq: int | None
    market_tickers: tuple[str, ...] | None
    subscriptions: tuple[SubscriptionListing, ...] | None


TERMINAL_ERROR_CODES = frozenset({10, 25})  # channel error, buffer overflow: the sid is dead


@dataclass(frozen=True, slots=True)
class ErrorReply:
    command_id: int | None
    code: int
    message: str
    sid: int | None = None
    seq: int | None = None
    market_tickers: tuple[str, ...] = ()

    @property
    def is_terminal(self) -> bool:
        """Kalshi ends the subscription after these; the client must resubscribe."""
        return self.code in TERMINAL_ERROR_CODES


# ----------------------------------------------------------------------------- not understood


@dataclass(frozen=True, slots=True)
class MalformedFrame:
    """A frame we could not turn into a message: counted and logged, never raised."""

    reason: str
    excerpt: str  # the first characters of the frame, for the log
    received_ns: int = 0


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """Well-formed JSON with a ``type`` we do not model (a new or retired Kalshi channel)."""

    msg_type: str
    sid: int | None
    seq: int | None
    received_ns: int = 0


BookMessage = OrderbookSnapshot | OrderbookDelta
ChannelMessage = (
    TickerUpdate
    | PublicTrade
    | MarketLifecycle
    | EventLifecycle
    | EventFeeUpdate
    | FillMessage
    | UserOrderUpdate
    | MarketPositionUpdate
    | OrderGroupUpdate
)
ReplyMessage = Subscribed | Unsubscribed | OkReply | ErrorReply
WsMessage = BookMessage | ChannelMessage | ReplyMessage | MalformedFrame | UnknownMessage


# ----------------------------------------------------------------------------- stream notices


class NoticeKind(StrEnum):
    OVERFLOW = "overflow"  # the consumer queue was full: ``count`` channel messages were not queued
    GAP = "gap"  # a sequenced channel (trade, lifecycle, order groups) lost ``count`` messages
    TERMINAL_ERROR = "terminal_error"  # Kalshi ended a subscription (error 10/25); resubscribed
    RECONNECTED = "reconnected"  # messages sent while disconnected are lost: reconcile


@dataclass(frozen=True, slots=True)
class ChannelNotice:
    """Told to the consumer whenever channel data may be missing, so it can reconcile (never silent)."""

    kind: NoticeKind
    channel: str | None
    count: int
    detail: str


StreamEvent = ChannelMessage | ChannelNotice
