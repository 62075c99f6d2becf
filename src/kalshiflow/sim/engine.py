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
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from kalshiflow.clock import Clock
from kalshiflow.domain.fees import FeeType, post_to_balance, trade_fee
from kalshiflow.domain.orders import (
    BookSide,
    OrderStatus,
    OutcomeSide,
    SelfTradePrevention,
    TimeInForce,
    UpdateReason,
)
from kalshiflow.domain.units import PRICE_SCALE, Count, Price
from kalshiflow.sim import errors
from kalshiflow.sim.book import Book, Ladder
from kalshiflow.sim.events import (
    BookDelta,
    EngineEvent,
    FillEvent,
    LifecycleEvent,
    OrderEvent,
    PositionEvent,
    TradeEvent,
)
from kalshiflow.sim.positions import apply_fill, closable, opening_cost_per_contract
from kalshiflow.sim.state import (
    Account,
    Fill,
    OrderGroup,
    Position,
    SimEvent,
    SimMarket,
    SimOrder,
    SimSeries,
    Trade,
)

Listener = Callable[[EngineEvent], None]
MAX_TRADES_KEPT = 200_000
VOLUME_WINDOW_MS = 86_400_000  # SimMarket.volume_window spans the last 24 hours
RestingKey = tuple[str, str, BookSide]  # (account_id, ticker, side)
# uuid.UUID(version=4) forces the variant bits to 10 and the version nibble to 4.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID4_SET = (0x8000 << 48) | (4 << 76)


@lru_cache(maxsize=1 << 16)
def _cached_fee(
    fee_type: FeeType, is_taker: bool, own_price: int, size: int, mult_num: int, mult_den: int
) -> int:
    """``trade_fee`` memoized: its exact Fraction arithmetic dominated order entry."""
    multiplier = Fraction(mult_num, mult_den)
    return int(trade_fee(fee_type, is_taker, Price(own_price), Count(size), multiplier))


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


