"""Market and exchange lifecycle: opening, closing, determination, settlement, expiry, pauses.

Time-driven transitions happen in ``advance(engine, now_ms)``, which the simulator's scheduler calls
on every tick of its clock (virtual or real). The status machine follows the reference (section 5.1):
initialized -> active at open time (no WS event); active/inactive -> closed at close time (resting
orders cancelled); closed -> determined (result set, ``determined`` event) -> finalized after
``settlement_timer_s`` (payouts, settlement rows, positions removed, ``settled`` event).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from kalshiflow.domain.orders import UpdateReason
from kalshiflow.domain.settlement import MarketResult, settlement_payout, yes_settlement_value
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.sim import errors, fee_schedule
from kalshiflow.sim.events import BalanceEvent, LifecycleEvent, PositionEvent
from kalshiflow.sim.state import MarketStatus, Position, Settlement, SimMarket

if TYPE_CHECKING:
    from kalshiflow.sim.engine import Engine

# Legal explicit transitions (time-driven ones included); anything else is a bug.
TRANSITIONS: dict[MarketStatus, frozenset[MarketStatus]] = {
    MarketStatus.INITIALIZED: frozenset({MarketStatus.ACTIVE, MarketStatus.CLOSED}),
    MarketStatus.ACTIVE: frozenset({MarketStatus.INACTIVE, MarketStatus.CLOSED}),
    MarketStatus.INACTIVE: frozenset({MarketStatus.ACTIVE, MarketStatus.CLOSED}),
    MarketStatus.CLOSED: frozenset({MarketStatus.DETERMINED}),
    MarketStatus.DETERMINED: frozenset({MarketStatus.FINALIZED, MarketStatus.DISPUTED}),
    MarketStatus.DISPUTED: frozenset({MarketStatus.AMENDED}),
    MarketStatus.AMENDED: frozenset({MarketStatus.FINALIZED}),
    MarketStatus.FINALIZED: frozenset(),
}


def _move(engine: Engine, market: SimMarket, status: MarketStatus, now: int, event_type: str | None) -> None:
    if status not in TRANSITIONS[market.status]:
        raise RuntimeError(f"illegal market transition {market.status} -> {status} for {market.ticker}")
    market.status = status
    market.updated_ms = now
    if event_type is not None and engine.listeners:
        engine.emit(LifecycleEvent(market, event_type, now))


def advance(engine: Engine, now: int) -> None:
    """Apply every time-driven change due at ``now``."""
    fee_schedule.apply_due(engine, now)
    expire_orders(engine, now)
    for market in engine.markets.values():
        status = market.status
        if status is MarketStatus.INITIALIZED and now >= market.open_ms:
            _move(engine, market, MarketStatus.ACTIVE, now, None)
            status = market.status
        if status in (MarketStatus.ACTIVE, MarketStatus.INACTIVE) and now >= market.close_ms:
            close_market(engine, market, now)
        elif (
            status in (MarketStatus.DETERMINED, MarketStatus.AMENDED)
            and market.determined_ms is not None
            and now >= market.determined_ms + market.settlement_timer_s * 1000
        ):
            settle_market(engine, market, now)


def expire_orders(engine: Engine, now: int) -> None:
    heap = engine.expirations
    while heap and heap[0][0] <= now:
        _, order_id = heapq.heappop(heap)
        order = engine.orders.get(order_id)
        if (
            order is not None
            and order.is_resting
            and order.expiration_ms is not None
            and order.expiration_ms <= now
        ):
            engine.cancel_resting(order, UpdateReason.EXPIRY_CANCEL, now)


def close_market(engine: Engine, market: SimMarket, now: int) -> None:
    _cancel_all_in_market(engine, market, UpdateReason.CLOSE_CANCEL, now)
    _move(engine, market, MarketStatus.CLOSED, now, None)


def set_close_time(engine: Engine, ticker: str, close_ms: int) -> None:
    market = engine.market(ticker)
    market.close_ms = close_ms
    now = engine.clock.now_ms()
    market.updated_ms = now
    if engine.listeners:
        engine.emit(LifecycleEvent(market, "close_date_updated", now))


def deactivate(engine: Engine, ticker: str) -> None:
    market = engine.market(ticker)
    _move(engine, market, MarketStatus.INACTIVE, engine.clock.now_ms(), "deactivated")


def activate(engine: Engine, ticker: str) -> None:
    """Reactivating a paused market cancels all its resting orders, as on Kalshi."""
    market = engine.market(ticker)
    now = engine.clock.now_ms()
    _cancel_all_in_market(engine, market, UpdateReason.HALT_CANCEL, now)
    _move(engine, market, MarketStatus.ACTIVE, now, "activated")


def determine(engine: Engine, ticker: str, result: MarketResult, scalar_value: int | None = None) -> None:
    market = engine.market(ticker)
    now = engine.clock.now_ms()
    if market.status in (MarketStatus.ACTIVE, MarketStatus.INACTIVE, MarketStatus.INITIALIZED):
        close_market(engine, market, now)
    if market.status is not MarketStatus.CLOSED:
        raise errors.bad_request(f"market {ticker} cannot be determined from status {market.status}")
    value = yes_settlement_value(result, None if scalar_value is None else Price(scalar_value))
    market.result = result
    market.settlement_value = None if value is None else int(value)
    market.determined_ms = now
    _move(engine, market, MarketStatus.DETERMINED, now, "determined")


def settle_market(engine: Engine, market: SimMarket, now: int) -> None:
    """Pay every net position, write settlement rows, remove the positions."""
    assert market.result is not None
    for account in engine.accounts.values():
        pos = account.positions.get(market.ticker)
        if pos is None:
            continue
        value = None if market.settlement_value is None else Price(market.settlement_value)
        payout = int(settlement_payout(Count(pos.position), Money(pos.cost), market.result, value))
        if pos.position != 0 or pos.total_traded:
            account.settlements.append(
                Settlement(
                    ticker=market.ticker,
                    event_ticker=market.event_ticker,
                    result=market.result,
                    yes_count=max(0, pos.position),
                    no_count=max(0, -pos.position),
                    yes_total_cost=pos.cost if pos.position > 0 else 0,
                    no_total_cost=pos.cost if pos.position < 0 else 0,
                    revenue=payout,
                    value=market.settlement_value,
                    fee_cost=0,
                    settled_ms=now,
                )
            )
        account.balance += payout
        pos.realized_pnl += payout - pos.cost
        del account.positions[market.ticker]
        account.updated_ms = now
        if engine.listeners:
            closed = Position(0, 0, pos.realized_pnl, pos.fees_paid, pos.total_traded, pos.volume, now)
            engine.emit(PositionEvent(account.account_id, market.ticker, closed))
            engine.emit(BalanceEvent(account.account_id, now))
    market.open_interest = 0
    market.settled_ms = now
    _move(engine, market, MarketStatus.FINALIZED, now, "settled")


def set_trading_active(engine: Engine, active: bool) -> None:
    """Pause or resume trading exchange-wide; a pause cancels ``cancel_order_on_pause`` orders."""
    now = engine.clock.now_ms()
    engine.trading_active = active
    if active:
        return
    for order in list(engine.orders.values()):
        if order.is_resting and order.cancel_order_on_pause:
            engine.cancel_resting(order, UpdateReason.HALT_CANCEL, now)


def _cancel_all_in_market(engine: Engine, market: SimMarket, reason: UpdateReason, now: int) -> None:
    """Cancel the market's resting orders, found through its book (not a scan of every order ever
    placed, which grows without bound over a long run), oldest priority first."""
    book = engine.books.get(market.ticker)
    if book is None:
        return
    resting = {
        order.order_id: order
        for ladder in (book.yes, book.no)
        for price in list(ladder.prices)
        for order in ladder.orders_at(price)
    }
    for order in sorted(resting.values(), key=lambda o: o.priority):
        if order.is_resting:
            engine.cancel_resting(order, reason, now)
