"""When the exit rules run: per book change of a held market, on the short timer, after our fills.

``ExitDriver`` is the part of the core that decides *when* to evaluate the exit rules and applies
what they decide: ``react_to_book`` (price rules, per book change of a held market: the hot path),
``exit_tick`` (time rules, plus price rules for markets that just filled), ``run_exit_timer`` (the
task driving ``exit_tick``) and the fill wake-up that keeps each position's exit price at entry
current. It owns the state only this needs: the markets filled since the last tick, the stop-loss
re-entry cooldown map (read by the risk gate through the core) and the quiet-markets cache.

*What* the rules decide stays on the core (``TraderCore.exit_decisions``, over its views); the
driver reads the core for that and for ``calibrating``, so the core stays the one owner of both.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from kalshiflow.events.ledger import FillBooked
from kalshiflow.exchange.errors import retry_log_level
from kalshiflow.trader.execution.closing import CloseResult
from kalshiflow.trader.execution.open_orders import CancelBackoff, StaleOrder, stale_open_orders
from kalshiflow.trader.exit_rules.base import ExitDecision, ExitReason
from kalshiflow.trader.exit_rules.reactive import QuietMarkets, price_rule_inputs
from kalshiflow.trader.exit_rules.registry import PRICE_RULES, TIME_RULES

if TYPE_CHECKING:
    from kalshiflow.trader.core import TraderCore

log = logging.getLogger(__name__)


class ExitDriver:
    """Built by ``TraderCore`` once its ledger, closer and books exist (it subscribes to our fills)."""

    def __init__(self, core: TraderCore) -> None:
        self._core = core
        # The collaborators the per-delta path reads, held directly (one lookup, as in the core).
        # Not ``config``: it is read from the core each time (a caller may replace the core's).
        self.ledger = core.ledger
        self.closer = core.closer
        self.books = core.books
        self.clock = core.clock
        self.filled_since_tick: set[str] = set()
        self._fill_wake = asyncio.Event()
        self.fills = core.bus.subscribe("core.exits", [FillBooked], max_queue=10_000, on_ready=self.on_fills)
        self.stop_loss_ms: dict[str, int] = {}  # last stop loss per market (re-entry cooldown)
        self._quiet_exits = QuietMarkets()  # held markets whose price rules last decided nothing
        self._cancel_backoff = CancelBackoff()  # stale orders whose cancel failed: when to try again

    async def react_to_book(self, ticker: str) -> list[CloseResult]:
        """Take profit and stop loss for one held market, right after its book changed.

        Skipped while a calibration runs (it evaluates every rule itself) and for a market whose
        close is already working (one closing order per market; the stuck rule re-prices it).
        """
        decisions = self.book_exits(ticker)
        return await self.apply_exits(decisions) if decisions else []

    def book_exits(self, ticker: str) -> list[ExitDecision]:
        """What ``react_to_book`` would close, decided synchronously (nothing is sent).

        Why apart: the actor runs this before every decision and it decides nothing for almost
        every change (the market is not held, or its exit bid did not move); called directly, that
        common case costs no coroutine, and only a decision to close is awaited.
        """
        core = self._core
        if core.calibrating or not core.config.exit_rules.reactive_price_rules:
            return []
        position = self.ledger.positions.get(ticker)
        if position is None or position.position == 0 or self.closer.is_closing(ticker):
            return []
        # Most book changes leave the held side's bid alone: the rules would decide nothing again.
        inputs = price_rule_inputs(
            core.position_views().get(ticker),
            core.market_views().get(ticker),
            self.books.book(ticker),
            core.config.exit_rules,
        )
        if self._quiet_exits.unchanged(ticker, inputs):
            return []
        decisions = core.exit_decisions((ticker,), PRICE_RULES)
        self._quiet_exits.record(ticker, inputs, bool(decisions))
        return decisions

    async def exit_tick(self) -> list[CloseResult]:
        """The short timer: time rules for every position, price rules for markets that had fills.

        Opening orders that expired or were left behind by the book are cancelled first.
        """
        core = self._core
        if core.calibrating:
            return []
        await self.cancel_stale_open_orders()
        filled = [t for t in self.filled_since_tick if not self.closer.is_closing(t)]
        self.filled_since_tick.clear()
        decisions = core.exit_decisions(None, TIME_RULES)
        if filled and core.config.exit_rules.reactive_price_rules:
            decided = {d.ticker for d in decisions}
            decisions += [d for d in core.exit_decisions(filled, PRICE_RULES) if d.ticker not in decided]
        return await self.apply_exits(decisions) if decisions else []

    async def cancel_stale_open_orders(self) -> list[StaleOrder]:
        """Cancel resting opening orders past their time to live or behind the touch.

        A cancel that left its order live is tried again only after a growing wait
        (``CancelBackoff``), never on every tick.
        """
        backoff, orders = self._cancel_backoff, self.ledger.orders
        backoff.forget_settled(lambda cid: cid in orders and orders[cid].is_live)
        live = self.ledger.live_orders()
        if not live:  # nothing can be stale: skip indexing every market's book and grid (every tick)
            return []
        core = self._core
        # Only the markets of live orders are looked up (that is all ``stale_open_orders`` reads):
        # indexing every watched market's book and grid each tick was most of a quiet tick's cost.
        markets, books = core.markets, self.books
        tickers = [t for t in dict.fromkeys(o.ticker for o in live) if t in markets]
        books_of = {t: b for t in tickers if (b := books.book(t)) is not None}
        grids = {t: markets[t].grid for t in tickers}
        now = self.clock.now_ms()
        stale = stale_open_orders(live, books_of, grids, now, core.config.open_orders)
        for order in stale:
            cid = order.client_order_id
            if not backoff.due(cid, now):
                continue
            result = await core.executor.cancel(cid)
            if orders[cid].is_live:
                retry = backoff.failures(cid) > 0
                wait_ms = backoff.failed(cid, self.clock.now_ms())
                log.log(
                    retry_log_level(retry, core.rest.unreachable),  # one warning per outage
                    "exits.cancel_failed client_order_id=%s ticker=%s outcome=%s retry_in_ms=%d",
                    cid,
                    order.ticker,
                    result.outcome.value,
                    wait_ms,
                )
        return stale

    async def apply_exits(
        self, decisions: list[ExitDecision] | tuple[ExitDecision, ...]
    ) -> list[CloseResult]:
        """Close what the rules decided; a stop loss starts the market's re-entry cooldown."""
        now = self.clock.now_ms()
        for decision in decisions:
            if decision.reason is ExitReason.STOP_LOSS:
                self.stop_loss_ms[decision.ticker] = now
        return await self.closer.apply(decisions)

    async def run_exit_timer(self) -> None:
        """Run ``exit_tick`` every ``time_rules_interval_s``, and at once after a fill of ours."""
        interval_s = self._core.config.exit_rules.time_rules_interval_s
        while True:
            await self._fill_or_tick(interval_s)
            self._fill_wake.clear()
            try:
                await self.exit_tick()
            except Exception:  # one failed pass must not end the timer; calibration covers the gap
                log.exception("exits.tick_failed")

    async def _fill_or_tick(self, seconds: float) -> None:
        """Return after ``seconds`` of the trader's clock (not the wall's: a manual or scaled clock
        runs the time rules at its own pace), or at once when a fill of ours wakes the timer."""
        if self._fill_wake.is_set():
            return
        tick = asyncio.ensure_future(self.clock.sleep(seconds))
        fill = asyncio.ensure_future(self._fill_wake.wait())
        try:
            await asyncio.wait({tick, fill}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            tick.cancel()
            fill.cancel()

    def on_fills(self) -> None:
        """Our fills booked since: move their positions' exit prices at entry, wake the timer.

        Also called by ``TraderCore.position_views`` when fills are pending, so no view is read
        with a new position but its old entry reference.
        """
        core = self._core
        touched: set[str] = set()
        for item in self.fills.drain():
            if isinstance(item, FillBooked):
                touched.add(item.fill.ticker)
        for ticker in sorted(touched):
            position = self.ledger.positions.get(ticker)
            book = self.books.book(ticker)
            core.entries.update(ticker, 0 if position is None else int(position.position), book)
        core.position_index.refresh(touched)  # their entry references moved
        self.filled_since_tick |= touched
        if self.filled_since_tick:
            self._fill_wake.set()
