"""The trader's books: cash, positions, orders in flight, fills and settlements -- all exact.

The ledger is a cache of the exchange's state that live messages keep current and reconciliation
overwrites. Every method is one synchronous, atomic change (no awaits), so the single event loop
never sees a half-applied fill. Fills are idempotent by ``trade_id``: the WebSocket ``fill`` channel
and REST fills may both deliver the same execution, and it is booked once.

Cash is the exchange's *available* balance. Between reconciliations the ledger estimates it: a
resting order that opens exposure holds back its cost plus the taker fee (as the exchange does);
fills move cash by their exact amounts. Reconciliation compares the estimate with the exchange,
records the difference as drift and takes the exchange's figure.

Positions carry a cost basis that *includes* fees paid to open them, so P&L figures are after fees.

This module is the state machine of the money; its parts live beside it: ``records`` (the position
record, the trade ids seen), ``order_index`` (which orders exist and are live, bounded history),
``reservations`` (the cash the exchange holds back, pure arithmetic), ``booking`` (a fill or a
settlement booked into positions and cash), ``publishing`` (the frozen events on the bus) and
``totals`` (running sums the risk gate reads, updated at each change).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from fractions import Fraction

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import ZERO_MONEY, Count, Money, Price
from kalshiflow.events.bus import EventBus
from kalshiflow.events.ledger import CashCause, OrderSnapshot
from kalshiflow.events.ledger import FillData as FillData
from kalshiflow.events.ledger import SettlementData as SettlementData
from kalshiflow.trader.state.arrival import UnseenHolds, market_at
from kalshiflow.trader.state.booking import book_fill, book_settlement, note_historical_fill, note_on_order
from kalshiflow.trader.state.order_index import OrderIndex
from kalshiflow.trader.state.orders import OrderPurpose, OrderState, TrackedOrder
from kalshiflow.trader.state.publishing import LedgerPublisher
from kalshiflow.trader.state.records import PositionRecord as PositionRecord
from kalshiflow.trader.state.records import TradeIds as TradeIds
from kalshiflow.trader.state.reservations import reservation, shrunk_by_release
from kalshiflow.trader.state.totals import LedgerTotals

HISTORY_LIMIT = 2_000  # finished orders and fills kept in memory (the store keeps all of them)


class LedgerError(RuntimeError):
    """A misuse of the ledger (a bug in the caller), never an exchange condition."""


class Ledger:
    """``fee_terms_of(ticker)`` -> the market's ``(FeeType, fee multiplier)``, as ``FeeSchedule``
    answers it; the default (``quadratic``, x1) suits tests on plain-fee markets."""

    def __init__(
        self,
        fee_terms_of: Callable[[str], tuple[FeeType, Fraction]] | None = None,
        bus: EventBus | None = None,
        own_prefix: str | None = None,
        history_limit: int = HISTORY_LIMIT,
    ) -> None:
        self.cash: Money = ZERO_MONEY
        self.synced_cash: Money | None = None
        self.synced_at_ms: int | None = None
        self.positions: dict[str, PositionRecord] = {}
        # Which orders exist and which are live (``OrderIndex``); its two maps are read directly.
        # History is bounded (issue 8: memory grew ~4 KB per order): the newest ``history_limit``
        # finished orders and fills are kept, and ten times as many trade ids (the dedupe window
        # for fills delivered twice, by the stream and by REST, spans far fewer than that).
        self.index = OrderIndex(history_limit)
        self.orders: dict[str, TrackedOrder] = self.index.orders  # by client_order_id
        self.by_order_id: dict[str, str] = self.index.by_order_id  # order_id -> client_order_id
        self.trade_ids: TradeIds = TradeIds(10 * history_limit)
        self.fills: deque[FillData] = deque(maxlen=history_limit)
        self.settlements: list[SettlementData] = []
        self.bus = bus or EventBus()  # every change is published here as a frozen value
        self._events = LedgerPublisher(self.bus)
        # Sums the risk gate and the views read on every decision, kept at each change (O(1) reads).
        self.totals = LedgerTotals()
        self._fee_terms_of = fee_terms_of or (lambda _ticker: (FeeType.QUADRATIC, Fraction(1)))
        # ``client_order_id`` prefix of this trader's orders: one found on the exchange is ours
        # (a previous run placed it), tracked and cancelled like any other, never "external".
        self._own_prefix = own_prefix
        # Historical fills (``note_fill``) of an order id the ledger cannot link yet, by order id.
        self._unmatched: dict[str, list[FillData]] = {}
        # Orders whose hold is still the estimate made before the send (``_hold_on_arrival``).
        self._unseen_holds = UnseenHolds()

    # ------------------------------------------------------------------ queries
    def position(self, ticker: str) -> PositionRecord:
        return self.positions.get(ticker) or PositionRecord(ticker)

    def open_positions(self) -> list[PositionRecord]:
        return [p for p in self.positions.values() if p.is_open]

    def live_orders(self, ticker: str | None = None) -> list[TrackedOrder]:
        """Orders still in flight (in ``ticker``, or all), oldest first (``OrderIndex.live``)."""
        return self.index.live(ticker)

    def is_own(self, client_order_id: str | None) -> bool:
        """Whether an order with this ``client_order_id`` was placed by this trader (any run)."""
        return bool(self._own_prefix and client_order_id and client_order_id.startswith(self._own_prefix))

    def order_by_exchange_id(self, order_id: str) -> TrackedOrder | None:
        return self.index.by_exchange_id(order_id)

    @property
    def reserved(self) -> Money:
        """Cash held back by live orders: a running total (``totals``), not a loop over them."""
        return Money(self.totals.reserved)

    # ------------------------------------------------------------------ orders
    def record_pending(self, order: TrackedOrder) -> OrderSnapshot | None:
        """Record an order before it is sent; a ``client_order_id`` is never used twice.

        Returns the pending order's snapshot when one was published (None: nobody listens to order
        changes, and none was built): the executor journals that very value before the send instead
        of building a second, identical one.
        """
        if order.client_order_id in self.orders:
            raise LedgerError(f"client_order_id {order.client_order_id} already used")
        order.state = OrderState.PENDING
        order.remaining = order.count
        order.reserved = self._reservation(order, order.count)
        self.cash = Money(self.cash - order.reserved)
        self.orders[order.client_order_id] = order
        self.index.track_live(order)
        if not order.reduce_only:
            self._unseen_holds.track(order.client_order_id)
        snapshot = self._order_changed(order, order.created_ms)
        if order.reserved:
            self._cash_changed(order.created_ms, CashCause.RESERVATION)
        return snapshot

    def restore(self, order: TrackedOrder) -> None:
        """Put back a live order a previous run persisted (a restart), for reconciliation to resolve.

        It stays ``resting`` / ``partially_filled`` only when it has an ``order_id``; anything else is
        ``unknown`` (a read must settle it; it is never re-sent). Its purpose and close reason are
        kept, and it holds cash back as ``record_pending`` / adoption would for its remainder. A
        ``client_order_id`` (or ``order_id``) the ledger already knows is never used twice.
        """
        if order.client_order_id in self.orders:
            raise LedgerError(f"client_order_id {order.client_order_id} already used")
        if order.order_id is not None and order.order_id in self.by_order_id:
            raise LedgerError(f"order_id {order.order_id} already tracked")
        if not order.is_live:
            raise LedgerError(f"{order.client_order_id}: only a live order is restored, not {order.state}")
        if order.order_id is None or order.state not in (OrderState.RESTING, OrderState.PARTIALLY_FILLED):
            order.state = OrderState.UNKNOWN
        order.filled = Count(max(0, min(order.filled, order.count)))
        if order.remaining <= 0 or order.filled + order.remaining > order.count:
            order.remaining = Count(order.count - order.filled)
        order.not_found_reads = 0
        order.reserved = self._reservation(order, order.remaining)
        self.cash = Money(self.cash - order.reserved)
        self.orders[order.client_order_id] = order
        if order.order_id is not None:
            self.by_order_id[order.order_id] = order.client_order_id
        self.index.track_live(order)
        self._order_changed(order, max(order.updated_ms, order.created_ms))

    def on_acknowledged(
        self,
        client_order_id: str,
        order_id: str,
        filled: Count,
        remaining: Count,
        now_ms: int,
        arrival_ms: int | None = None,
    ) -> TrackedOrder:
        """The exchange answered a create (or a read found the order): it exists as ``order_id``.
        ``arrival_ms``: the exchange's time of the create (the answer's ``ts_ms``), if known."""
        order = self._order(client_order_id)
        self._link(order, order_id)
        order.not_found_reads = 0
        self._progress(order, filled, remaining, now_ms)
        self._hold_on_arrival(order, now_ms, arrival_ms)
        return order

    def on_rejected(self, client_order_id: str, reason: str, now_ms: int) -> TrackedOrder:
        """A definitive refusal: nothing happened on the exchange."""
        order = self._order(client_order_id)
        if order.move(OrderState.REJECTED, now_ms, reason):
            released = self._release(order, order.reserved)
            self._order_changed(order, now_ms)
            self._announce_release(released, now_ms)
        return order

    def on_unknown(self, client_order_id: str, reason: str, now_ms: int) -> TrackedOrder:
        """The outcome of a send is not known; the order stays in flight until a read resolves it."""
        order = self._order(client_order_id)
        if order.is_terminal:  # live updates already told its final state while the send was out
            return order
        if order.move(OrderState.UNKNOWN, now_ms, reason):
            self._order_changed(order, now_ms)
        return order

    def on_not_found(self, client_order_id: str, now_ms: int, misses_to_give_up: int) -> TrackedOrder:
        """A read did not find an unknown/pending order. Only repeated misses count as a rejection."""
        order = self._order(client_order_id)
        if order.state not in (OrderState.UNKNOWN, OrderState.PENDING):
            return order
        order.not_found_reads += 1
        if order.not_found_reads >= misses_to_give_up:
            detail = f"not found after {order.not_found_reads} reads"
            if order.state is OrderState.PENDING:
                order.move(OrderState.UNKNOWN, now_ms)
            order.move(OrderState.REJECTED, now_ms, detail)
            released = self._release(order, order.reserved)
            self._order_changed(order, now_ms)
            self._announce_release(released, now_ms)
        return order

    def on_exchange_order(
        self,
        *,
        order_id: str,
        client_order_id: str,
        ticker: str,
        side: BookSide,
        yes_price: Price,
        status: str,
        filled: Count,
        remaining: Count,
        initial: Count,
        now_ms: int,
        order_group_id: str | None = None,
        created_ms: int | None = None,
    ) -> TrackedOrder:
        """The exchange's view of an order (``user_orders`` or a REST read). Unknown ones are adopted.
        ``created_ms``: the exchange's time of its creation, if the view has it."""
        order = self.orders.get(client_order_id) if client_order_id else None
        if order is None:
            order = self.order_by_exchange_id(order_id)
        if order is None:
            order = TrackedOrder(
                client_order_id=client_order_id or f"external:{order_id}",
                ticker=ticker,
                side=side,
                yes_price=yes_price,
                count=initial,
                purpose=OrderPurpose.OPEN if self.is_own(client_order_id) else OrderPurpose.EXTERNAL,
                created_ms=now_ms,
                order_group_id=order_group_id,
            )
            order.remaining = initial
            self.orders[order.client_order_id] = order
            self.index.track_live(order)
            if status == "resting":  # the exchange holds cash back for it, so the estimate must too
                order.remaining = remaining
                order.reserved = self._reservation(order, remaining)
                self.cash = Money(self.cash - order.reserved)
        self._link(order, order_id)
        order.not_found_reads = 0
        # How an edit changes a resting order's hold (``reservations``): a smaller remainder at the
        # same price without a fill frees it pro rata; a new price or a larger size re-reserves it.
        repriced = order.yes_price != yes_price
        amended = repriced or order.count != initial
        shrunk_by, grown = Count(0), False
        if status == "resting" and order.is_live and filled == order.filled:  # no fill explains a change
            shrunk_by, grown = Count(max(0, order.remaining - remaining)), remaining > order.remaining
        if amended:  # amended on the exchange
            order.yes_price, order.count = yes_price, initial
        released = self._release(order, shrunk_by_release(order, shrunk_by)) if shrunk_by else Money(0)
        if status == "canceled":
            self._progress(order, filled, Count(0), now_ms, canceled=True)
        else:
            self._progress(order, filled, remaining, now_ms)
        self._announce_release(released, now_ms)
        if (repriced or grown) and order.is_live:  # the exchange re-reserves for the amended remainder
            self._release(order, order.reserved)
            order.reserved = self._reservation(order, order.remaining)
            self.cash = Money(self.cash - order.reserved)
            self._unseen_holds.take(order.client_order_id)
            self._cash_changed(now_ms, CashCause.RESERVATION)
        else:
            self._hold_on_arrival(order, now_ms, created_ms)
        self._count(order)  # adopted or re-reserved after its last change was announced
        return order

    def on_canceled(self, client_order_id: str, now_ms: int) -> TrackedOrder:
        order = self._order(client_order_id)
        self._progress(order, order.filled, Count(0), now_ms, canceled=True)
        return order

    # ------------------------------------------------------------------ fills and settlements
    def apply_fill(self, fill: FillData) -> bool:
        """Book one execution; returns False when this ``trade_id`` was already booked (``booking``)."""
        return book_fill(self, fill)

    def note_fill(self, fill: FillData) -> bool:
        """Record a fill from before this ledger's first sync, without booking it (``booking``)."""
        return note_historical_fill(self, fill)

    def apply_settlement(self, settlement: SettlementData) -> None:
        """Book a market's settlement into its position and cash (``booking``)."""
        book_settlement(self, settlement)

    # ------------------------------------------------------------------ reconciliation hooks
    def overwrite_cash(self, exchange_cash: Money, now_ms: int) -> Money:
        """Take the exchange's balance; returns the drift (exchange minus estimate)."""
        drift = Money(exchange_cash - self.cash)
        self.cash = exchange_cash
        self.synced_cash, self.synced_at_ms = exchange_cash, now_ms
        if drift:
            self._cash_changed(now_ms, CashCause.RECONCILIATION)
        return drift

    def overwrite_position(
        self, ticker: str, position: Count, cost_basis: Money, now_ms: int, exposure: Money | None = None
    ) -> PositionRecord:
        """Take the exchange's position; ``exposure`` is its fee-free cost (default: ``cost_basis``)."""
        pos = self.positions.setdefault(ticker, PositionRecord(ticker))
        if pos.position == 0 and position != 0:
            pos.opened_at_ms = now_ms
        pos.position, pos.cost_basis = position, cost_basis
        pos.exposure = cost_basis if exposure is None else exposure
        if position == 0:
            pos.opened_at_ms = None
        self._position_changed(pos, now_ms)
        return pos

    # ------------------------------------------------------------------ internals
    def _order(self, client_order_id: str) -> TrackedOrder:
        try:
            return self.orders[client_order_id]
        except KeyError:
            raise LedgerError(f"unknown client_order_id {client_order_id}") from None

    def _link(self, order: TrackedOrder, order_id: str) -> None:
        if order.order_id is None:
            order.order_id = order_id
        self.by_order_id[order_id] = order.client_order_id
        for fill in self._unmatched.pop(order_id, ()):
            note_on_order(self, order, fill)

    def _progress(
        self, order: TrackedOrder, filled: Count, remaining: Count, now_ms: int, canceled: bool = False
    ) -> None:
        if order.is_terminal:
            return
        filled = Count(max(order.filled, filled))
        order.filled = filled
        if canceled or (remaining == 0 and filled < order.count):
            state = OrderState.CANCELED if filled < order.count else OrderState.FILLED
        elif remaining == 0:
            state = OrderState.FILLED
        elif filled > 0:
            state = OrderState.PARTIALLY_FILLED
        else:
            state = OrderState.RESTING
        order.remaining = Count(0) if state in (OrderState.CANCELED, OrderState.FILLED) else remaining
        released = Money(0)
        if state in (OrderState.CANCELED, OrderState.FILLED):
            released = self._release(order, order.reserved)
        order.move(state, now_ms)
        self._order_changed(order, now_ms)
        self._announce_release(released, now_ms)

    def _release(self, order: TrackedOrder, amount: Money) -> Money:
        """Give back cash held for ``order``; returns how much (for ``_announce_release``)."""
        amount = Money(max(0, min(order.reserved, amount)))
        order.reserved = Money(order.reserved - amount)
        self.cash = Money(self.cash + amount)
        return amount

    def _announce_release(self, released: Money, now_ms: int) -> None:
        """A release changes cash like a fill does, so it is announced (the store's cash follows)."""
        if released:
            self._cash_changed(now_ms, CashCause.RESERVATION)

    def _hold_on_arrival(self, order: TrackedOrder, now_ms: int, arrival_ms: int | None) -> None:
        """Re-take an order's hold at the first answer about it, as of ``arrival_ms`` (the exchange's
        time of the create; None: now), when the exchange fixed it (``reservations``: the estimate
        made before the send can be stale by then)."""
        needed = self._unseen_holds.take(order.client_order_id)
        if needed is None or not order.is_live:
            return
        held_now = self.positions.get(order.ticker)
        position, claimed = market_at(
            order, 0 if held_now is None else held_now.position, self.fills, arrival_ms
        )
        live = self.live_orders(order.ticker)
        on_arrival = reservation(order, order.count, position, live, self._fee_terms_of, claimed)
        held = Money(max(0, on_arrival - needed))
        if held != order.reserved:
            self.cash = Money(self.cash + order.reserved - held)
            order.reserved = held
            self._count(order)
            self._cash_changed(now_ms, CashCause.RESERVATION)

    def _reservation(self, order: TrackedOrder, size: Count) -> Money:
        """Cash held back for the part of a new order that would open exposure (``reservations``)."""
        held = self.positions.get(order.ticker)  # not ``position()``: no empty record built per order
        position = 0 if held is None else held.position
        return reservation(order, size, position, self.live_orders(order.ticker), self._fee_terms_of)

    # ------------------------------------------------------------------ events and totals
    def _count(self, order: TrackedOrder) -> None:
        """Bring ``totals`` up to date with ``order`` (live: still in the live index)."""
        self.totals.count_order(order, self.index.counts_as_live(order))

    def _publish(self, event: object) -> None:
        self._events.publish(event)

    def _order_changed(self, order: TrackedOrder, ts_ms: int) -> OrderSnapshot | None:
        """Count and announce ``order``'s change; returns the snapshot published (None: nobody listens)."""
        self._count(order)
        snapshot = self._events.order_changed(order, ts_ms)
        if order.purpose is OrderPurpose.CLOSE and order.ticker in self.positions:
            # A close starting or ending changes the position's closing reason: say so.
            self._position_changed(self.positions[order.ticker], ts_ms)
        if order.is_terminal:
            self.index.retire(order)
            self._unseen_holds.take(order.client_order_id)
        return snapshot

    def _position_changed(self, pos: PositionRecord, ts_ms: int) -> None:
        self.totals.count_position(pos)
        self._events.position_changed(pos, self.closing_reason, ts_ms)

    def _cash_changed(self, ts_ms: int, cause: CashCause) -> None:
        self._events.cash_changed(self.cash, ts_ms, cause)

    def closing_reason(self, ticker: str) -> str | None:
        """The reason of the live closing order in ``ticker``, if a close is under way."""
        return self.index.closing_reason(ticker)
