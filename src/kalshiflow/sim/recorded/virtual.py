"""The tape's resting orders of a market nobody else trades in, kept outside the engine's queues.

Why: in a replay most markets never see an order of ours, yet every recorded change there went
through the engine's full order entry (a ``SimOrder``, its checks, registries and queue entry) only
to produce the one book change the trader reads. While a market holds no order but the tape's, the
queue order is all that matters of those orders, so ``VirtualLevels`` keeps each level's tape orders
as a FIFO of ``Resting`` (ids, priority, sizes, times: what the order would hold) and makes exactly the engine's other effects: the same ids drawn and priorities taken for an add
(the engine's generator and counter are shared by every order), the ladder's aggregate size
(``Ladder.add_size`` / ``reduce``, which every reader of the book uses: snapshots, REST books,
market prices), the same ``BookDelta`` per order and in the same order, the same market checks.

A recorded trade of a whole level at the touch is booked here too (``trade``): the tape's orders
there fill a tape taker with every effect the engine's matching would have (ids, fills, fees,
positions, open interest, volume, the trade and its events), none of them ever queued.

Anything else that needs real orders materializes them first (``materialize``): ``SimOrder`` values
equal to what order entry would have built, queued in priority order. The tape does so for a level
it trades at otherwise (the trade runs through the engine's matching), and for the whole market
(releases it) before an add that would cross (matching) or before any other account's order
enters the market (``EngineCore.before_outside_order``). Nothing else reads
the queues of a market in a replay: snapshots, REST books and market prices read the aggregates;
queue positions are asked of our orders only, which live in released markets.

A released market in which no other account's order rests any more (ours were cancelled, filled or
expired) is followed again (``park``): its tape orders leave the engine's queues for these FIFOs,
each keeping its ``SimOrder`` (fills, fees and rounding carried, which a fresh value would lose) to
go back into the queue as it was. A trader that quotes now and then keeps most markets lazy.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce, UpdateReason
from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim import fee_schedule
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.events import BookDelta
from kalshiflow.sim.positions import opening_cost_per_contract
from kalshiflow.sim.state import SimOrder

_SIDES: Final = (OutcomeSide.YES, OutcomeSide.NO)


def _priority(order: SimOrder) -> int:
    return order.priority


class Resting:
    """A tape order kept outside the engine: what its ``SimOrder`` would hold that can differ."""

    __slots__ = (
        "client_order_id",
        "created_ms",
        "initial",
        "order",
        "order_id",
        "priority",
        "reason",
        "remaining",
        "updated_ms",
    )

    def __init__(self, order_id: str, client_order_id: str, priority: int, count: int, now: int) -> None:
        self.order_id = order_id
        self.client_order_id = client_order_id
        self.priority = priority
        self.initial = self.remaining = count
        self.created_ms = self.updated_ms = now
        self.reason = UpdateReason.CREATED
        self.order: SimOrder | None = None  # the engine's value, for an order ``park`` took out

    @classmethod
    def of(cls, order: SimOrder) -> Resting:
        """A resting engine order, kept outside with the ``SimOrder`` itself."""
        v = cls(
            order.order_id, order.client_order_id, order.priority, order.remaining_count, order.created_ms
        )
        v.initial = order.initial_count
        v.updated_ms = order.updated_ms
        v.reason = order.last_update_reason
        v.order = order
        return v


Queue = deque[Resting]


class VirtualLevels:
    """The tape account's orders of the lazy markets, per market, ladder and price."""

    def __init__(self, engine: Engine, account_id: str) -> None:
        self.engine = engine
        self.account_id = account_id
        self.markets: dict[str, dict[OutcomeSide, dict[int, Queue]]] = {}
        self.parked = 0  # released markets followed again (``park``)
        self.reparked = 0  # markets whose levels an order that did not stay took in (``repark``)

    def follow(self, ticker: str) -> None:
        """``ticker`` is listed and holds no order yet: keep its tape orders here."""
        self.markets[ticker] = {OutcomeSide.YES: {}, OutcomeSide.NO: {}}

    def shown(self, ticker: str, side: OutcomeSide, price: int) -> int:
        queue = self.markets[ticker][side].get(price)
        return sum(v.remaining for v in queue) if queue else 0

    def add(self, ticker: str, side: OutcomeSide, price: int, count: int, now: int) -> None:
        """A resting tape order at the back of the queue, as ``create_order`` rests one that
        crosses nothing (the caller checked): ids and priority drawn in its order, the delta."""
        engine = self.engine
        order_id = engine.new_id()
        client_id = engine.new_id()
        priority = engine._next_priority()
        book = engine.books[ticker]
        (book.yes if side is OutcomeSide.YES else book.no).add_size(price, count)
        levels = self.markets[ticker][side]
        queue = levels.get(price)
        if queue is None:
            queue = levels[price] = deque()
        queue.append(Resting(order_id, client_id, priority, count, now))
        self._delta(ticker, side, price, count, now, client_id)

    def cancel(self, ticker: str, side: OutcomeSide, price: int, amount: int, *, front: bool) -> int:
        """Take ``amount`` off the level's tape orders from the front or the back, order by order
        as ``Tape._cancel`` does through ``cancel_order`` / ``decrease_order``; returns the number
        of orders cancelled or decreased."""
        engine = self.engine
        levels = self.markets[ticker][side]
        queue = levels.get(price)
        if not queue or amount <= 0:
            return 0
        book = engine.books[ticker]
        ladder = book.yes if side is OutcomeSide.YES else book.no
        # Checked once: what ``cancel_order`` checks before each of these cancels (time and the
        # market's state) cannot change between them, so the first one raises if any would.
        now = engine.clock.now_ms()
        engine._check_market_accepts_cancels(ticker, now)
        touched = 0
        while amount > 0 and queue:
            v = queue[0] if front else queue[-1]
            remaining = v.remaining
            if remaining <= amount:
                amount -= remaining
                ladder.reduce(price, remaining)
                self._delta(ticker, side, price, -remaining, now, v.client_order_id)
                if front:
                    queue.popleft()
                else:
                    queue.pop()
            else:
                ladder.reduce(price, amount)
                self._delta(ticker, side, price, -amount, now, v.client_order_id)
                v.remaining = remaining - amount
                v.updated_ms = now
                v.reason = UpdateReason.DECREASE
                amount = 0
            touched += 1
        if not queue:
            del levels[price]
        return touched

    def prices(self, ticker: str, side: OutcomeSide) -> list[int]:
        return list(self.markets[ticker][side])

    def materialize(self, ticker: str, side: OutcomeSide | None = None, price: int | None = None) -> None:
        """Put the tape orders of ``ticker`` (of one level, when given) into the engine's queues as
        the ``SimOrder`` values order entry would have made (a parked order: its own, brought up to
        date); the market stays lazy for the rest."""
        for level_side in _SIDES:
            if side is None or level_side is side:
                levels = self.markets[ticker][level_side]
                self._materialize(ticker, level_side, [p for p in levels if price is None or p == price])

    def materialize_reachable(self, ticker: str, book_side: BookSide, yes_price: int) -> None:
        """``materialize`` the levels an order of another account for ``book_side`` at
        ``yes_price`` can meet: the other ladder's levels at or above its limit there (what it can
        match, what a fill-or-kill counts) and its own price's level (it would rest behind those)."""
        market = self.markets[ticker]
        if book_side is BookSide.BID:
            other, limit, own, own_price = OutcomeSide.NO, PRICE_SCALE - yes_price, OutcomeSide.YES, yes_price
        else:
            other, limit, own, own_price = OutcomeSide.YES, yes_price, OutcomeSide.NO, PRICE_SCALE - yes_price
        self._materialize(ticker, other, [p for p in market[other] if p >= limit])
        if own_price in market[own]:
            self._materialize(ticker, own, [own_price])

    def _materialize(self, ticker: str, side: OutcomeSide, prices: list[int]) -> None:
        engine = self.engine
        book = engine.books[ticker]
        levels = self.markets[ticker][side]
        ladder = book.yes if side is OutcomeSide.YES else book.no
        book_side = BookSide.BID if side is OutcomeSide.YES else BookSide.ASK
        for level_price in prices:
            yes_price = level_price if side is OutcomeSide.YES else PRICE_SCALE - level_price
            queue = ladder.levels[level_price].queue
            for v in levels.pop(level_price):
                order = v.order
                if order is not None:  # back as it left, with what ``cancel`` changed since
                    order.remaining_count = v.remaining
                    order.updated_ms = v.updated_ms
                    order.last_update_reason = v.reason
                else:
                    order = SimOrder(
                        order_id=v.order_id,
                        client_order_id=v.client_order_id,
                        account_id=self.account_id,
                        ticker=ticker,
                        side=book_side,
                        yes_price=yes_price,
                        initial_count=v.initial,
                        time_in_force=TimeInForce.GOOD_TILL_CANCELED,
                        self_trade_prevention=SelfTradePrevention.MAKER,
                        created_ms=v.created_ms,
                        priority=v.priority,
                        remaining_count=v.remaining,
                        updated_ms=v.updated_ms,
                        last_update_reason=v.reason,
                    )
                queue.append((order.priority, order))
                engine.orders[order.order_id] = order
                engine._index_resting(order)

    def trade(self, ticker: str, side: OutcomeSide, price: int, taker_id: str) -> None:
        """The whole level trades against one immediate-or-cancel order of house account
        ``taker_id`` without entering the queues, with every effect of ``create_order`` for it
        after ``materialize``: the taker's ids and priority drawn, then per tape order in priority
        order its trade id, the level's size, ``BookDelta``, both sides' fees, cash, positions and
        open interest (``_book_fill``), the trade's record and ``TradeEvent``, and the order groups'
        check after trades. The caller checked the order's price and that this level is the
        ladder's best. Why: a recorded trade at the touch was the engine's costliest replay step
        (two ``SimOrder`` values per fill, the taker's entry, its matching loop) for orders no one
        else can see; ``test_tape_trades`` compares it with that path."""
        engine = self.engine
        now = engine.clock.now_ms()
        fee_schedule.apply_due(engine, now)
        taker_account = engine.account(taker_id)
        market = engine._check_tradable(ticker, now)
        engine.new_id()  # the taker's order id
        engine.new_id()  # and client order id (the tape's request names none)
        engine._next_priority()
        queue = self.markets[ticker][side].pop(price)
        book = engine.books[ticker]
        if side is OutcomeSide.YES:
            ladder, maker_side, taker_side, yes_price = book.yes, BookSide.BID, BookSide.ASK, price
        else:
            ladder, maker_side, taker_side, yes_price = (
                book.no,
                BookSide.ASK,
                BookSide.BID,
                PRICE_SCALE - price,
            )
        maker_account = engine.accounts[self.account_id]
        maker_pos = engine.position(self.account_id, ticker)
        taker_pos = engine.position(taker_id, ticker)
        maker_own = opening_cost_per_contract(maker_side, yes_price)
        taker_own = opening_cost_per_contract(taker_side, yes_price)
        taker_rounding = 0  # the taker's accumulator, carried from fill to fill as its order's
        listeners = engine.listeners
        for v in queue:
            size = v.remaining
            trade_id = engine.new_id()
            ladder.reduce(price, size)
            if listeners:
                engine.emit(BookDelta(ticker, side, price, -size, now, self.account_id, v.client_order_id, 0))
            maker_rounding = 0 if v.order is None else v.order.rounding_accumulator
            fee = engine._fee(ticker, False, maker_own, size)
            engine._book_fill(
                maker_account, maker_pos, ticker, maker_side, yes_price, size, fee, maker_rounding, now
            )
            fee = engine._fee(ticker, True, taker_own, size)
            taker_rounding = engine._book_fill(
                taker_account, taker_pos, ticker, taker_side, yes_price, size, fee, taker_rounding, now
            )
            engine._record_trade(market, trade_id, yes_price, size, taker_side, now)
        if queue:  # ``_after_trades`` with fills
            engine._trigger_pending_groups(now)

    def release(self, ticker: str) -> None:
        """``ticker`` stops being lazy: every tape order of it into the engine (until ``park``)."""
        if ticker in self.markets:
            self.materialize(ticker)
            del self.markets[ticker]

    def park(self, ticker: str) -> None:
        """Follow released ``ticker`` again: every tape order resting there leaves the engine's
        queues, ``orders`` and resting index for this market's FIFOs, in queue (priority) order.
        The caller checked that no other account's order rests there (a tape taker never rests),
        so every live queue entry is the tape's: each level's queue is emptied, its size kept."""
        engine = self.engine
        book = engine.books[ticker]
        market: dict[OutcomeSide, dict[int, Queue]] = {OutcomeSide.YES: {}, OutcomeSide.NO: {}}
        for side, book_side, ladder in (
            (OutcomeSide.YES, BookSide.BID, book.yes),
            (OutcomeSide.NO, BookSide.ASK, book.no),
        ):
            self._take_resting(ticker, book_side, market[side])
            for level in ladder.levels.values():
                level.queue.clear()
                level.dead = 0
        self.markets[ticker] = market
        self.parked += 1

    def repark(self, ticker: str) -> None:
        """``park`` for a market that stayed lazy while some of its levels were materialized
        (``materialize_reachable``, for an order that did not stay): those levels' tape orders
        leave the engine for their FIFOs, in priority order; the market's other levels are as
        they were. No other account's order rests there (the caller checked)."""
        book = self.engine.books[ticker]
        market = self.markets[ticker]
        for side, book_side, ladder in (
            (OutcomeSide.YES, BookSide.BID, book.yes),
            (OutcomeSide.NO, BookSide.ASK, book.no),
        ):
            # A level whose FIFO this creates was materialized: its engine queue holds only the tape's.
            for price in self._take_resting(ticker, book_side, market[side]):
                level = ladder.levels[price]
                level.queue.clear()
                level.dead = 0
        self.reparked += 1

    def _take_resting(self, ticker: str, book_side: BookSide, levels: dict[int, Queue]) -> list[int]:
        """The tape's orders resting on ``book_side`` of ``ticker`` leave the engine (its ``orders``
        and resting index) for ``levels``' FIFOs, in priority order; returns the prices whose FIFO
        this created. The resting index holds exactly these orders: no scan of the queues' dead
        entries."""
        resting = self.engine._resting_by_key.pop((self.account_id, ticker, book_side), None)
        created: list[int] = []
        if not resting:
            return created
        orders = self.engine.orders
        for order in sorted(resting.values(), key=_priority):
            del orders[order.order_id]
            price = order.book_price
            queue = levels.get(price)
            if queue is None:
                queue = levels[price] = deque()
                created.append(price)
            queue.append(Resting.of(order))
        return created

    def _delta(
        self, ticker: str, side: OutcomeSide, price: int, delta: int, now: int, client_id: str
    ) -> None:
        engine = self.engine
        if engine.listeners:
            engine.emit(BookDelta(ticker, side, price, delta, now, self.account_id, client_id, 0))
