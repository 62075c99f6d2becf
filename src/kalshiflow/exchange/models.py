"""Typed, frozen response models of the Kalshi REST API, parsed into exact domain units.

One import point for the trader; the models live by concern:

* ``models_wire`` -- ``WireFormatError`` and the field readers every model parses through;
* ``models_market`` -- exchange status, markets (with their price grid), order books, events, series;
* ``models_portfolio`` -- balance, positions, orders, fills, settlements, order groups;
* ``models_orders`` -- the V2 order request and the answers to order mutations.
"""

from __future__ import annotations

from kalshiflow.exchange.models_market import (
    EventData,
    ExchangeStatus,
    Market,
    MarketStatus,
    Orderbook,
    Series,
    orderbooks_from_wire,
)
from kalshiflow.exchange.models_orders import (
    AmendResult,
    BatchCancelItem,
    BatchCreateItem,
    CancelResult,
    CreateOrderResult,
    DecreaseResult,
    ItemError,
    NewOrder,
    OrderPlacement,
)
from kalshiflow.exchange.models_portfolio import (
    Balance,
    Fill,
    MarketPosition,
    Order,
    OrderGroup,
    Settlement,
)
from kalshiflow.exchange.models_wire import Fields, WireFormatError, parse_rfc3339_ms

__all__ = [
    "AmendResult",
    "Balance",
    "BatchCancelItem",
    "BatchCreateItem",
    "CancelResult",
    "CreateOrderResult",
    "DecreaseResult",
    "EventData",
    "ExchangeStatus",
    "Fields",
    "Fill",
    "ItemError",
    "Market",
    "MarketPosition",
    "MarketStatus",
    "NewOrder",
    "Order",
    "OrderGroup",
    "OrderPlacement",
    "Orderbook",
    "Series",
    "Settlement",
    "WireFormatError",
    "orderbooks_from_wire",
    "parse_rfc3339_ms",
]
