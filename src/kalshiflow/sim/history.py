"""Which records are historical: older than the cutoff, they leave the live endpoints.

Kalshi splits its data at a moving cutoff (``GET /historical/cutoff``): markets settled before it,
fills and trades made before it, and orders cancelled or fully executed before it are served only
by ``/historical/*``; resting orders are always live. The simulator applies the same split when a
retention is configured (``SimExchange.historical_retention_ms``; cutoff = now - retention), so a
client's handling of the split can be tested. Without one the cutoff is the Unix epoch and
everything is live. These predicates are the one definition both sides of the split use.
"""

from __future__ import annotations

from kalshiflow.sim.state import Fill, SimMarket, SimOrder, Trade


def market_archived(market: SimMarket, cutoff_ms: int) -> bool:
    return market.settled_ms is not None and market.settled_ms < cutoff_ms


def order_archived(order: SimOrder, cutoff_ms: int) -> bool:
    return not order.is_resting and order.updated_ms < cutoff_ms


def fill_archived(fill: Fill, cutoff_ms: int) -> bool:
    return fill.ts_ms < cutoff_ms


def trade_archived(trade: Trade, cutoff_ms: int) -> bool:
    return trade.ts_ms < cutoff_ms
