"""Closing positions: exit decisions become reduce-only orders that carry their reason.

``close_position(ticker, reason)`` sells the whole position at its exit bid (a limit on the grid);
``apply(decisions)`` executes what the exit rules decided, re-pricing a stuck close by amending it
instead of placing a second one; ``flatten(reason)`` closes everything (stop, kill switch) and, with
``aggressive``, crosses at the worst tradable price as immediate-or-cancel so nothing is left resting.

One market never has two closing orders at once: a close already in flight is re-priced or left
alone. Nor is a close sent while the market's last close is filled by the exchange's answer but its
fills are not booked yet (the answer travels by REST, the fills by the stream, and the answer often
wins): the position the ledger still shows is the one that close already sold, and a second
reduce-only close would be refused by the exchange -- an error toward the market's circuit breaker. The close reason is stored on the order (``TrackedOrder.close_reason``), so fills, history,
the store and the dashboard all show why a position was closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kalshiflow.clock import Clock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import Action, BookSide, OutcomeSide, TimeInForce, intent_to_v2
from kalshiflow.domain.units import Count, Price
from kalshiflow.features.valuation import BookView
from kalshiflow.trader.execution.in_flight import OrderExecutor
from kalshiflow.trader.execution.intents import ExecOutcome, ExecutionResult, OrderIntent
from kalshiflow.trader.exit_rules.base import ClosingOrderView, ExitDecision
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder

# How long a close answered as filled counts as closing while its fills are not booked (trader clock).
FILLS_PENDING_MAX_MS = 10_000


@dataclass(frozen=True, slots=True)
class CloseResult:
    """What one close attempt did (also for positions that could not be closed now)."""

    ticker: str
    reason: str
    outcome: str  # placed, repriced, skipped_flat, skipped_in_flight, skipped_no_bid, <exec outcome>
    detail: str = ""
    execution: ExecutionResult | None = None


class PositionCloser:
    def __init__(self, executor: OrderExecutor, ledger: Ledger, clock: Clock) -> None:
        self._executor = executor
        self._ledger = ledger
        self._clock = clock
        # client_order_id -> last re-price time, of live closes only (``_forget_ended``).
        self._priced_at_ms: dict[str, int] = {}
        self._last_close: dict[str, str] = {}  # ticker -> client_order_id of its latest close sent

    # ------------------------------------------------------------------ views for the exit rules
    def closing_orders(self) -> dict[str, ClosingOrderView]:
        """Live closing orders by ticker (the oldest one when there are several)."""
        views: dict[str, ClosingOrderView] = {}
        for order in sorted(self._closes(), key=lambda o: o.created_ms):
            views.setdefault(
                order.ticker,
                ClosingOrderView(
                    ticker=order.ticker,
                    client_order_id=order.client_order_id,
                    placed_at_ms=order.created_ms,
                    yes_price=order.yes_price,
                    remaining=order.remaining,
                    priced_at_ms=self._priced_at_ms.get(order.client_order_id),
                ),
            )
        return views

    def is_closing(self, ticker: str) -> bool:
        # The market's own live orders (the ledger indexes them by ticker), not every live order:
        # the decision path asks this twice per decision (reactive exits, risk context).
        return self._ledger.index.has_close(ticker)

    def _fills_pending(self, ticker: str) -> bool:
        """The market's latest close is filled (or partly) by the exchange's answer, and the ledger
        has not booked all of those fills yet: the position is about to shrink by them."""
        cid = self._last_close.get(ticker)
        if cid is None:
            return False
        order = self._ledger.orders.get(cid)
        if order is None or order.booked >= order.filled:
            del self._last_close[ticker]  # booked (or gone): nothing pending any more
            return False
        # Bounded: fills that never arrive (a lost stream message) are booked by the next
        # calibration; until then the exit rules may close again after this wait (reduce-only).
        return self._clock.now_ms() - order.updated_ms < FILLS_PENDING_MAX_MS

    # ------------------------------------------------------------------ actions
    async def apply(self, decisions: Iterable[ExitDecision]) -> list[CloseResult]:
        self._forget_ended()
        results: list[CloseResult] = []
        for decision in decisions:
            if decision.replaces_client_order_id is not None:
                results.append(await self._reprice(decision))
            else:
                results.append(
                    await self._place(
                        decision.ticker,
                        decision.reason.value,
                        decision.v2_order.side,
                        decision.yes_price,
                        decision.close_count,
                    )
                )
        for result in results:
            self._ledger.bus.publish(result)  # every close attempt, whichever rule or timer decided it
        return results

    async def close_position(
        self, ticker: str, reason: str, book: BookView | None, grid: PriceGrid, aggressive: bool = False
    ) -> CloseResult:
        """Close the whole position in ``ticker`` at its exit bid (or cross, when ``aggressive``)."""
        position = self._ledger.position(ticker).position
        if position == 0:
            return CloseResult(ticker, reason, "skipped_flat")
        held = OutcomeSide.YES if position > 0 else OutcomeSide.NO
        limit = self._exit_limit(held, book, grid, aggressive)
        if limit is None:
            return CloseResult(ticker, reason, "skipped_no_bid", f"no {held} bid to exit into")
        order = intent_to_v2(held, Action.SELL, limit)
        tif = TimeInForce.IMMEDIATE_OR_CANCEL if aggressive else TimeInForce.GOOD_TILL_CANCELED
        return await self._place(ticker, reason, order.side, order.yes_price, Count(abs(position)), tif)

    async def flatten(
        self,
        reason: str,
        books: Mapping[str, BookView],
        grids: Mapping[str, PriceGrid],
        aggressive: bool = True,
    ) -> list[CloseResult]:
        """Close every open position; closes already resting are cancelled first when crossing."""
        results: list[CloseResult] = []
        for pos in self._ledger.open_positions():
            grid = grids.get(pos.ticker)
            if grid is None:
                results.append(CloseResult(pos.ticker, reason, "skipped_no_market", "market grid unknown"))
                continue
            if aggressive:
                for order in [o for o in self._closes() if o.ticker == pos.ticker]:
                    await self._executor.cancel(order.client_order_id)
            results.append(
                await self.close_position(pos.ticker, reason, books.get(pos.ticker), grid, aggressive)
            )
        return results

    # ------------------------------------------------------------------ internals
    async def _place(
        self,
        ticker: str,
        reason: str,
        side: BookSide,
        yes_price: Price,
        count: Count,
        tif: TimeInForce = TimeInForce.GOOD_TILL_CANCELED,
    ) -> CloseResult:
        if self.is_closing(ticker):
            return CloseResult(ticker, reason, "skipped_in_flight", "a closing order is already live")
        if self._fills_pending(ticker):
            return CloseResult(
                ticker, reason, "skipped_in_flight", "the last close filled; its fills are on their way"
            )
        position = self._ledger.position(ticker).position
        if position == 0:
            return CloseResult(ticker, reason, "skipped_flat")
        count = Count(min(count, abs(position)))  # never more than held: reduce-only anyway
        intent = OrderIntent(
            ticker=ticker,
            side=side,
            yes_price=yes_price,
            count=count,
            purpose=OrderPurpose.CLOSE,
            close_reason=reason,
            reduce_only=True,
            time_in_force=tif,
        )
        result = await self._executor.place(intent)  # live (pending) while it is sent: has_close covers it
        self._last_close[ticker] = result.client_order_id
        outcome = "placed" if result.outcome is ExecOutcome.PLACED else result.outcome.value
        return CloseResult(ticker, reason, outcome, result.detail, result)

    async def _reprice(self, decision: ExitDecision) -> CloseResult:
        cid = decision.replaces_client_order_id
        assert cid is not None
        order = self._ledger.orders.get(cid)
        if order is None or not order.is_live:
            return CloseResult(
                decision.ticker, decision.reason.value, "skipped_gone", "closing order no longer live"
            )
        total = Count(order.filled + order.remaining)
        result = await self._executor.amend(cid, decision.yes_price, total)
        if result.outcome is ExecOutcome.AMENDED:
            self._priced_at_ms[cid] = self._clock.now_ms()
            return CloseResult(decision.ticker, decision.reason.value, "repriced", decision.detail, result)
        return CloseResult(
            decision.ticker, decision.reason.value, result.outcome.value, result.detail, result
        )

    def _forget_ended(self) -> None:
        """Drop the re-price times of closes no longer live (filled, cancelled, settled, gone).

        Why here: the closer is not told when an order ends (the ledger is), and ``apply`` is where
        the map grows and where every calibration passes (with or without decisions), so the map
        holds at most the live closes plus those that ended since the last calibration -- not one
        entry per re-priced close for the life of the process.
        """
        if not self._priced_at_ms:  # the common case: nothing was re-priced
            return
        orders = self._ledger.orders
        for cid in [c for c in self._priced_at_ms if (o := orders.get(c)) is None or not o.is_live]:
            del self._priced_at_ms[cid]

    def _closes(self) -> Sequence[TrackedOrder]:
        return self._ledger.index.live_closes()

    @staticmethod
    def _exit_limit(
        held: OutcomeSide, book: BookView | None, grid: PriceGrid, aggressive: bool
    ) -> Price | None:
        """Limit price of the side held: its best bid, or the lowest tradable price to cross."""
        if aggressive:
            return grid.tradable[0]
        if book is None or not book.valid:
            return None
        bid = book.best_bid(held)
        return None if bid is None else grid.nearest(bid, "down")
