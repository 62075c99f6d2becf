"""One backtest run: one policy, one seed, H simulated hours, through the real trader core.

The composition is ``run``'s, minus the sockets and the store: a ``TraderCore`` (ledger, risk gate,
exit rules, execution, order groups, reconciliation) on the venue's REST client, the lifecycle and
its ``Recalibrator`` (startup calibration, then one every ``calibration.interval_s``), the live
observer of ``run`` (schema-v1 features) and the ``Actor``. The driver advances simulated time in
steps of ``step_ms``; after each step the actor decides on every market whose book changed (exits
first, as live), the time rules run every ``time_rules_interval_s``, and the frames each action
caused are delivered before the market moves on.

What is recorded is plain data (``RunRecord``): every fill of ours with the mid just before the
frames that carried it and the simulator's true probability, the markouts of each fill at 10 s and
60 s and at settlement (or the true probability at the end when the market is not determined yet),
equity marked at the exit price every ``sample_ms``, orders sent, exit reasons and time in each
lifecycle state. Money stays exact; statistics are computed from it in ``metrics.py``.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from kalshiflow.commands.backtest.venue import SimVenue
from kalshiflow.commands.decider import LiveObserver
from kalshiflow.config import Settings, policy_exit_rules
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import COUNT_SCALE, MONEY_SCALE, ZERO_MONEY, Money, Price
from kalshiflow.events.bus import EventBus
from kalshiflow.events.ledger import FillBooked
from kalshiflow.exchange.models_market import Market
from kalshiflow.features import SCHEMA_V1
from kalshiflow.features.public_mid import public_yes_touch
from kalshiflow.features.valuation import value_position
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.policy.base import Policy
from kalshiflow.policy.random_policy import RandomPolicy
from kalshiflow.policy.registry import load_policy
from kalshiflow.trader.core import CoreConfig, TraderCore
from kalshiflow.trader.decisions.actor import Actor
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.states import Lifecycle, TraderState
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder

MARKOUT_HORIZONS_MS: Final = (10_000, 60_000)
STARTING_BALANCE: Final = Money.dollars(10_000)


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill of ours. ``direction`` is +1 when it added YES exposure (bought YES / sold NO)."""

    ts_ms: int
    ticker: str
    client_order_id: str | None
    direction: int
    yes_price: Price
    count: int  # Count units (0.01 contract)
    fee: Money
    is_taker: bool
    purpose: str  # open / close / external
    close_reason: str | None
    mid: float | None  # the trader's YES mid just before the frames that carried the fill, dollars
    true_probability: float | None
    markouts: dict[str, float] = field(default_factory=dict)  # horizon -> YES mid (or value) in dollars


@dataclass
class RunRecord:
    """Everything one run measured (exact money; prices of marks as floats for statistics only)."""

    policy: str
    seed: int
    hours: float
    start_equity: Money = ZERO_MONEY
    end_equity: Money = ZERO_MONEY
    equity: list[tuple[int, Money]] = field(default_factory=list)
    fills: list[FillRecord] = field(default_factory=list)
    orders_sent: int = 0
    open_orders: int = 0
    close_orders: int = 0
    decisions: int = 0
    denied: int = 0
    paper: int = 0  # trade decisions recorded and not sent (paper mode)
    exit_reasons: Counter[str] = field(default_factory=Counter)
    state_ms: Counter[str] = field(default_factory=Counter)
    per_market: dict[str, Money] = field(default_factory=dict)  # realized + marked P&L per ticker
    fees_paid: Money = ZERO_MONEY
    # Equity change with open positions valued at the simulator's true probability (what holding
    # them to settlement is worth in expectation, no exit fee) instead of the exit price: separates
    # a policy's edge from what liquidating its inventory at the end would cost. Dollars, a statistic.
    pnl_at_true_dollars: float = 0.0


def build_policy(spec: str, seed: int) -> Policy:
    """``random`` is seeded by the run's seed so that every seed trades a different random stream."""
    if spec.strip() == "random":
        return RandomPolicy(SCHEMA_V1, seed)
    return load_policy(spec, SCHEMA_V1)


def _mid(book: OrderBook | None, own: Sequence[TrackedOrder] = ()) -> float | None:
    """The YES mid of the book *without our own resting orders* (``own``: our live orders there).

    Why: a quote of ours that improves the touch moves the public mid toward itself, so its fill
    would look like half the spread it improved by less earned, and the markout after it (taken once
    our quote is gone) half a spread more adverse. The decomposition measures against the book the
    rest of the market shows (``features.public_mid``, which the training reward's mid mark reads too).
    """
    touch = public_yes_touch(book, own)
    if touch is None:
        return None
    bid, ask = touch
    return (bid + ask) / 2 / 10_000


