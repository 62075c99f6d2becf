"""Orders in flight: place, cancel, amend and resolve, with every outcome applied to the ledger.

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

The values (``OrderIntent``, ``ExecOutcome``, ``ExecutionResult``, ``ExecutionConfig``, the venue
protocol and ``CREATE_OUTCOMES``) are defined in ``intents.py``. Every decision comes back as an ``ExecutionResult`` (a frozen value), also passed to ``on_result``
listeners (the order-group manager watches for ``order_group_triggered`` refusals). State changes
happen in synchronous ledger calls after each await, so every change is atomic on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Final

from kalshiflow.clock import Clock
from kalshiflow.domain.units import Count, Price
from kalshiflow.events.ledger import OrderSnapshot
from kalshiflow.exchange.errors import ErrorKind, ExchangeError
from kalshiflow.exchange.models_orders import NewOrder
from kalshiflow.exchange.models_portfolio import Order
from kalshiflow.exchange.models_wire import WireFormatError
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

log = logging.getLogger(__name__)

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


def uuid4_hex() -> str:
    return uuid.uuid4().hex


class OrderExecutor:
    def __init__(
        self,
        rest: ExecutionVenue,
        ledger: Ledger,
        clock: Clock,
        id_factory: Callable[[], str] = uuid4_hex,
        config: ExecutionConfig | None = None,
        on_result: Callable[[ExecutionResult], None] | None = None,
    ) -> None:
        self._rest = rest
        self._ledger = ledger
        self._clock = clock
        self._new_id = id_factory
        self.config = config or ExecutionConfig()
        self._sending: set[str] = set()  # creates awaiting their answer: not "stale pending"
        # The owner's own bookkeeping (the core's circuit breaker and group manager) runs at once;
        # observers read the same results from the ledger's bus.
        self.on_result = on_result
        # Commits an order's row durably before its create is sent (``TraderStore.commit_order``):
        # a crash right after the send still leaves the order in the store for the next run.
        self.journal: Callable[[OrderSnapshot], Awaitable[None]] | None = None

    # ------------------------------------------------------------------ place
    async def place(self, intent: OrderIntent) -> ExecutionResult:
        """Record, send once, apply the answer. Never raises for an exchange outcome."""
        client_order_id = self.config.client_order_id_prefix + self._new_id()
        request = NewOrder(  # validates price and count before anything is recorded
            ticker=intent.ticker,
            side=intent.side,
            price=intent.yes_price,
            count=intent.count,
            client_order_id=client_order_id,
            time_in_force=intent.time_in_force,
            post_only=intent.post_only,
            reduce_only=intent.sends_reduce_only,
            order_group_id=intent.order_group_id,
        )
        now = self._clock.now_ms()
        order = TrackedOrder(
            client_order_id=client_order_id,
            ticker=intent.ticker,
            side=intent.side,
            yes_price=intent.yes_price,
            count=intent.count,
            purpose=intent.purpose,
            created_ms=now,
            close_reason=intent.close_reason,
            reduce_only=intent.sends_reduce_only,
            order_group_id=intent.order_group_id,
        )
        self._ledger.record_pending(order)  # raises if the id was ever used: nothing is sent then
        self._sending.add(client_order_id)
        if self.journal is not None:
            try:
                await self.journal(order.snapshot())
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
            client_order_id, answer.order_id, answer.fill_count, answer.remaining_count, now
        )
        return self._emit(order, ExecOutcome.PLACED, "acknowledged", now)

    def _create_failed(self, order: TrackedOrder, err: ExchangeError) -> ExecutionResult:
        outcome = CREATE_OUTCOMES.get(err.kind, ExecOutcome.UNKNOWN)
        if outcome is ExecOutcome.UNKNOWN:
            return self._unknown(order, err.message)
        now = self._clock.now_ms()
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

    # ------------------------------------------------------------------ cancel and amend
    async def cancel(self, client_order_id: str) -> ExecutionResult:
        """Cancel a live order. A 404 means it is already done: the order is re-read and applied."""
        order = self._ledger.orders.get(client_order_id)
        if order is None:
            raise KeyError(f"unknown client_order_id {client_order_id}")
        blocked = self._not_actionable(order)
        if blocked is not None:
            return blocked
        assert order.order_id is not None
        try:
            answer = await self._rest.cancel_order(order.order_id)
        except ExchangeError as err:
            return await self._mutation_failed(order, err)
        now = self._clock.now_ms()
        if order.is_live:
            filled = Count(max(order.filled, order.count - answer.reduced_by))
            self._ledger.on_exchange_order(
                order_id=order.order_id,
                client_order_id=order.client_order_id,
                ticker=order.ticker,
                side=order.side,
                yes_price=order.yes_price,
                status="canceled",
                filled=filled,
                remaining=Count(0),
                initial=order.count,
                now_ms=now,
                order_group_id=order.order_group_id,
            )
        return self._emit(order, ExecOutcome.CANCELED, f"reduced by {answer.reduced_by.fp_str()}", now)

    async def cancel_confirmed(
        self, client_order_id: str, attempts: int = 3, backoff_s: float = 0.2
    ) -> ExecutionResult:
        """Cancel and read the order back until the exchange shows it no longer resting.

        Used at stop (issue 8): a cancel answered with a 5xx may or may not have taken effect, so
        only the read decides. An order without an exchange id is looked up by ``client_order_id``
        first. Bounded: after ``attempts`` the result is ``FAILED`` when the order is still live.
        """
        order = self._ledger.orders.get(client_order_id)
        if order is None:
            raise KeyError(f"unknown client_order_id {client_order_id}")
        for attempt in range(attempts):
            if attempt:
                await self._clock.sleep(backoff_s * attempt)
            if order.is_terminal:
                break
            if order.order_id is None:
                await self._find(order)
                if order.order_id is None:
                    continue
            result = await self.cancel(client_order_id)
            if not order.is_terminal or result.outcome is not ExecOutcome.CANCELED:
                await self._read_back(order, result.outcome, result.detail)
        now = self._clock.now_ms()
        if order.is_live:
            return self._emit(
                order, ExecOutcome.FAILED, f"still {order.state} after {attempts} attempts", now
            )
        return self._emit(order, ExecOutcome.CANCELED, f"confirmed {order.state}", now)

    async def _find(self, order: TrackedOrder) -> None:
        """Look an order without an exchange id up by ``client_order_id`` (one read of its market)."""
        try:
            seen = await self._rest.orders(ticker=order.ticker)
        except (ExchangeError, WireFormatError):
            return
        now = self._clock.now_ms()
        found = [o for o in seen if o.client_order_id == order.client_order_id]
        if found:
            apply_order_view(self._ledger, found[0], now)
        elif order.sent_ms is None and order.state is OrderState.PENDING:
            self._ledger.on_rejected(order.client_order_id, "never sent", now)
        elif now - (order.sent_ms or order.created_ms) >= self.config.stale_pending_s * 1000:
            # Old enough that the read path has caught up: not on the exchange, so nothing rests.
            self._ledger.on_not_found(order.client_order_id, now, 1)

    async def amend(self, client_order_id: str, yes_price: Price, total_count: Count) -> ExecutionResult:
        """New YES price and new *total* count (filled + wanted remaining); the order is read back."""
        order = self._ledger.orders.get(client_order_id)
        if order is None:
            raise KeyError(f"unknown client_order_id {client_order_id}")
        blocked = self._not_actionable(order)
        if blocked is not None:
            return blocked
        assert order.order_id is not None
        try:
            await self._rest.amend_order(order.order_id, order.ticker, order.side, yes_price, total_count)
        except ExchangeError as err:
            return await self._mutation_failed(order, err)
        return await self._read_back(order, ExecOutcome.AMENDED, "amended")

    def _not_actionable(self, order: TrackedOrder) -> ExecutionResult | None:
        now = self._clock.now_ms()
        if order.is_terminal:
            return self._emit(order, ExecOutcome.ALREADY_GONE, f"already {order.state}", now)
        if order.order_id is None:
            return self._emit(order, ExecOutcome.UNRESOLVED, "no exchange order id yet; resolve first", now)
        return None

    async def _mutation_failed(self, order: TrackedOrder, err: ExchangeError) -> ExecutionResult:
        if err.kind is ErrorKind.NOT_FOUND:  # nothing resting under that id: filled or canceled
            return await self._read_back(order, ExecOutcome.ALREADY_GONE, "not resting")
        now = self._clock.now_ms()
        if err.kind is ErrorKind.AMBIGUOUS:
            self._ledger.on_unknown(order.client_order_id, err.message, now)
            return self._emit(order, ExecOutcome.UNKNOWN, err.message, now)
        return self._emit(order, ExecOutcome.FAILED, err.message, now, err.code)

    async def _read_back(self, order: TrackedOrder, outcome: ExecOutcome, detail: str) -> ExecutionResult:
        assert order.order_id is not None
        try:
            seen = await self._rest.order(order.order_id)
        except (ExchangeError, WireFormatError) as err:
            now = self._clock.now_ms()
            return self._emit(order, outcome, f"{detail}; read-back failed: {err}", now)
        now = self._clock.now_ms()
        apply_order_view(self._ledger, seen, now)
        return self._emit(order, outcome, f"{detail}; now {seen.status}", now)

    # ------------------------------------------------------------------ results
    def _emit(
        self,
        order: TrackedOrder,
        outcome: ExecOutcome,
        detail: str,
        now: int,
        error_code: str | None = None,
    ) -> ExecutionResult:
        result = ExecutionResult(
            client_order_id=order.client_order_id,
            outcome=outcome,
            detail=detail,
            ts_ms=now,
            state=order.state,
            order_id=order.order_id,
            error_code=error_code,
            order_group_id=order.order_group_id,
        )
        log.info(
            "order.%s client_order_id=%s ticker=%s state=%s detail=%s",
            outcome.value,
            order.client_order_id,
            order.ticker,
            order.state.value,
            detail,
        )
        if self.on_result is not None:
            self.on_result(result)
        self._ledger.bus.publish(result)
        return result
