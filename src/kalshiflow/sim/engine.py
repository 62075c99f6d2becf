"""The simulated exchange's matching engine: order entry, matching, cancels, amends.

One synchronous object owns every market, book, order and account; each public method is one
atomic state change (no awaits), validates everything before it mutates anything (an
``ExchangeError`` leaves the state untouched), and reports what changed to its listeners as
``kalshiflow.sim.events`` values.

Semantics follow Kalshi's V2 order API (reference sections 6, 7, 14): one YES book with bids on two
ladders, price-time priority, execution at the resting order's price, time in force, self-trade
prevention, post-only, reduce-only, expirations, order groups, and cash reserved for the part of a
resting order that would open exposure.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from kalshiflow.domain.orders import (
    BookSide,
    SelfTradePrevention,
    TimeInForce,
    UpdateReason,
)
from kalshiflow.sim import errors, fee_schedule
from kalshiflow.sim.events import (
    OrderEvent,
)
from kalshiflow.sim.matching import MatchingEngine
from kalshiflow.sim.positions import closable
from kalshiflow.sim.state import (
    Account,
    Fill,
    SimMarket,
    SimOrder,
)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated V2 create request in exact units (the server parses the JSON)."""

    ticker: str
    side: BookSide
    yes_price: int
    count: int
    time_in_force: TimeInForce
    self_trade_prevention: SelfTradePrevention
    client_order_id: str = ""
    post_only: bool = False
    reduce_only: bool = False
    cancel_order_on_pause: bool = False
    expiration_ms: int | None = None
    order_group_id: str | None = None
    subaccount: int = 0


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What a create or amend did: the order and the fills it took as taker."""

    order: SimOrder
    fills: tuple[Fill, ...]
    ts_ms: int


class Engine(MatchingEngine):
    """Order entry: the public V2 operations, each validated in full before it changes anything."""

    # ----------------------------------------------------------------- order entry
    def create_order(self, account_id: str, req: OrderRequest) -> OrderResult:
        hook = self.before_outside_order
        if hook is not None and account_id not in self.house_accounts:
            after = hook(req)
            if after is not None:
                try:
                    return self._create_order(account_id, req)
                finally:
                    after()
        return self._create_order(account_id, req)

    def _create_order(self, account_id: str, req: OrderRequest) -> OrderResult:
        now = self.clock.now_ms()
        # A fee change due by now is in force for this order's fills and reservation, whether or
        # not the lifecycle tick has run since its time.
        fee_schedule.apply_due(self, now)
        account = self.account(account_id)
        market = self._check_tradable(req.ticker, now)
        count = self._validate_create(account, market, req, now)
        book = self.books[req.ticker]
        if req.post_only and self._would_cross(book, req.side, req.yes_price):
            raise errors.bad_request(
                "post only order would cross", code="invalid_order", details="post only cross"
            )
        order = SimOrder(
            order_id=self.new_id(),
            client_order_id=req.client_order_id or self.new_id(),
            account_id=account_id,
            ticker=req.ticker,
            side=req.side,
            yes_price=req.yes_price,
            initial_count=count,
            time_in_force=req.time_in_force,
            self_trade_prevention=req.self_trade_prevention,
            created_ms=now,
            priority=self._next_priority(),
            post_only=req.post_only,
            reduce_only=req.reduce_only,
            cancel_order_on_pause=req.cancel_order_on_pause,
            expiration_ms=req.expiration_ms,
            order_group_id=req.order_group_id,
            subaccount=req.subaccount,
            remaining_count=count,
            updated_ms=now,
        )
        reserve = self._reservation(account, order)
        if reserve > account.balance:
            raise errors.insufficient_balance()
        # -- validated: from here on the request takes effect --
        account.balance -= reserve
        order.reserved = reserve
        if account_id not in self.house_accounts:  # a house account keeps no history
            account.client_order_ids.add(order.client_order_id)
            account.order_ids.append(order.order_id)
        self.orders[order.order_id] = order
        self._index_resting(order)
        if order.order_group_id is not None:
            self.groups[order.order_group_id].order_ids.add(order.order_id)
        if self.listeners and account_id not in self.house_accounts:
            self.emit(OrderEvent(order, UpdateReason.CREATED, now))
        if req.time_in_force is TimeInForce.FILL_OR_KILL and self._fillable(book, order) < count:
            self._finish(order, UpdateReason.CREATED, now)
            return OrderResult(order, (), now)
        fills = self._match(order, book, market, now)
        if order.is_resting:
            if req.time_in_force is TimeInForce.GOOD_TILL_CANCELED:
                self._rest(order, book, now)
                if order.expiration_ms is not None:
                    heapq.heappush(self.expirations, (order.expiration_ms, order.order_id))
            else:
                self._finish(order, UpdateReason.CREATED, now)
        self._after_trades(fills, now)
        return OrderResult(order, tuple(fills), now)

    def cancel_order(
        self, account_id: str, order_id: str, reason: UpdateReason = UpdateReason.CREATED
    ) -> int:
        """Cancel a resting order; returns the count it had left (``reduced_by``)."""
        order = self.own_order(account_id, order_id)
        if not order.is_resting:
            raise errors.not_found("resting order", order_id)
        now = self.clock.now_ms()
        self._check_market_accepts_cancels(order.ticker, now)
        return self._cancel(order, reason or UpdateReason.CREATED, now)

    def decrease_order(
        self, account_id: str, order_id: str, reduce_by: int | None, reduce_to: int | None
    ) -> SimOrder:
        order = self.own_order(account_id, order_id)
        if not order.is_resting:
            raise errors.not_found("resting order", order_id)
        if (reduce_by is None) == (reduce_to is None):
            raise errors.bad_request("exactly one of reduce_by and reduce_to is required")
        now = self.clock.now_ms()
        self._check_market_accepts_cancels(order.ticker, now)
        target = order.remaining_count - reduce_by if reduce_by is not None else reduce_to
        assert target is not None
        if (reduce_by is not None and reduce_by <= 0) or target < 0 or target >= order.remaining_count:
            raise errors.invalid_size("decrease must reduce the remaining count and leave it >= 0")
        if target == 0:
            self._cancel(order, UpdateReason.DECREASE, now)
            return order
        self._shrink(order, order.remaining_count - target, now)
        order.updated_ms = now
        order.last_update_reason = UpdateReason.DECREASE
        if self.listeners and account_id not in self.house_accounts:
            self.emit(OrderEvent(order, UpdateReason.DECREASE, now))
        return order

    def amend_order(
        self,
        account_id: str,
        order_id: str,
        ticker: str,
        side: BookSide,
        yes_price: int,
        total_count: int,
        updated_client_order_id: str | None = None,
    ) -> OrderResult:
        """Change price and/or total size. A price change or a size increase loses time priority."""
        order = self.own_order(account_id, order_id)
        if order.ticker != ticker:
            raise errors.bad_request("ticker does not match the order", code="order_ticker_mismatch")
        if order.side is not side:
            raise errors.bad_request("side does not match the order", code="order_side_mismatch")
        if not order.is_resting:
            raise errors.not_found("resting order", order_id)
        market, new_remaining, now = self._amend_market_checks(order, yes_price, total_count)
        account = self.account(account_id)
        if (
            updated_client_order_id
            and updated_client_order_id != order.client_order_id
            and updated_client_order_id in account.client_order_ids
        ):
            raise errors.duplicate_client_order_id(updated_client_order_id)
        return self._amend_checked(
            account, order, market, yes_price, new_remaining, updated_client_order_id, now
        )

    def amend_own_resting(self, order: SimOrder, yes_price: int, total_count: int) -> OrderResult:
        """``amend_order`` for an in-process participant holding ``order``: its own, resting, same
        ticker and side, no new client id. Those checks are what the caller already knows; the
        ones the market's state decides (paused, closed, off grid, size) still run, so it fails
        exactly as ``amend_order`` would. Makers amend tens of thousands of times an hour."""
        market, new_remaining, now = self._amend_market_checks(order, yes_price, total_count)
        return self._amend_checked(
            self.accounts[order.account_id], order, market, yes_price, new_remaining, None, now
        )

    def _amend_market_checks(
        self, order: SimOrder, yes_price: int, total_count: int
    ) -> tuple[SimMarket, int, int]:
        """The amend checks that depend on the market, not on who asks: (market, new remaining, now)."""
        now = self.clock.now_ms()
        fee_schedule.apply_due(self, now)  # as in ``create_order``
        market = self._check_tradable(order.ticker, now)
        if not self._on_grid(market, yes_price):
            raise errors.invalid_price()
        new_remaining = total_count - order.fill_count
        if new_remaining <= 0:
            raise errors.invalid_size("amended count must exceed the filled count")
        return market, new_remaining, now

    def _amend_checked(
        self,
        account: Account,
        order: SimOrder,
        market: SimMarket,
        yes_price: int,
        new_remaining: int,
        updated_client_order_id: str | None,
        now: int,
    ) -> OrderResult:
        """The amend itself, every request check passed (from here on the amend takes effect,
        except for a reservation the balance cannot cover)."""
        book = self.books[order.ticker]
        if yes_price == order.yes_price and new_remaining <= order.remaining_count:
            if new_remaining < order.remaining_count:
                self._shrink(order, order.remaining_count - new_remaining, now)
            self._amended(account, order, updated_client_order_id, now)
            return OrderResult(order, (), now)
        # Re-price or grow: leave the book, re-reserve, match as a new taker, rest at the back.
        old_reserved = order.reserved
        candidate_reserve = self._reservation(account, order, yes_price=yes_price, count=new_remaining)
        if candidate_reserve > account.balance + old_reserved:
            raise errors.insufficient_balance()
        self._unrest(order, now)
        account.balance += old_reserved - candidate_reserve
        order.reserved = candidate_reserve
        order.yes_price = yes_price
        order.remaining_count = new_remaining
        order.priority = self._next_priority()
        self._amended(account, order, updated_client_order_id, now)
        fills = self._match(order, book, market, now)
        if order.is_resting:
            self._rest(order, book, now)
        self._after_trades(fills, now)
        return OrderResult(order, tuple(fills), now)

    def cancel_all(self, account_id: str, subaccount: int | None = None) -> int:
        now = self.clock.now_ms()
        account = self.account(account_id)
        cancelled = 0
        for oid in list(account.order_ids):
            order = self.orders[oid]
            if not order.is_resting or (subaccount is not None and order.subaccount != subaccount):
                continue
            if self.markets[order.ticker].is_trading:
                self._cancel(order, UpdateReason.CREATED, now)
                cancelled += 1
        return cancelled

    # ----------------------------------------------------------------- validation
    def _check_tradable(self, ticker: str, now: int) -> SimMarket:
        market = self.market(ticker)
        if not self.exchange_active or not self.trading_active:
            raise errors.trading_paused()
        if not market.is_trading or now >= market.close_ms:
            raise errors.market_closed(ticker)
        return market

    def _check_market_accepts_cancels(self, ticker: str, now: int) -> None:
        market = self.market(ticker)
        if not self.exchange_active:
            raise errors.trading_paused()
        if not market.is_trading or now >= market.close_ms:
            raise errors.market_closed(ticker)

    def _validate_create(self, account: Account, market: SimMarket, req: OrderRequest, now: int) -> int:
        if not self._on_grid(market, req.yes_price):
            raise errors.invalid_price()
        if req.count <= 0:
            raise errors.invalid_size("count must be positive")
        if req.expiration_ms is not None:
            if req.time_in_force is not TimeInForce.GOOD_TILL_CANCELED:
                raise errors.bad_request("expiration_time is only allowed with good_till_canceled")
            if req.expiration_ms <= now:
                raise errors.bad_request("Expiration timestamp must be in the future")
        if req.post_only and req.time_in_force is not TimeInForce.GOOD_TILL_CANCELED:
            raise errors.bad_request("post_only requires good_till_canceled")
        if req.client_order_id and req.client_order_id in account.client_order_ids:
            raise errors.duplicate_client_order_id(req.client_order_id)
        if req.order_group_id is not None:
            group = self.groups.get(req.order_group_id)
            if group is None or group.account_id != account.account_id:
                raise errors.not_found("order group", req.order_group_id)
            if group.triggered:
                raise errors.bad_request(
                    "order group is triggered; reset it before placing orders", code="order_group_triggered"
                )
        count = req.count
        if req.reduce_only:
            pos = account.positions.get(req.ticker)
            room = closable(pos.position if pos else 0, req.side) - self._resting_reducing(account, req)
            if room <= 0:
                raise errors.bad_request(
                    "reduce_only order would not reduce the position", details="reduce only"
                )
            count = min(count, room)
        return count

    def _on_grid(self, market: SimMarket, yes_price: int) -> bool:
        prices = self._tradable_prices.get(market.ticker)
        if prices is None:  # a market whose grid was swapped after listing
            return market.grid.is_valid(yes_price)
        return yes_price in prices

    def _resting_reducing(self, account: Account, req: OrderRequest) -> int:
        same_side = self._resting_by_key.get((account.account_id, req.ticker, req.side))
        if not same_side:
            return 0
        return sum(o.remaining_count for o in same_side.values() if o.is_resting and o.reduce_only)
