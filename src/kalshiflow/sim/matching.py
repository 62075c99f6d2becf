"""Matching: an incoming order against the opposite ladder, with price-time priority.

Execution is at the resting order's price. Self-trade prevention, reduce-only caps, expiry and cash
cover are checked per maker before each fill; a fill updates both orders, both accounts' cash and
positions, fees, order-group windows and the market's statistics, and is reported to listeners.
"""

from __future__ import annotations

from kalshiflow.domain.fees import post_to_balance
from kalshiflow.domain.orders import (
    BookSide,
    OrderStatus,
    SelfTradePrevention,
    UpdateReason,
)
from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim.book import Book, Ladder
from kalshiflow.sim.engine_core import VOLUME_WINDOW_MS, EngineCore
from kalshiflow.sim.events import (
    FillEvent,
    OrderEvent,
    PositionEvent,
    TradeEvent,
)
from kalshiflow.sim.positions import apply_fill, closable, opening_cost_per_contract
from kalshiflow.sim.state import (
    Account,
    Fill,
    Position,
    SimMarket,
    SimOrder,
    Trade,
)


class MatchingEngine(EngineCore):
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
            self._record_trade(market, trade_id, yes_price, size, taker.side, now)
        return fills

    def _record_trade(
        self, market: SimMarket, trade_id: str, yes_price: int, size: int, taker_side: BookSide, now: int
    ) -> None:
        """A trade's public record: the trade list, the market's last price, volume and 24 h window."""
        self.trades.append(Trade(trade_id, market.ticker, yes_price, size, taker_side, now))
        market.last_price = yes_price
        market.volume += size
        window = market.volume_window
        window.append((now, size))
        while window[0][0] <= now - VOLUME_WINDOW_MS:  # keep only the last 24 h
            window.popleft()
        if self.listeners:
            self.emit(TradeEvent(trade_id, market.ticker, yes_price, size, taker_side, now))

    def _cash_covers(self, order: SimOrder, size: int, yes_price: int, is_taker: bool) -> bool:
        """Whether the owner can pay for the part of this fill that opens exposure."""
        if order.account_id in self.house_accounts:
            return True  # unlimited cash
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
        order.rounding_accumulator = self._book_fill(
            account, pos, order.ticker, order.side, yes_price, size, fee, order.rounding_accumulator, now
        )
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
            if order.account_id in self.house_accounts:
                del self.orders[order.order_id]  # a house account keeps no history
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
        if order.account_id not in self.house_accounts:
            account.fills.append(fill)
        if order.order_group_id is not None:
            self._count_group_fill(order.order_group_id, size, now)
        if self.listeners and order.account_id not in self.house_accounts:
            self.emit(FillEvent(fill))
            self.emit(OrderEvent(order, UpdateReason.TRADE, now))
            self.emit(PositionEvent(order.account_id, order.ticker, pos))
        return fill

    def _book_fill(
        self,
        account: Account,
        pos: Position,
        ticker: str,
        side: BookSide,
        yes_price: int,
        size: int,
        fee: int,
        accumulator: int,
        now: int,
    ) -> int:
        """One side of a fill into its account's cash and position, the market's open interest and
        the exchange's fees; returns the order's rounding accumulator after it. Matching books every
        fill here, and so does the lazy tape's own trade (``sim/recorded/virtual.py``)."""
        long_before = max(0, pos.position)
        exact = apply_fill(pos, side, yes_price, size, fee, now)
        self.markets[ticker].open_interest += max(0, pos.position) - long_before
        if exact % account.balance_precision == 0:
            # Nothing to round, so no rounding fee and no rebate (the accumulator stays below a cent).
            account.balance += exact
            self.fees_collected += fee
        else:
            posted = post_to_balance(exact, account.balance_precision, accumulator)
            accumulator = posted.accumulator
            account.balance += posted.posted
            self.fees_collected += fee + posted.rounding_fee - posted.rebate
        account.updated_ms = now
        return accumulator

    def _after_trades(self, fills: list[Fill], now: int) -> None:
        if fills:
            self._trigger_pending_groups(now)