class BacktestSession:
    """Drives one run; ``run()`` returns its ``RunRecord``."""

    def __init__(
        self,
        spec: str,
        seed: int,
        hours: float,
        settings: Settings,
        *,
        n_markets: int = 20,
        step_ms: int = 1_000,
        sample_ms: int = 60_000,
        on_progress: Callable[[int], None] | None = None,
        core_config: CoreConfig | None = None,
        paper: bool = False,
    ) -> None:
        """``paper``: the actor decides and records but sends nothing (as ``run`` in paper mode)."""
        self.spec, self.seed, self.hours, self.settings = spec, seed, hours, settings
        self.paper = paper
        self.n_markets, self.step_ms, self.sample_ms = n_markets, step_ms, sample_ms
        self.on_progress = on_progress
        self.core_config = core_config or CoreConfig(
            exit_rules=policy_exit_rules(settings.exit_rules, spec),
            risk=settings.risk,
            calibration=settings.calibration,
            order_groups=settings.order_groups,
            open_orders=settings.open_orders,
        )
        self.record = RunRecord(spec, seed, hours)
        self._pending: list[tuple[int, int, str, FillRecord]] = []  # (due, seq, horizon, fill)
        self._seq = 0
        self._pre_mid: dict[str, float | None] = {}
        self.core: TraderCore | None = None  # kept after the run for inspection (tests, reports)
        self.venue: SimVenue | None = None

    async def run(self) -> RunRecord:
        venue = SimVenue(self.seed, self.n_markets, STARTING_BALANCE)
        try:
            return await self._run(venue)
        finally:
            await venue.aclose()

    async def _run(self, venue: SimVenue) -> RunRecord:
        clock = venue.clock
        bus = EventBus()
        listed = await venue.rest.list_markets(status="open")
        markets = {m.ticker: m for m in listed}
        books = BookStore(clock)
        for market in markets.values():
            books.register(market.ticker, market.grid)
        core = TraderCore(venue.rest, clock, books, markets, self.core_config, bus=bus)
        self.core, self.venue = core, venue
        fills = bus.subscribe("backtest.fills", [FillBooked], max_queue=1_000_000)
        venue.connect(books, markets, core.live.handle)
        lifecycle = Lifecycle(clock, bus=bus)
        run = self.settings.run
        recal = Recalibrator(
            core,
            lifecycle,
            clock,
            pause_after_errors=run.pause_after_errors,
            resume_backoff_s=run.resume_backoff_s,
            drift_recalibrate=run.drift_recalibrate_dollars,
        )
        await core.load_fees()
        await core.groups.start()
        await recal.run_once("startup")
        observer = LiveObserver(core, self.settings)
        policy = build_policy(self.spec, self.seed)
        actor = Actor(
            books,
            core,
            policy,
            observer.observe,
            run.order_size_contracts,
            clock,
            may_trade=lambda: lifecycle.state is TraderState.TRADING,
            paper=self.paper,
        )
        rec = self.record
        rec.start_equity = core.pnl_view().equity
        start = clock.now_ms()
        end = start + round(self.hours * 3_600_000)
        exit_every = round(self.core_config.exit_rules.time_rules_interval_s * 1000)
        calib_every = self.settings.calibration.interval_s * 1000
        next_exit, next_calib, next_sample = start + exit_every, start + calib_every, start
        now = start
        while now < end:
            self._snapshot_mids(books, _live_tickers(core))  # only our resting orders fill meanwhile
            venue.advance_to(min(end, now + self.step_ms))
            self._collect(fills.drain(), venue, core)
            prev, now = now, clock.now_ms()
            rec.state_ms[lifecycle.state.value] += now - prev
            self._snapshot_mids(books)
            await actor.drain()
            venue.pump()
            self._collect(fills.drain(), venue, core)
            if now >= next_exit:
                self._snapshot_mids(books, _live_tickers(core) | _held_tickers(core))
                await core.exits.exit_tick()
                venue.pump()
                self._collect(fills.drain(), venue, core)
                next_exit = now + exit_every
            if now >= next_calib:
                if venue.lists_unknown_market(core.markets):
                    self._add_new_markets(core, books, venue, await venue.rest.list_markets(status="open"))
                await recal.run_once("scheduled")
                venue.pump()
                self._collect(fills.drain(), venue, core)
                next_calib = now + calib_every
            self._resolve_markouts(now, books)
            if now >= next_sample:
                rec.equity.append((now, core.pnl_view().equity))
                next_sample = now + self.sample_ms
                if self.on_progress is not None:
                    self.on_progress(now - start)
        self._finish(core, venue, books, actor)
        return rec

    # ------------------------------------------------------------------ recording
    def _snapshot_mids(self, books: BookStore, tickers: Iterable[str] | None = None) -> None:
        """The mid of ``tickers`` (every market when None) before the next frames are delivered:
        only markets where a fill of ours can arrive before the next snapshot need one (a third of
        a run's driver time went into taking every market's mid three times a step)."""
        self._pre_mid = {
            t: _mid(books.book(t), self._own(t)) for t in (books.tickers if tickers is None else tickers)
        }

    def _own(self, ticker: str) -> Sequence[TrackedOrder]:
        return self.core.ledger.live_orders(ticker) if self.core is not None else ()

    def _collect(self, items: list[object], venue: SimVenue, core: TraderCore) -> None:
        for item in items:
            if not isinstance(item, FillBooked):
                continue
            fill = item.fill
            order = core.ledger.orders.get(fill.client_order_id or "")
            purpose = order.purpose.value if order is not None else OrderPurpose.EXTERNAL.value
            reason = order.close_reason if order is not None else None
            record = FillRecord(
                ts_ms=fill.ts_ms,
                ticker=fill.ticker,
                client_order_id=fill.client_order_id,
                direction=1 if fill.side is BookSide.BID else -1,
                yes_price=fill.yes_price,
                count=int(fill.count),
                fee=fill.fee,
                is_taker=fill.is_taker,
                purpose=purpose,
                close_reason=reason,
                mid=self._pre_mid.get(fill.ticker),
                true_probability=venue.true_probability(fill.ticker),
            )
            self.record.fills.append(record)
            self.record.fees_paid = Money(self.record.fees_paid + fill.fee)
            for horizon in MARKOUT_HORIZONS_MS:
                self._seq += 1
                bisect.insort(self._pending, (fill.ts_ms + horizon, self._seq, f"{horizon // 1000}s", record))

    def _resolve_markouts(self, now: int, books: BookStore) -> None:
        while self._pending and self._pending[0][0] <= now:
            _, _, horizon, record = self._pending.pop(0)
            mid = _mid(books.book(record.ticker), self._own(record.ticker))
            if mid is not None:
                record.markouts[horizon] = mid

    def _add_new_markets(
        self, core: TraderCore, books: BookStore, venue: SimVenue, listed: list[Market]
    ) -> None:
        fresh = [m for m in listed if m.ticker not in core.markets]
        for market in fresh:
            books.register(market.ticker, market.grid)
        if fresh:
            core.add_markets(fresh)
            venue.watch(m.ticker for m in fresh)

    def _finish(self, core: TraderCore, venue: SimVenue, books: BookStore, actor: Actor) -> None:
        rec = self.record
        rec.end_equity = core.pnl_view().equity
        rec.equity.append((venue.clock.now_ms(), rec.end_equity))
        for _, _, horizon, record in self._pending:  # horizons past the end: the last mid
            mid = _mid(books.book(record.ticker), self._own(record.ticker))
            if mid is not None:
                record.markouts.setdefault(horizon, mid)
        self._pending.clear()
        for record in rec.fills:
            value = venue.settlement_value(record.ticker)
            if value is None:
                value = venue.true_probability(record.ticker)
            if value is not None:
                record.markouts["settle"] = value
        metrics = actor.metrics
        rec.decisions, rec.denied, rec.paper = metrics.decisions, metrics.denied, metrics.paper
        for order in core.ledger.orders.values():
            if order.sent_ms is None and order.order_id is None:
                continue
            rec.orders_sent += 1
            if order.purpose is OrderPurpose.OPEN:
                rec.open_orders += 1
            elif order.purpose is OrderPurpose.CLOSE:
                rec.close_orders += 1
                rec.exit_reasons[order.close_reason or "unknown"] += 1
        rec.pnl_at_true_dollars = _pnl_at_true(core, venue) - int(rec.start_equity) / MONEY_SCALE
        views, positions = core.market_views(), core.position_views()
        for ticker, position in core.ledger.positions.items():
            pnl = int(position.realized_pnl)  # after fees
            view, book, market = positions.get(ticker), books.book(ticker), views.get(ticker)
            if view is not None and book is not None and market is not None:
                valuation = value_position(view, book, market)
                if valuation is not None:
                    pnl += int(valuation.unrealized)
            rec.per_market[ticker] = Money(pnl)


def _pnl_at_true(core: TraderCore, venue: SimVenue) -> float:
    """Equity in dollars with each open position at the settlement value (when determined) or the
    true probability of the side held."""
    ledger = core.ledger
    dollars = (int(ledger.cash) + int(ledger.reserved)) / MONEY_SCALE
    for ticker, position in ledger.positions.items():
        contracts = int(position.position) / COUNT_SCALE
        if not contracts:
            continue
        q = venue.settlement_value(ticker)
        if q is None:
            q = venue.true_probability(ticker)
        if q is None:  # no longer modelled: at its cost, as the exit-price mark would skip it too
            dollars += int(position.cost_basis) / MONEY_SCALE
            continue
        dollars += contracts * q if contracts > 0 else -contracts * (1.0 - q)
    return dollars


def _live_tickers(core: TraderCore) -> set[str]:
    return {order.ticker for order in core.ledger.live_orders()}


def _held_tickers(core: TraderCore) -> set[str]:
    return {ticker for ticker, position in core.ledger.positions.items() if position.is_open}