class Engine:
    def __init__(self, clock: Clock, seed: int = 0) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.series: dict[str, SimSeries] = {}
        self.events: dict[str, SimEvent] = {}
        self.markets: dict[str, SimMarket] = {}
        self.books: dict[str, Book] = {}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, SimOrder] = {}
        self.groups: dict[str, OrderGroup] = {}
        self.trades: deque[Trade] = deque(maxlen=MAX_TRADES_KEPT)
        self.fees_collected = 0  # Money taken by the exchange (trade fees + rounding fees - rebates)
        self.deposits = 0  # Money added to accounts from outside (initial balances, admin edits)
        self.trading_active = True
        self.exchange_active = True
        self.listeners: list[Listener] = []
        self.pending_group_triggers: set[str] = set()
        self.expirations: list[tuple[int, str]] = []  # heap of (expiration_ms, order_id)
        self._priority = 0
        # Resting orders per (account, market, side): reservations and reduce-only room look here
        # instead of scanning an account's whole order history.
        self._resting_by_key: dict[RestingKey, dict[str, SimOrder]] = {}
        self._tradable_prices: dict[str, frozenset[int]] = {}  # per market: grid.is_valid as a set

    # ----------------------------------------------------------------- registry
    def new_id(self) -> str:
        """A UUID4 string from the seeded RNG; the same text as ``str(uuid.UUID(int=..., version=4))``."""
        h = "%032x" % (self.rng.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def emit(self, event: EngineEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def add_account(self, account_id: str, balance: int, balance_precision: int = 100) -> Account:
        if account_id in self.accounts:
            raise ValueError(f"account {account_id!r} already exists")
        account = Account(account_id, self.new_id(), balance, balance_precision)
        self.accounts[account_id] = account
        self.deposits += balance
        return account

    def add_market(self, series: SimSeries, event: SimEvent, market: SimMarket) -> None:
        self.series.setdefault(series.ticker, series)
        self.events.setdefault(event.event_ticker, event)
        if market.ticker in self.markets:
            raise ValueError(f"market {market.ticker!r} already exists")
        self.markets[market.ticker] = market
        self.books[market.ticker] = Book()
        if self.listeners:
            self.emit(LifecycleEvent(market, "created", self.clock.now_ms()))
        self._tradable_prices[market.ticker] = frozenset(market.grid.tradable)

    def account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise errors.ExchangeError(401, "unauthorized", "unknown account") from None

    def market(self, ticker: str) -> SimMarket:
        market = self.markets.get(ticker)
        if market is None:
            raise errors.market_not_found(ticker)
        return market

    def position(self, account_id: str, ticker: str) -> Position:
        positions = self.account(account_id).positions
        pos = positions.get(ticker)
        if pos is None:
            pos = positions[ticker] = Position()
        return pos

    def own_order(self, account_id: str, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            raise errors.not_found("order", order_id)
        return order

    # ----------------------------------------------------------------- order entry
    def create_order(self, account_id: str, req: OrderRequest) -> OrderResult:
        now = self.clock.now_ms()
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
        account.client_order_ids.add(order.client_order_id)
        account.order_ids.append(order.order_id)
        self.orders[order.order_id] = order
        self._index_resting(order)
        if order.order_group_id is not None:
            self.groups[order.order_group_id].order_ids.add(order.order_id)
        if self.listeners:
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
        if self.listeners:
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
        now = self.clock.now_ms()
        market = self._check_tradable(ticker, now)
        if not self._on_grid(market, yes_price):
            raise errors.invalid_price()
        new_remaining = total_count - order.fill_count
        if new_remaining <= 0:
            raise errors.invalid_size("amended count must exceed the filled count")
        account = self.account(account_id)
        if (
            updated_client_order_id
            and updated_client_order_id != order.client_order_id
            and updated_client_order_id in account.client_order_ids
        ):
            raise errors.duplicate_client_order_id(updated_client_order_id)
        book = self.books[ticker]
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

    def _index_resting(self, order: SimOrder) -> None:
        key = (order.account_id, order.ticker, order.side)
        same_side = self._resting_by_key.get(key)
        if same_side is None:
            same_side = self._resting_by_key[key] = {}
        same_side[order.order_id] = order

    def _unindex_resting(self, order: SimOrder) -> None:
        key = (order.account_id, order.ticker, order.side)
        same_side = self._resting_by_key.get(key)
        if same_side is not None:
            same_side.pop(order.order_id, None)
            if not same_side:
                del self._resting_by_key[key]

    def _reservation(
        self, account: Account, order: SimOrder, *, yes_price: int | None = None, count: int | None = None
    ) -> int:
        """Money to hold back for the part of ``order`` that would open exposure (cost + taker fee)."""
        price = order.yes_price if yes_price is None else yes_price
        size = order.remaining_count if count is None else count
        pos = account.positions.get(order.ticker)
        room = closable(pos.position if pos else 0, order.side)
        if room <= 0:  # nothing to close: all of it opens, whatever else rests on this side
            own = opening_cost_per_contract(order.side, price)
            return own * size + self._fee(order.ticker, True, own, size)
        same_side = self._resting_by_key.get((account.account_id, order.ticker, order.side))
        if same_side:
            for other in same_side.values():
                if other is not order and other.is_resting:
                    room -= other.remaining_count
        opening = size - max(0, min(size, room))
        if opening <= 0:
            return 0
        own = opening_cost_per_contract(order.side, price)
        return own * opening + self._fee(order.ticker, True, own, opening)

    def _series_of(self, ticker: str) -> SimSeries:
        return self.series[self.events[self.markets[ticker].event_ticker].series_ticker]

    def _fee(self, ticker: str, is_taker: bool, own_price: int, size: int) -> int:
        series = self._series_of(ticker)
        mult = series.fee_multiplier
        return _cached_fee(series.fee_type, is_taker, own_price, size, mult.numerator, mult.denominator)

    # ----------------------------------------------------------------- matching
    @staticmethod
    def _would_cross(book: Book, side: BookSide, yes_price: int) -> bool:
        if side is BookSide.BID:
            best_no = book.no.best()
            return best_no is not None and best_no >= PRICE_SCALE - yes_price
        best_yes = book.yes.best()
        return best_yes is not None and best_yes >= yes_price

    @staticmethod
    def _opposite(book: Book, order: SimOrder) -> tuple[Ladder, int]:
        """The ladder an order takes from, and the lowest price there it accepts."""
        if order.side is BookSide.BID:
            return book.no, PRICE_SCALE - order.yes_price
        return book.yes, order.yes_price

    def _fillable(self, book: Book, order: SimOrder) -> int:
        ladder, limit = self._opposite(book, order)
        total = 0
        for price, _ in ladder.descending():
            if price < limit:
                break
            for maker in ladder.orders_at(price):
                if maker.account_id == order.account_id:
                    if order.self_trade_prevention is SelfTradePrevention.TAKER_AT_CROSS:
                        # A self-crossing fill-or-kill behaves like immediate-or-cancel: it trades
                        # up to its own order and keeps those fills (reference section 7.1).
                        return order.remaining_count
                    continue
                total += maker.remaining_count
                if total >= order.remaining_count:
                    return total
        return total

    def _match(self, taker: SimOrder, book: Book, market: SimMarket, now: int) -> list[Fill]:
        ladder, limit = self._opposite(book, taker)
        fills: list[Fill] = []
        while taker.remaining_count > 0:
            best = ladder.best()
            if best is None or best < limit:
                break
            maker = ladder.front(best)
            assert maker is not None, "a priced level always has a live order"
            if maker.expiration_ms is not None and maker.expiration_ms <= now:
                self._cancel(maker, UpdateReason.EXPIRY_CANCEL, now)  # expired since the last tick
                continue
            if maker.account_id == taker.account_id:
                if taker.self_trade_prevention is SelfTradePrevention.TAKER_AT_CROSS:
                    self._finish(taker, UpdateReason.SELF_TRADE_CANCEL, now)
                    break
                self._cancel(maker, UpdateReason.SELF_TRADE_CANCEL, now)
                continue
            size = min(taker.remaining_count, maker.remaining_count)
            if maker.reduce_only:
                room = closable(self.position(maker.account_id, maker.ticker).position, maker.side)
                if room <= 0:
                    self._cancel(maker, UpdateReason.REDUCE_ONLY_CANCEL, now)
                    continue
                size = min(size, room)
            if taker.reduce_only:
                room = closable(self.position(taker.account_id, taker.ticker).position, taker.side)
                if room <= 0:
                    self._finish(taker, UpdateReason.REDUCE_ONLY_CANCEL, now)
                    break
                size = min(size, room)
            yes_price = maker.yes_price  # execution at the resting order's price
            if not self._cash_covers(maker, size, yes_price, False):
                # Its position was closed elsewhere, so this fill would open exposure unpaid for.
                self._cancel(maker, UpdateReason.MARGIN_CANCEL, now)
                continue
            if not self._cash_covers(taker, size, yes_price, True):
                self._finish(taker, UpdateReason.MARGIN_CANCEL, now)
                break
            trade_id = self.new_id()
            ladder.reduce(best, size)
            if self.listeners:
                self._emit_delta(maker, best, -size, now)
            self._execute(maker, size, yes_price, False, trade_id, now)
            fills.append(self._execute(taker, size, yes_price, True, trade_id, now))
            if not maker.is_resting:
                ladder.mark_dead(best)
            trade = Trade(trade_id, market.ticker, yes_price, size, taker.side, now)
            self.trades.append(trade)
            market.last_price = yes_price
            market.volume += size
            window = market.volume_window
            window.append((now, size))
            while window[0][0] <= now - VOLUME_WINDOW_MS:  # keep only the last 24 h
                window.popleft()
            if self.listeners:
                self.emit(TradeEvent(trade_id, market.ticker, yes_price, size, taker.side, now))
        return fills

    def _cash_covers(self, order: SimOrder, size: int, yes_price: int, is_taker: bool) -> bool:
        """Whether the owner can pay for the part of this fill that opens exposure."""
        pos = self.accounts[order.account_id].positions.get(order.ticker)
        opening = size - min(size, closable(pos.position if pos else 0, order.side))
        if opening <= 0:
            return True
        own_price = opening_cost_per_contract(order.side, yes_price)
        cost = own_price * opening + self._fee(order.ticker, is_taker, own_price, size)
        return cost <= self.accounts[order.account_id].balance + order.reserved

    def _execute(
        self, order: SimOrder, size: int, yes_price: int, is_taker: bool, trade_id: str, now: int
    ) -> Fill:
        """Book ``size`` contracts of ``order`` at ``yes_price``: order, cash, position, group window."""
        account = self.accounts[order.account_id]
        own_price = opening_cost_per_contract(order.side, yes_price)
        fee = self._fee(order.ticker, is_taker, own_price, size)
        pos = self.position(order.account_id, order.ticker)
        # The reservation covers only the part of the order that opens exposure, so release what
        # this fill's opening part needs at the order's limit (closing contracts need no cash).
        if size == order.remaining_count:
            release = order.reserved
        else:
            opening = size - min(size, closable(pos.position, order.side))
            limit_own = opening_cost_per_contract(order.side, order.yes_price)
            needed = limit_own * opening + self._fee(order.ticker, True, limit_own, opening) if opening else 0
            release = min(order.reserved, needed)
        order.reserved -= release
        account.balance += release
        long_before = max(0, pos.position)
        exact = apply_fill(pos, order.side, yes_price, size, fee, now)
        self.markets[order.ticker].open_interest += max(0, pos.position) - long_before
        if exact % account.balance_precision == 0:
            # Nothing to round, so no rounding fee and no rebate (the accumulator stays below a cent).
            account.balance += exact
            self.fees_collected += fee
        else:
            posted = post_to_balance(exact, account.balance_precision, order.rounding_accumulator)
            order.rounding_accumulator = posted.accumulator
            account.balance += posted.posted
            self.fees_collected += fee + posted.rounding_fee - posted.rebate
        account.updated_ms = now
        order.fill_count += size
        order.remaining_count -= size
        cost = own_price * size
        if is_taker:
            order.taker_fill_cost += cost
            order.taker_fees += fee
        else:
            order.maker_fill_cost += cost
            order.maker_fees += fee
        order.updated_ms = now
        order.last_update_reason = UpdateReason.TRADE
        if order.remaining_count == 0:
            order.status = OrderStatus.EXECUTED
            account.balance += order.reserved
            order.reserved = 0
            self._unindex_resting(order)
        fill = Fill(
            trade_id,
            order.order_id,
            order.client_order_id,
            order.account_id,
            order.ticker,
            order.side,
            yes_price,
            size,
            is_taker,
            fee,
            now,
            pos.position,
            order.subaccount,
        )
        account.fills.append(fill)
        if order.order_group_id is not None:
            self._count_group_fill(order.order_group_id, size, now)
        if self.listeners:
            self.emit(FillEvent(fill))
            self.emit(OrderEvent(order, UpdateReason.TRADE, now))
            self.emit(PositionEvent(order.account_id, order.ticker, pos))
        return fill

    def _after_trades(self, fills: list[Fill], now: int) -> None:
        if fills:
            self._trigger_pending_groups(now)

    # ----------------------------------------------------------------- resting and cancelling
    def _rest(self, order: SimOrder, book: Book, now: int) -> None:
        ladder = book.yes if order.side is BookSide.BID else book.no
        price = order.book_price
        ladder.add(order, price)
        if self.listeners:
            self._emit_delta(order, price, order.remaining_count, now)

    def _unrest(self, order: SimOrder, now: int) -> None:
        """Take a resting order's size off its ladder (it stays RESTING; caller re-rests or finishes it)."""
        book = self.books[order.ticker]
        ladder = book.yes if order.side is BookSide.BID else book.no
        price = order.book_price
        ladder.reduce(price, order.remaining_count)
        ladder.mark_dead(price)  # the queue entry dies when the order gets a new priority below
        if self.listeners:
            self._emit_delta(order, price, -order.remaining_count, now)

    def _shrink(self, order: SimOrder, amount: int, now: int) -> None:
        """Reduce a resting order in place (keeps time priority) and release its reservation pro rata."""
        book = self.books[order.ticker]
        ladder = book.yes if order.side is BookSide.BID else book.no
        release = order.reserved * amount // order.remaining_count
        order.reserved -= release
        self.accounts[order.account_id].balance += release
        ladder.reduce(order.book_price, amount)
        order.remaining_count -= amount
        if self.listeners:
            self._emit_delta(order, order.book_price, -amount, now)

    def cancel_resting(self, order: SimOrder, reason: UpdateReason, now: int) -> int:
        """Cancel a resting order on the exchange's own initiative (close, expiry, group, pause)."""
        return self._cancel(order, reason, now)

    def _cancel(self, order: SimOrder, reason: UpdateReason, now: int) -> int:
        """Cancel a resting order that sits on the book."""
        reduced_by = order.remaining_count
        book = self.books[order.ticker]
        ladder = book.yes if order.side is BookSide.BID else book.no
        ladder.reduce(order.book_price, reduced_by)
        if self.listeners:
            self._emit_delta(order, order.book_price, -reduced_by, now)
        self._finish(order, reason, now)
        ladder.mark_dead(order.book_price)
        return reduced_by

    def _finish(self, order: SimOrder, reason: UpdateReason, now: int) -> None:
        """End an order that is not (or no longer) on the book: cancel its remainder, free its cash."""
        account = self.accounts[order.account_id]
        account.balance += order.reserved
        order.reserved = 0
        order.remaining_count = 0
        order.status = (
            OrderStatus.EXECUTED if order.fill_count == order.initial_count else OrderStatus.CANCELED
        )
        self._unindex_resting(order)
        order.updated_ms = now
        if reason is not UpdateReason.CREATED:
            order.last_update_reason = reason
        if self.listeners:
            self.emit(OrderEvent(order, reason, now))

    def _amended(self, account: Account, order: SimOrder, new_client_id: str | None, now: int) -> None:
        if new_client_id and new_client_id != order.client_order_id:
            account.client_order_ids.add(new_client_id)
            order.client_order_id = new_client_id
        order.initial_count = order.fill_count + order.remaining_count
        order.updated_ms = now
        order.last_update_reason = UpdateReason.AMEND
        if self.listeners:
            self.emit(OrderEvent(order, UpdateReason.AMEND, now))

    def _emit_delta(self, order: SimOrder, book_price: int, delta: int, now: int) -> None:
        """Report a size change on the ladder ``order`` rests on, tagged with the order's owner."""
        side = OutcomeSide.YES if order.side is BookSide.BID else OutcomeSide.NO
        self.emit(
            BookDelta(
                order.ticker,
                side,
                book_price,
                delta,
                now,
                order.account_id,
                order.client_order_id,
                order.subaccount,
            )
        )

    def _next_priority(self) -> int:
        self._priority += 1
        return self._priority

    # ----------------------------------------------------------------- order groups (see order_groups.py)
    def _count_group_fill(self, group_id: str, size: int, now: int) -> None:
        from kalshiflow.sim.order_groups import count_fill

        count_fill(self, group_id, size, now)

    def _trigger_pending_groups(self, now: int) -> None:
        from kalshiflow.sim.order_groups import trigger_pending

        trigger_pending(self, now)
