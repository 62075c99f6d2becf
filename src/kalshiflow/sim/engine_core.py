"""The simulated exchange's state and the primitives every order operation is built from.

``EngineCore`` owns every market, book, order, account and order group, hands out ids and time
priorities, reports changes to listeners, and knows how an order rests on, leaves and shrinks on
its ladder, and how much cash it holds back. Matching (``matching.py``) and order entry
(``engine.py``) build on these primitives; none of them awaits, so each public call is atomic.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

from kalshiflow.clock import Clock
from kalshiflow.domain.fees import FeeType, trade_fee
from kalshiflow.domain.orders import (
    BookSide,
    OrderStatus,
    OutcomeSide,
    UpdateReason,
)
from kalshiflow.domain.units import Count, Price
from kalshiflow.sim import errors, order_groups
from kalshiflow.sim.book import Book
from kalshiflow.sim.events import (
    BookDelta,
    EngineEvent,
    LifecycleEvent,
    OrderEvent,
)
from kalshiflow.sim.positions import closable, opening_cost_per_contract
from kalshiflow.sim.state import (
    Account,
    FeeChange,
    OrderGroup,
    Position,
    SimEvent,
    SimMarket,
    SimOrder,
    SimSeries,
    Trade,
)

if TYPE_CHECKING:
    from kalshiflow.sim.engine import OrderRequest

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


class EngineCore:
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
        self.fee_changes: list[FeeChange] = []  # every change ever scheduled (see fee_schedule.py)
        self.pending_fee_changes: list[FeeChange] = []  # not yet in force, by scheduled time
        self._priority = 0
        # Resting orders per (account, market, side): reservations and reduce-only room look here
        # instead of scanning an account's whole order history.
        self._resting_by_key: dict[RestingKey, dict[str, SimOrder]] = {}
        self._tradable_prices: dict[str, frozenset[int]] = {}  # per market: grid.is_valid as a set
        # House accounts: participants the exchange runs itself (a recording's tape). Their cash is
        # unlimited, so their orders hold none back (``_reservation`` is 0) and every fill is covered;
        # nobody can follow their private channels, so their order, fill and position events are not
        # reported; and they keep no history (an order is known while it rests, its fills and client
        # ids are not kept). Book changes and trades they cause are reported as anyone's, and their
        # positions are kept (open interest counts them). A replay's orders are nearly all theirs:
        # the reservations, the unread events and the ever-growing history were a third of it.
        self.house_accounts: set[str] = set()
        # Called with the request before an order of any other account enters its market (a lazy
        # tape puts the orders it keeps outside the queues into them: ``sim/recorded/virtual.py``);
        # what it returns, if not None, is called once the order entry is over, raised or not.
        self.before_outside_order: Callable[[OrderRequest], Callable[[], None] | None] | None = None

    # ----------------------------------------------------------------- registry
    def new_id(self) -> str:
        """A UUID4 string from the seeded RNG; the same text as ``str(uuid.UUID(int=..., version=4))``."""
        # ``to_bytes().hex()``: a third cheaper than ``"%032x"``, the same 32 digits (a replay draws
        # two ids per recorded add).
        h = (self.rng.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET).to_bytes(16, "big").hex()
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

    def queue_position(self, order: SimOrder) -> int:
        """Contracts ahead of a resting order at its price, from the real queue it waits in."""
        book = self.books[order.ticker]
        ladder = book.yes if order.side is BookSide.BID else book.no
        return ladder.ahead_of(order, order.book_price)

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
        """Money to hold back for the part of ``order`` that would open exposure (cost + taker fee).

        A reduce-only order holds nothing: it can never open exposure (its fills are capped to the
        position it closes, and it is cancelled once nothing is left to close), so there is nothing
        to pay for. Counting it like any other order made it hold cash whenever another order on its
        side already claimed the closing room -- a hold the trader's ledger (rightly) never books,
        which calibration then reported as cash drift and reversed when the order ended.
        """
        if account.account_id in self.house_accounts or order.reduce_only:
            return 0
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

    def fee_schedule(self, event_ticker: str) -> tuple[FeeType, Fraction]:
        """The fee type and multiplier in force for an event: its overrides, else its series'."""
        event = self.events[event_ticker]
        series = self.series[event.series_ticker]
        fee_type = series.fee_type if event.fee_type_override is None else event.fee_type_override
        mult = (
            series.fee_multiplier if event.fee_multiplier_override is None else event.fee_multiplier_override
        )
        return fee_type, mult

    def _fee(self, ticker: str, is_taker: bool, own_price: int, size: int) -> int:
        fee_type, mult = self.fee_schedule(self.markets[ticker].event_ticker)
        return _cached_fee(fee_type, is_taker, own_price, size, mult.numerator, mult.denominator)

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
        if order.account_id in self.house_accounts:
            self.orders.pop(order.order_id, None)  # a house account keeps no history
        order.updated_ms = now
        order.last_update_reason = reason  # a plain cancel has none: never keep an earlier update's
        if self.listeners and order.account_id not in self.house_accounts:
            self.emit(OrderEvent(order, reason, now))

    def _amended(self, account: Account, order: SimOrder, new_client_id: str | None, now: int) -> None:
        if new_client_id and new_client_id != order.client_order_id:
            account.client_order_ids.add(new_client_id)
            order.client_order_id = new_client_id
        order.initial_count = order.fill_count + order.remaining_count
        order.updated_ms = now
        order.last_update_reason = UpdateReason.AMEND
        if self.listeners and order.account_id not in self.house_accounts:
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
        order_groups.count_fill(self, group_id, size, now)

    def _trigger_pending_groups(self, now: int) -> None:
        order_groups.trigger_pending(self, now)
