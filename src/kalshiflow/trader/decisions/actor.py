"""The actor: for the next changed market, observation -> policy -> risk gate -> execution.

It drains the BookStore's dirty set (ARCHITECTURE section 2): however many deltas arrived for a
market while the actor was busy, the next decision sees the newest book, and the work queue is
bounded by the number of markets. A decision is taken only on a valid book while the trader may take
new exposure; one that was computed and then overtaken (the book went invalid, or calibration began
while the policy ran) is discarded before anything is sent, so stale decisions are zero by
construction and counted to prove it.

Every decision is reported as a ``TraderAction`` value: market, named observation, action, price,
size, reason, and what execution did with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kalshiflow.clock import Clock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.units import Count, Price
from kalshiflow.events.trader import ActionResult, RiskDenied
from kalshiflow.events.trader import TraderAction as TraderAction
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.policy.base import Action as PolicyAction
from kalshiflow.policy.base import Policy
from kalshiflow.textfmt import plural
from kalshiflow.trader.core import OpenResult, TraderCore
from kalshiflow.trader.execution.intents import ExecOutcome
from kalshiflow.trader.risk.types import TradeAction

log = logging.getLogger(__name__)


PolicyLike = Policy


Observe = Callable[[str, OrderBook], Sequence[float] | None]


@dataclass
class ActorMetrics:
    decisions: int = 0
    holds: int = 0
    orders_sent: int = 0
    paper: int = 0  # paper mode: trade decisions recorded and not sent
    denied: int = 0
    deferred: int = 0  # dirty markets skipped while reduce-only (the next change decides afresh)
    invalid_books: int = 0
    discarded_stale: int = 0  # computed, then overtaken before sending: never sent
    stale_decisions: int = 0  # decisions sent on an invalid book or while reduce-only: must stay 0
    max_decision_lag_ms: int = 0
    last_decision_lag_ms: int = 0
    errors: int = 0  # decisions that raised (logged; the loop carries on)
    consecutive_errors: int = 0

    def summary(self, paper: bool = False) -> str:
        """One line for the end of a run, e.g. ``1,204 decisions: 1,170 hold, 34 paper trades (not
        sent), 0 orders sent, 0 denied``: a paper run otherwise ends without saying what it decided.
        ``paper``: the run was on paper (its paper trades are named even when there were none)."""
        parts = [f"{self.holds:,} hold"]
        if paper or self.paper:
            parts.append(f"{plural(self.paper, 'paper trade')} (not sent)")
        parts += [f"{plural(self.orders_sent, 'order')} sent", f"{self.denied:,} denied"]
        if self.errors:
            parts.append(plural(self.errors, "error"))
        return f"{plural(self.decisions, 'decision')}: " + ", ".join(parts)


# ``Action.name`` is a Python-level enum property; the actor reads it once per decision.
_ACTION_NAMES: dict[PolicyAction, str] = {action: action.name for action in PolicyAction}

# What a create's outcome means for the decision that asked for it.
_EXECUTION_RESULTS: dict[ExecOutcome, ActionResult] = {
    ExecOutcome.PLACED: ActionResult.PLACED,
    ExecOutcome.REJECTED: ActionResult.REJECTED,
    ExecOutcome.UNKNOWN: ActionResult.UNKNOWN,
}


def touch_price(book: OrderBook, action: TradeAction) -> Price | None:
    """Limit at the touch: buy at the side's ask, sell at the side's bid (NO prices are 1 - YES)."""
    side = action.side
    if action in (TradeAction.BUY_YES, TradeAction.BUY_NO):
        return book.best_ask(side)
    return book.best_bid(side)


def passive_price(book: OrderBook, action: TradeAction, grid: PriceGrid, improve_ticks: int) -> Price | None:
    """A post-only limit: join the own side of the touch, ``improve_ticks`` inside when the spread allows.

    Buying rests on the side's bid (at most one tick below its ask); selling rests on the side's ask
    (at least one tick above its bid). None when that side of the book is empty.
    """
    side = action.side
    bid, ask = book.best_bid(side), book.best_ask(side)
    if bid is None or ask is None:
        return None
    if action in (TradeAction.BUY_YES, TradeAction.BUY_NO):
        price = grid.step_up(bid, improve_ticks) if improve_ticks else bid
        below_ask = grid.step_down(ask)
        if price is None or below_ask is None:
            return None
        return Price(min(int(price), int(below_ask))) if int(below_ask) >= int(bid) else None
    price = grid.step_down(ask, improve_ticks) if improve_ticks else ask
    above_bid = grid.step_up(bid)
    if price is None or above_bid is None:
        return None
    return Price(max(int(price), int(above_bid))) if int(above_bid) <= int(ask) else None


class Actor:
    def __init__(
        self,
        books: BookStore,
        core: TraderCore,
        policy: PolicyLike,
        observe: Observe,
        size: Count,
        clock: Clock,
        may_trade: Callable[[], bool],
        paper: bool = False,
    ) -> None:
        """``paper``: decide, price and record every decision, but send nothing (``ActionResult.PAPER``)."""
        self.books = books
        self.core = core
        self.policy = policy
        self.observe = observe
        self.size = size
        self.clock = clock
        self.may_trade = may_trade
        self.paper = paper
        self.metrics = ActorMetrics()
        self.recent: list[TraderAction] = []

    async def run(self) -> None:
        while True:
            await self.books.wait_dirty()
            await self.drain()

    async def drain(self) -> int:
        """Decide once for every market that changed; returns how many were looked at."""
        batch = self.books.drain_dirty_since()
        exits = self.core.exits
        for ticker, first_changed_ms in batch:
            try:
                # Exits first: a held market's take profit / stop loss reacts to this very change
                # (``react_to_book`` in two steps: only a decision to close is awaited).
                closes = exits.book_exits(ticker)
                if closes:
                    await exits.apply_exits(closes)
                await self.decide(ticker, first_changed_ms)
            except Exception:
                # One market's failure must not stop trading the others; the lifecycle pauses the
                # trader when errors repeat (``consecutive_errors``).
                self.metrics.errors += 1
                self.metrics.consecutive_errors += 1
                log.exception("actor.decision_failed ticker=%s", ticker)
            else:
                self.metrics.consecutive_errors = 0
        return len(batch)

    async def decide(self, ticker: str, first_changed_ms: int) -> TraderAction | None:
        if not self.may_trade():
            self.metrics.deferred += 1
            return None
        book = self.books.book(ticker)
        if book is None or not book.valid or ticker not in self.core.markets:
            self.metrics.invalid_books += 1
            return None
        observation = self.observe(ticker, book)
        if observation is None:
            self.metrics.invalid_books += 1
            return None
        decision = self.policy.decide(observation)
        now = self.clock.now_ms()
        lag = max(0, now - first_changed_ms)
        self.metrics.decisions += 1
        self.metrics.last_decision_lag_ms = lag
        self.metrics.max_decision_lag_ms = max(self.metrics.max_decision_lag_ms, lag)
        name = _ACTION_NAMES[decision.action]
        obs = tuple(observation)
        action = TradeAction.for_policy_action(decision.action)
        if action is None:
            self.metrics.holds += 1
            return self._report(
                TraderAction(
                    now, ticker, name, None, self.size, decision.reason, ActionResult.HOLD, obs, None, lag
                )
            )
        if decision.passive:
            improve = self.core.config.open_orders.passive_improve_ticks
            price = passive_price(book, action, self.core.markets[ticker].grid, improve)
        else:
            price = touch_price(book, action)
        if price is None:
            return self._report(
                TraderAction(
                    now, ticker, name, None, self.size, decision.reason, ActionResult.NO_PRICE, obs, None, lag
                )
            )
        if not self.may_trade() or not book.valid:  # overtaken while the policy ran
            self.metrics.discarded_stale += 1
            return self._report(
                TraderAction(
                    now,
                    ticker,
                    name,
                    price,
                    self.size,
                    decision.reason,
                    ActionResult.DISCARDED_STALE,
                    obs,
                    None,
                    lag,
                )
            )
        if self.paper:
            self.metrics.paper += 1
            return self._report(
                TraderAction(
                    now, ticker, name, price, self.size, decision.reason, ActionResult.PAPER, obs, None, lag
                )
            )
        result = await self.core.open_position(ticker, action, price, self.size, post_only=decision.passive)
        return self._report(self._outcome(result, now, ticker, name, price, decision.reason, obs, lag))

    def _outcome(
        self,
        result: OpenResult,
        now: int,
        ticker: str,
        name: str,
        price: Price,
        reason: str,
        obs: tuple[float, ...],
        lag: int,
    ) -> TraderAction:
        decision = result.decision
        if not decision.allowed:
            self.metrics.denied += 1
            code = decision.reason.value
            self.core.bus.publish(RiskDenied(now, ticker, code, decision.check, decision.detail))
            return TraderAction(
                now, ticker, name, price, self.size, reason, ActionResult.DENIED, obs, None, lag, code
            )
        execution = result.execution
        if execution is None:
            return TraderAction(
                now, ticker, name, price, self.size, reason, ActionResult.GROUP_TRIGGERED, obs, None, lag
            )
        self.metrics.orders_sent += 1
        return TraderAction(
            now,
            ticker,
            name,
            price,
            self.size,
            reason,
            _EXECUTION_RESULTS.get(execution.outcome, ActionResult.REJECTED),
            obs,
            execution.client_order_id,
            lag,
            detail=execution.detail,
        )

    def named_observation(self, action: TraderAction, names: Sequence[str]) -> dict[str, float]:
        """The observation of ``action`` keyed by feature name (for logs and the dashboard)."""
        return {} if action.observation is None else dict(zip(names, action.observation, strict=True))

    def _report(self, action: TraderAction) -> TraderAction:
        self.recent.append(action)
        del self.recent[:-200]
        self.core.bus.publish(action)
        return action
