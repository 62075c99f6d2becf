"""Edits of live orders -- cancel, cancel-and-confirm, amend -- and how every executor decision is
reported.

Why apart from placing (``in_flight``): an edit acts on an order the exchange already has, and its
rules differ from a create's. A cancel or amend answered 404 means the order is done (filled or
cancelled), so it is read back and applied rather than retried; an ambiguous answer makes the order
``unknown`` until a read settles it; at stop a cancel is confirmed by reading the order back (a 5xx
may or may not have taken effect). Every decision, here and in ``in_flight``, ends in ``_emit``:
one ``ExecutionResult``, logged, handed to the owner's ``on_result`` at once and published on the
ledger's bus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kalshiflow.clock import Clock
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.errors import ErrorKind, ExchangeError, never_sent
from kalshiflow.exchange.models_wire import WireFormatError
from kalshiflow.trader.execution.intents import ExecOutcome, ExecutionConfig, ExecutionResult, ExecutionVenue
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.live_updates import apply_order_view
from kalshiflow.trader.state.orders import OrderState, TrackedOrder

log = logging.getLogger(__name__)


class LiveOrderEdits:
    """Cancel and amend orders the ledger tracks; the base of ``OrderExecutor``."""

    def __init__(
        self,
        rest: ExecutionVenue,
        ledger: Ledger,
        clock: Clock,
        config: ExecutionConfig,
        on_result: Callable[[ExecutionResult], None] | None,
    ) -> None:
        self._rest = rest
        self._ledger = ledger
        self._clock = clock
        self.config = config
        # The owner's own bookkeeping (the core's circuit breaker and group manager) runs at once;
        # observers read the same results from the ledger's bus.
        self.on_result = on_result

    # ------------------------------------------------------------------ cancel and amend
    def _order(self, client_order_id: str) -> TrackedOrder:
        """The tracked order; an id the ledger never saw is a caller's bug (``KeyError``)."""
        order = self._ledger.orders.get(client_order_id)
        if order is None:
            raise KeyError(f"unknown client_order_id {client_order_id}")
        return order

    async def cancel(self, client_order_id: str) -> ExecutionResult:
        """Cancel a live order. A 404 means it is already done: the order is re-read and applied."""
        target = self._editable(client_order_id)
        if isinstance(target, ExecutionResult):
            return target
        order, order_id = target
        try:
            answer = await self._rest.cancel_order(order_id)
        except ExchangeError as err:
            return await self._mutation_failed(order, err)
        now = self._clock.now_ms()
        if order.is_live:
            filled = Count(max(order.filled, order.count - answer.reduced_by))
            self._ledger.on_exchange_order(
                order_id=order_id,
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
        order = self._order(client_order_id)
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
        target = self._editable(client_order_id)
        if isinstance(target, ExecutionResult):
            return target
        order, order_id = target
        try:
            await self._rest.amend_order(order_id, order.ticker, order.side, yes_price, total_count)
        except ExchangeError as err:
            return await self._mutation_failed(order, err)
        return await self._read_back(order, ExecOutcome.AMENDED, "amended")

    def _editable(self, client_order_id: str) -> tuple[TrackedOrder, str] | ExecutionResult:
        """The order and its exchange id, or the result that says why it cannot be edited now."""
        order = self._order(client_order_id)
        blocked = self._not_actionable(order)
        if blocked is not None:
            return blocked
        assert order.order_id is not None
        return order, order.order_id

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
        if err.kind is ErrorKind.AMBIGUOUS and not never_sent(err):  # not sent: the order is as it was
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
