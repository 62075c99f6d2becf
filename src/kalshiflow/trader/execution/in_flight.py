"""Orders in flight: place and resolve, with every outcome applied to the ledger.

Why it exists: the exchange may act on a create and lose the answer. The executor is the one place
that turns a send and its outcome into ledger calls, so the invariants of ARCHITECTURE §3 hold:

* An order is recorded in the ledger (``pending``, with a fresh ``client_order_id``) and committed
  to the store (``journal``, awaited) *before* the create is sent; a crash after that point leaves
  a trace that ``resolve_unknown`` can follow. A failed journal write means the order is not sent.
* A ``client_order_id`` is generated here, once, and never sent twice: nothing in this module
  re-sends a create. An ambiguous outcome leaves the order ``unknown`` until a read finds it.
* A single "not found" read never kills an order: the ledger counts consecutive misses and gives
  up only after ``not_found_misses_before_gone``. A *failed* read is not a miss.
* The close reason travels with the order (``TrackedOrder.close_reason``) to fills and events;
  a closing order is always sent ``reduce_only``, so it can shrink a position but never flip it.

Policy for a failed create, written down as data (STYLE "Ambiguity is policy"): ``CREATE_OUTCOMES``
maps the client's ``ErrorKind`` to what the ledger is told. ``RATE_LIMITED`` is a refusal before
processing (the client has already retried it with backoff), so it is a rejection like a 4xx; every
ambiguous kind is ``unknown`` -- including a connection that was never established, to keep one
simple rule. A 2xx answer that cannot be parsed is ``unknown`` too: the order probably exists.

Cancel, confirmed cancel and amend of live orders, and the reporting of every decision, are
``edits.LiveOrderEdits`` (this executor's base); the values (``OrderIntent``, ``ExecOutcome``,
``ExecutionResult``, ``ExecutionConfig``, the venue protocol, ``CREATE_OUTCOMES``) are
``intents.py``'s. Every decision comes back as an ``ExecutionResult`` (a frozen value), also passed
to ``on_result`` listeners (the order-group manager watches for ``order_group_triggered``
refusals). State changes happen in synchronous ledger calls after each await, so every change is
atomic on the event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable
from typing import Final

from kalshiflow.clock import Clock
from kalshiflow.events.ledger import OrderSnapshot
from kalshiflow.exchange.errors import ExchangeError, never_sent
from kalshiflow.exchange.models_orders import NewOrder
from kalshiflow.exchange.models_portfolio import Order
from kalshiflow.exchange.models_wire import WireFormatError
from kalshiflow.trader.execution.edits import LiveOrderEdits
from kalshiflow.trader.execution.intents import (
    CREATE_OUTCOMES,
    ExecOutcome,
    ExecutionConfig,
    ExecutionResult,
    ExecutionVenue,
    OrderIntent,
)
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.live_updates import apply_order_view
from kalshiflow.trader.state.orders import OrderState, TrackedOrder

__all__ = [  # the vocabulary is defined in ``intents``; its users may import it from here too
    "CREATE_OUTCOMES",
    "ExecOutcome",
    "ExecutionConfig",
    "ExecutionResult",
    "ExecutionVenue",
    "OrderExecutor",
    "OrderIntent",
]

GROUP_TRIGGERED_CODE: Final = "order_group_triggered"


class SessionOrderIds:
    """Fresh ``client_order_id`` bodies: 20 hex digits drawn once per executor, then a counter.

    Unique across restarts and processes as a ``uuid4`` would be (80 random bits per session, a
    48-bit counter within it), the same 32 hex digits after the prefix, but without reading
    ``os.urandom`` (a system call) for every order on the decision path.
    """

    def __init__(self) -> None:
        self._session = os.urandom(10).hex()
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._session}{next(self._counter):012x}"


class OrderExecutor(LiveOrderEdits):
    """Places orders and resolves the ones whose create has no definitive answer; the edits of live
    orders (cancel, confirmed cancel, amend) and the reporting of results are ``LiveOrderEdits``'."""

    def __init__(
        self,
        rest: ExecutionVenue,
        ledger: Ledger,
        clock: Clock,
        id_factory: Callable[[], str] | None = None,
        config: ExecutionConfig | None = None,
        on_result: Callable[[ExecutionResult], None] | None = None,
    ) -> None:
        super().__init__(rest, ledger, clock, config or ExecutionConfig(), on_result)
        self._new_id = id_factory or SessionOrderIds()
        self._sending: set[str] = set()  # creates awaiting their answer: not "stale pending"
        # Commits an order's row durably before its create is sent (``TraderStore.commit_order``):
        # a crash right after the send still leaves the order in the store for the next run.
        self.journal: Callable[[OrderSnapshot], Awaitable[None]] | None = None

    # ------------------------------------------------------------------ place
    async def place(self, intent: OrderIntent) -> ExecutionResult:
        """Record, send once, apply the answer. Never raises for an exchange outcome."""
        client_order_id = self.config.client_order_id_prefix + self._new_id()
        reduce_only = intent.sends_reduce_only
        request = NewOrder(  # validates price and count before anything is recorded
            intent.ticker,
            intent.side,
            intent.yes_price,  # price
            intent.count,
            client_order_id,
            time_in_force=intent.time_in_force,
            post_only=intent.post_only,
            reduce_only=reduce_only,
            order_group_id=intent.order_group_id,
        )
        now = self._clock.now_ms()
        # The required fields positionally, the three others set in place: this runs for every order
        # before it is sent, and each keyword costs a name match (about 0.3 µs of the 0.8 here).
        order = TrackedOrder(
            client_order_id, intent.ticker, intent.side, intent.yes_price, intent.count, intent.purpose, now
        )
        order.close_reason = intent.close_reason
        order.reduce_only = reduce_only
        order.order_group_id = intent.order_group_id
        # Raises if the id was ever used: nothing is sent then. The snapshot it published (if any)
        # is the pending order as the journal must store it: reused, not built a second time.
        published = self._ledger.record_pending(order)
        self._sending.add(client_order_id)
        if self.journal is not None:
            try:
                await self.journal(order.snapshot() if published is None else published)
            except asyncio.CancelledError:  # stopped before the send: it never left the process
                self._sending.discard(client_order_id)
                self._ledger.on_rejected(client_order_id, "never sent: stopped", self._clock.now_ms())
                raise
            except Exception as err:  # not durable, so not sent: the order never leaves the process
                self._sending.discard(client_order_id)
                now = self._clock.now_ms()
                detail = f"journal write failed: {err}"
                self._ledger.on_rejected(client_order_id, detail, now)
                return self._emit(order, ExecOutcome.REJECTED, detail, now)
        order.sent_ms = self._clock.now_ms()
        try:
            answer = await self._rest.place(request)
        except ExchangeError as err:
            return self._create_failed(order, err)
        except WireFormatError as err:
            return self._unknown(order, f"unreadable create answer: {err}")
        except asyncio.CancelledError:  # stopped mid-send: the exchange may have it; a read decides
            self._ledger.on_unknown(client_order_id, "stopped while the create was out", self._clock.now_ms())
            raise
        finally:
            self._sending.discard(client_order_id)
        now = self._clock.now_ms()
        self._ledger.on_acknowledged(
            client_order_id, answer.order_id, answer.fill_count, answer.remaining_count, now, answer.ts_ms
        )
        return self._emit(order, ExecOutcome.PLACED, "acknowledged", now)

    def _create_failed(self, order: TrackedOrder, err: ExchangeError) -> ExecutionResult:
        outcome = CREATE_OUTCOMES.get(err.kind, ExecOutcome.UNKNOWN)
        now = self._clock.now_ms()
        if outcome is ExecOutcome.UNKNOWN and never_sent(err):
            # The connection was never established: no create reached the exchange, so the order is
            # not there -- rejected now, its cash free, instead of "unknown" until reads agree.
            detail = f"nothing was sent: {err.message}"
            self._ledger.on_rejected(order.client_order_id, detail, now)
            return self._emit(order, ExecOutcome.REJECTED, detail, now, err.code)
        if outcome is ExecOutcome.UNKNOWN:
            return self._unknown(order, err.message)
        self._ledger.on_rejected(order.client_order_id, f"{err.kind}: {err.message}", now)
        return self._emit(order, ExecOutcome.REJECTED, err.message, now, err.code)

    def _unknown(self, order: TrackedOrder, detail: str) -> ExecutionResult:
        now = self._clock.now_ms()
        self._ledger.on_unknown(order.client_order_id, detail, now)
        return self._emit(order, ExecOutcome.UNKNOWN, detail, now)

    # ------------------------------------------------------------------ resolve
    def in_flight(self) -> list[TrackedOrder]:
        """Orders whose existence only a read can settle: unknown, and pending ones no send awaits."""
        now = self._clock.now_ms()
        stale_ms = self.config.stale_pending_s * 1000
        return [
            o
            for o in self._ledger.orders.values()
            if o.client_order_id not in self._sending
            and (
                o.state is OrderState.UNKNOWN
                or (o.state is OrderState.PENDING and now - (o.sent_ms or o.created_ms) >= stale_ms)
            )
        ]

    async def resolve_unknown(self) -> list[ExecutionResult]:
        """Read every order in flight by ``client_order_id`` (one order list per market) and apply it."""
        by_ticker: dict[str, list[TrackedOrder]] = {}
        for order in self.in_flight():
            by_ticker.setdefault(order.ticker, []).append(order)
        results: list[ExecutionResult] = []
        for ticker, orders in by_ticker.items():
            try:
                seen = await self._rest.orders(ticker=ticker)
            except (ExchangeError, WireFormatError) as err:
                now = self._clock.now_ms()
                results += [self._emit(o, ExecOutcome.UNRESOLVED, f"read failed: {err}", now) for o in orders]
                continue
            found = {o.client_order_id: o for o in seen if o.client_order_id}
            now = self._clock.now_ms()
            results += [self._apply_read(order, found.get(order.client_order_id), now) for order in orders]
        return results

    def _apply_read(self, order: TrackedOrder, seen: Order | None, now: int) -> ExecutionResult:
        if order.state not in (OrderState.UNKNOWN, OrderState.PENDING):  # moved on while we read
            return self._emit(order, ExecOutcome.RESOLVED, "resolved meanwhile", now)
        if seen is not None:
            apply_order_view(self._ledger, seen, now)
            return self._emit(order, ExecOutcome.RESOLVED, f"found as {seen.status}", now)
        misses = self.config.not_found_misses_before_gone
        self._ledger.on_not_found(order.client_order_id, now, misses)
        if order.is_terminal:  # the ledger gave up on it (rejected)
            return self._emit(order, ExecOutcome.GAVE_UP, order.detail, now)
        return self._emit(order, ExecOutcome.NOT_FOUND, f"miss {order.not_found_reads} of {misses}", now)
