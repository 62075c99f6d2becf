"""The trader's core, composed: ledger, execution, live updates, reconciliation, exits, groups, risk.

``TraderCore`` wires the parts for one account and exposes the three things the lifecycle (next
issue) drives: ``calibrate()`` (sync with the exchange, then close what the exit rules say, resolve
orders in flight, tick the order groups), ``open_position()`` (policy decisions through the risk
gate) and ``flatten()``. It holds no trading logic of its own: rules live in ``exit_rules/`` and
``risk/``, money in the ledger, order handling in the executor, and when the exit rules run
(per book change, on the timer, after our fills) in ``ExitDriver`` (``core.exits``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kalshiflow.clock import Clock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import intent_to_v2
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.bus import EventBus
from kalshiflow.exchange.models_market import Market
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_models import EventFeeUpdate
from kalshiflow.features.valuation import CashView, MarketView, PositionView
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.trader.calibration.reconcile import Reconciler
from kalshiflow.trader.calibration.report import CalibrationReport
from kalshiflow.trader.config import (
    CalibrationConfig,
    ExitRulesConfig,
    OpenOrdersConfig,
    OrderGroupConfig,
    QueuePositionsConfig,
    RiskLimits,
)
from kalshiflow.trader.execution.closing import CloseResult, PositionCloser
from kalshiflow.trader.execution.in_flight import OrderExecutor
from kalshiflow.trader.execution.intents import ExecutionConfig, ExecutionResult
from kalshiflow.trader.execution.intents import OrderIntent as ExecIntent
from kalshiflow.trader.execution.order_groups import OrderGroupManager
from kalshiflow.trader.execution.queue_positions import QueueTracker
from kalshiflow.trader.exit_driver import ExitDriver
from kalshiflow.trader.exit_rules.base import ExitDecision, ExitRule
from kalshiflow.trader.exit_rules.entries import EntryReferences
from kalshiflow.trader.exit_rules.registry import EXIT_RULES, evaluate_exits
from kalshiflow.trader.risk.counters import RiskCounters
from kalshiflow.trader.risk.daily_pnl import DAY_MS, DailyRealized
from kalshiflow.trader.risk.gate import check_order
from kalshiflow.trader.risk.kill_switch import kill_switch_reason
from kalshiflow.trader.risk.types import (
    MarketRiskState,
    OrderIntent,
    PnlView,
    RiskContext,
    RiskDecision,
    TradeAction,
)
from kalshiflow.trader.state.fees import FeeSchedule
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.live_updates import LiveUpdates
from kalshiflow.trader.state.orders import OrderPurpose
from kalshiflow.trader.state.position_views import PositionViews

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoreConfig:
    """Every knob of the core, one frozen object per concern (see each class for fields and units)."""

    exit_rules: ExitRulesConfig = field(default_factory=ExitRulesConfig)
    risk: RiskLimits = field(default_factory=RiskLimits)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    order_groups: OrderGroupConfig = field(default_factory=OrderGroupConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    open_orders: OpenOrdersConfig = field(default_factory=OpenOrdersConfig)
    queue: QueuePositionsConfig = field(default_factory=QueuePositionsConfig)


@dataclass(frozen=True)
class CalibrationCycle:
    """One recalibration: the sync report, what the exit rules decided and what closing did."""

    report: CalibrationReport
    exits: tuple[ExitDecision, ...]
    closes: tuple[CloseResult, ...]
    resolved: tuple[ExecutionResult, ...]


@dataclass(frozen=True)
class OpenResult:
    decision: RiskDecision
    execution: ExecutionResult | None


class TraderCore:
    def __init__(
        self,
        rest: KalshiRestClient,
        clock: Clock,
        books: BookStore,
        markets: Mapping[str, Market],
        config: CoreConfig | None = None,
        fees: FeeSchedule | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.config = config or CoreConfig()
        self.bus = bus or EventBus()  # where the ledger, decisions and denials are published
        self.clock = clock
        self.rest = rest
        self.books = books
        self.markets: dict[str, Market] = dict(markets)
        # Each market's fee schedule: the ledger's reservations and the exit rules' fee estimates.
        # Scheduled fee changes take effect on this clock, at their time (``FeeSchedule``).
        self.fees = fees or FeeSchedule(clock=clock)
        if self.fees.clock is None:
            self.fees.clock = clock
        self.ledger = Ledger(self.fees, self.bus, own_prefix=self.config.execution.client_order_id_prefix)
        self.executor = OrderExecutor(
            rest, self.ledger, clock, config=self.config.execution, on_result=self._on_execution
        )
        self.closer = PositionCloser(self.executor, self.ledger, clock)
        self.groups = OrderGroupManager(rest, self.config.order_groups, clock)
        self.live = LiveUpdates(
            self.ledger, clock, on_group_update=self.groups.on_group_update, on_fee_update=self._on_fee_update
        )
        self.reconciler = Reconciler(rest, self.ledger, clock, self.config.calibration)
        # Queue positions of the resting orders, for the view and the dashboard (its own task: ``run``).
        self.queue = QueueTracker(rest, self.ledger, books, self.bus, clock, self.config.queue)
        self.risk_counters = RiskCounters()
        self.reduce_only = False  # the lifecycle sets it while calibrating or paused
        self.manual_kill_switch: str | None = None  # who engaged the operator's kill switch
        self._last_order_ms: dict[str, int] = {}
        self._errors_ms: dict[str, list[int]] = {}
        self._peak_equity = Money(0)
        self._views: dict[str, MarketView] = {}
        self._views_stale = True  # set whenever ``markets`` changes
        self._views_fees = -1  # the fee schedule's version the views were built with
        self._daily = DailyRealized()
        self._pnl_key: tuple[int, int, int, int] | None = None  # pnl_view's inputs when last built
        self._pnl = PnlView()
        self.calibrating = False  # a calibration evaluates every exit rule itself
        # When the exit rules run (per book change, timer, fills): ``core.exits.react_to_book`` etc.
        self.exits = ExitDriver(self)
        # The driver's re-entry cooldown map, the same dict: ``risk_context`` reads it per order.
        self._stop_loss_ms = self.exits.stop_loss_ms
        self._exit_fills = self.exits.fills  # ``position_views`` reads it on every call
        self.entries = EntryReferences()  # exit price at entry, per position (price-space exits)
        # Position views and their valuations, kept current by the ledger's events (not per call).
        self.position_index = PositionViews(
            self.ledger, self.bus, clock, books, self.market_views, self.entries.reference
        )
        self._cash_view = CashView(self.ledger.cash, self.ledger.reserved)

    # ------------------------------------------------------------------ lifecycle entry points
    async def start(self) -> CalibrationCycle:
        """Create or reuse order groups, then run the startup calibration."""
        await self.groups.start()
        cycle = await self.calibrate()
        self.entries.adopt({p.ticker: p.position for p in self.ledger.open_positions()})
        self.position_index.refresh([p.ticker for p in self.ledger.open_positions()])
        return cycle

    async def load_fees(self) -> int:
        """Read the fee schedule of every market not resolved yet, then learn the scheduled fee
        changes: those due apply now, the others at their time on the trader's clock."""
        resolved = await self.fees.load(self.rest, self.markets.values())
        resolved += await self.fees.follow_changes(self.rest, self.clock.now_ms())
        if resolved:
            self._views_stale = True
        return resolved

    async def calibrate(self) -> CalibrationCycle:
        self.calibrating = True
        try:
            return await self._calibrate()
        finally:
            self.calibrating = False

    async def _calibrate(self) -> CalibrationCycle:
        # Markets added since (or whose fees failed to read) first: adopted orders reserve with them.
        await self.load_fees()
        report = await self.reconciler.calibrate(sorted(self.markets), self.books)
        # Close times and statuses change on the exchange: the exit rules and the risk gate read these.
        self.markets.update({t: m for t, m in self.reconciler.markets.items() if t in self.markets})
        self._views_stale = True
        resolved = tuple(await self.executor.resolve_unknown())
        # A failed check (cash below the reserve) stops opening, not closing; a failed sync stops both.
        decisions = tuple(self.exit_decisions()) if report.ok or self.reconciler.exits_allowed else ()
        closes = tuple(await self.exits.apply_exits(decisions))
        await self.groups.tick(kill_switch=self._kill_switch_on())
        return CalibrationCycle(report, decisions, closes, resolved)

    def exit_decisions(
        self, tickers: Iterable[str] | None = None, rules: tuple[ExitRule, ...] = EXIT_RULES
    ) -> list[ExitDecision]:
        """What ``rules`` decide for the positions in ``tickers`` (all positions when None)."""
        positions = self.position_views()
        if tickers is not None:
            positions = {t: positions[t] for t in tickers if t in positions}
        if not positions:
            # Every rule decides about a held position (a closing order counts only with its
            # position): none held, no decision -- and no views to gather (the time rules' tick).
            return []
        return evaluate_exits(
            positions.values(),
            {t: b for t in positions if (b := self.books.book(t)) is not None},
            self.market_views(),
            self.cash_view(),
            self.closer.closing_orders().values(),
            self.clock.now_ms(),
            self.config.exit_rules,
            rules,
        )

    async def close_position(self, ticker: str, reason: str, aggressive: bool = False) -> CloseResult:
        market = self.markets[ticker]
        return await self.closer.close_position(
            ticker, reason, self.books.book(ticker), market.grid, aggressive
        )

    async def flatten(self, reason: str, aggressive: bool = True) -> list[CloseResult]:
        books = {t: b for t in self.markets if (b := self.books.book(t)) is not None}
        grids: dict[str, PriceGrid] = {t: m.grid for t, m in self.markets.items()}
        return await self.closer.flatten(reason, books, grids, aggressive)

    async def open_position(
        self, ticker: str, action: TradeAction, price: Price, count: Count, *, post_only: bool = False
    ) -> OpenResult:
        """A policy decision: through the risk gate, then placed as a limit order in its order group.

        ``post_only``: a passive order that must rest (the exchange refuses it if it would cross).
        """
        intent = OrderIntent(ticker, action, price, count)
        now = self.clock.now_ms()
        decision = check_order(intent, self.risk_context(ticker), self.config.risk, now)
        self.risk_counters.record(decision)
        if not decision.allowed:
            return OpenResult(decision, None)
        if not self.groups.can_trade(ticker):
            return OpenResult(decision, None)
        group_id = await self.groups.ensure(ticker)
        v2 = intent_to_v2(action.side, action.action, price)
        execution = await self.executor.place(
            ExecIntent(
                ticker,
                v2.side,
                v2.yes_price,
                count,
                OrderPurpose.OPEN,
                order_group_id=group_id,
                post_only=post_only,
            )
        )
        self._last_order_ms[ticker] = now
        return OpenResult(decision, execution)

    def shift_times(self, delta_ms: int) -> None:
        """A new exchange session moved the clock by ``delta_ms`` (back: negative). The per-market
        stamps the risk gate measures from (last opening order, recent errors, last stop loss) move
        with it, so a throttle, breaker or cooldown keeps what was left of it instead of lasting
        until the new clock passes the old session's time."""
        for stamps in (self._last_order_ms, self._stop_loss_ms):
            for ticker in stamps:
                stamps[ticker] += delta_ms
        for ticker, errors in self._errors_ms.items():
            self._errors_ms[ticker] = [t + delta_ms for t in errors]

    def add_markets(self, markets: Iterable[Market]) -> int:
        """Start watching markets the discovery refresh selected; returns how many were new."""
        added = 0
        for market in markets:
            if market.ticker not in self.markets:
                self.markets[market.ticker] = market
                added += 1
        if added:
            self._views_stale = True
        return added

    def forget_markets(self, selected: Iterable[str]) -> int:
        """Stop watching markets the discovery refresh dropped; returns how many were forgotten.

        Why: without it the watched set only grew (every market ever selected, settled ones too),
        so each calibration read more markets and books than the trader follows, and its
        "18/41 markets viable" counted markets it no longer trades. A market with an open position
        or an order in flight is kept: its exits, settlement and cancels still need it.
        """
        keep = set(selected)
        keep.update(p.ticker for p in self.ledger.open_positions())
        keep.update(o.ticker for o in self.ledger.live_orders())
        gone = [t for t in self.markets if t not in keep]
        for ticker in gone:
            del self.markets[ticker]
            self.reconciler.markets.pop(ticker, None)
        if gone:
            self._views_stale = True
        return len(gone)

    # ------------------------------------------------------------------ views for rules and risk
    def position_views(self) -> Mapping[str, PositionView]:
        """Open positions by ticker (``PositionViews``: current, not rebuilt per call; read-only).

        Fills booked but not yet handled are handled first: the ledger shows a new position at
        once, while its exit price at entry arrives with ``ExitDriver.on_fills`` on a later loop turn.
        Read in between, the price rules measured from the fee-inclusive cost instead and stopped out
        on the entry spread alone, milliseconds after the fill.
        """
        if len(self._exit_fills):
            self.exits.on_fills()
        return self.position_index.views()

    def market_views(self) -> dict[str, MarketView]:
        # Built once per change of the market set, not per decision: the decision path reads it
        # several times and its cost grows with the number of markets.
        # A fee change that fell due since (read by ``version``) rebuilds them too.
        fees_version = self.fees.version
        if self._views_stale or len(self._views) != len(self.markets) or fees_version != self._views_fees:
            self._views_fees = fees_version
            self._views = {
                t: MarketView(t, m.status, m.close_time_ms, m.grid, *self.fees(t))
                for t, m in self.markets.items()
            }
            self._views_stale = False
        return self._views

    def cash_view(self) -> CashView:
        # Reused while cash and reservations are unchanged: a decision reads it up to three times
        # (observation, exits, risk context) and it changes only when an order or fill moves money.
        cash, reserved, view = self.ledger.cash, self.ledger.totals.reserved, self._cash_view
        if view.available != cash or view.reserved != reserved:
            view = self._cash_view = CashView(cash, Money(reserved))
        return view

    def risk_context(self, ticker: str) -> RiskContext:
        # Every figure here is kept current as the ledger changes (``LedgerTotals``, ``PositionViews``),
        # so building the context reads sums instead of looping over orders and positions.
        # Positional arguments, in field order (``MarketRiskState``, ``RiskContext``): this runs for
        # every order and a keyword costs a name match per field; a market with no errors shares ().
        totals = self.ledger.totals
        errors = self._errors_ms.get(ticker)
        state = MarketRiskState(
            self._last_order_ms.get(ticker),  # last_order_at_ms
            () if errors is None else tuple(errors),  # error_times_ms
            Count(totals.open_contracts_in.get(ticker, 0)),  # resting_open_contracts
            self.closer.is_closing(ticker),  # being_closed
            self._stop_loss_ms.get(ticker),  # last_stop_loss_ms
        )
        return RiskContext(
            self.market_views().get(ticker),  # market
            self.books.book(ticker),  # book
            self.position_views(),  # positions
            self.cash_view(),  # cash
            self.pnl_view(),  # pnl
            state,  # market_state
            Count(totals.open_contracts),  # total_resting_open_contracts
            self.reduce_only,  # reduce_only_mode
            self.manual_kill_switch,  # manual_kill_switch
            Money(totals.held_cost),  # held_cost
            Count(totals.held_contracts),  # held_contracts
        )

    def pnl_view(self) -> PnlView:
        unrealized = self.position_index.unrealized()
        totals = self.ledger.totals
        equity = self.ledger.cash + totals.reserved + totals.held_cost + unrealized
        now_ms = self.clock.now_ms()
        # The same view while its inputs are unchanged (the peak then cannot move either): every
        # opening order reads it, and between fills and book moves of held markets it stays put.
        key = (unrealized, equity, totals.realized, now_ms // DAY_MS)
        if key == self._pnl_key:
            return self._pnl
        self._peak_equity = Money(max(self._peak_equity, equity))
        self._pnl_key, self._pnl = (
            key,
            PnlView(
                daily_realized=self._daily.of(now_ms, Money(totals.realized)),
                unrealized=Money(unrealized),
                equity=Money(equity),
                peak_equity=self._peak_equity,
            ),
        )
        return self._pnl

    # ------------------------------------------------------------------ internals
    def kill_switch_text(self) -> str | None:
        """Why the kill switch is on (the operator's, or a breached limit), None when it is off."""
        if self.manual_kill_switch is not None:
            return f"engaged by {self.manual_kill_switch}"
        breach = kill_switch_reason(self.pnl_view(), self.config.risk)
        return None if breach is None else breach[1]

    def _kill_switch_on(self) -> bool:
        return self.kill_switch_text() is not None

    def _on_fee_update(self, update: EventFeeUpdate) -> None:
        """An event's fee overrides pushed by the exchange: in force at once (``FeeSchedule``)."""
        changed = self.fees.apply_override(
            update.event_ticker, update.fee_type_override, update.fee_multiplier_override
        )
        if changed:
            log.info("fees.pushed event %s: %d markets changed", update.event_ticker, changed)

    def _on_execution(self, result: ExecutionResult) -> None:
        """Exchange errors feed the per-market circuit breaker; a refused group trigger the manager."""
        order = self.ledger.orders.get(result.client_order_id)
        if order is None or result.error_code is None:
            return
        errors = self._errors_ms.setdefault(order.ticker, [])
        errors.append(result.ts_ms)
        # Only errors that can still trip or hold the breaker matter; older ones are forgotten.
        limits = self.config.risk
        horizon = result.ts_ms - (limits.circuit_breaker_window_s + limits.circuit_breaker_cooldown_s) * 1000
        while errors and errors[0] < horizon:
            errors.pop(0)
        if result.order_group_id is not None and result.error_code == "order_group_triggered":
            self.groups.on_create_refused(result.order_group_id, result.ts_ms)
