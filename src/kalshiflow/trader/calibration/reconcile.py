"""Calibration: the one procedure, at startup and periodically, that makes the ledger equal the exchange.

ARCHITECTURE §3 and issue 4: (1) sync state -- read balance, positions, resting orders, fills since
the last seen one and settlements, then apply the difference atomically with the exchange winning
and every correction logged as drift; (2) checks -- markets viable, portfolio healthy, cash
sufficient; (3) a ``CalibrationReport``. A failed startup calibration means no trading.

Why it is shaped this way:

* **Wall time.** All reads are independent, so they go out at once (``asyncio.gather``) together
  with the market and order-book reads the checks need; a pass costs one round trip plus the
  slowest read, not the sum.
* **REST calls do not grow with positions.** Only list endpoints are used (never a per-position or
  per-order read); order books are read in batches of 100 tickers, and only for tickers the
  ``BookStore`` has no valid book for. The count grows only with pagination.
* **Fills since the last seen one.** The fill watermark is the newest fill time booked; the next
  pass reads from ``watermark - fill_overlap_s`` (the API filters in whole seconds and fills of
  the same second may arrive late) and dedupes by ``trade_id`` in the ledger.
* **Atomic application.** Reads are awaited; the application (``reconcile_sync.apply_snapshot``)
  is synchronous. While the reads are in flight a ledger listener notes what live updates touched,
  and the "newer than the snapshot" rule (see ``reconcile_sync``) leaves those tickers for the next
  pass instead of overwriting fresher local state with an older snapshot.
* **Baseline.** On a fresh ledger (never synced, no fills) the fills and settlements of the
  lookback window are already part of the balance and positions: they are marked seen, not booked,
  so the fill channel cannot book them a second time later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence

from kalshiflow.clock import Clock
from kalshiflow.domain.orders import OrderStatus
from kalshiflow.events.bus import Missed
from kalshiflow.events.ledger import (
    LEDGER_EVENT_TYPES,
    CashChanged,
    FillBooked,
    OrderChanged,
    PositionChanged,
    SettlementBooked,
)
from kalshiflow.exchange.errors import ExchangeError, retry_log_level
from kalshiflow.exchange.models_market import ExchangeStatus, Market, Orderbook
from kalshiflow.exchange.models_portfolio import Balance, Fill, MarketPosition, Order, Settlement
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.rest_market import MARKETS_PAGE_SIZE, ORDERBOOKS_PER_CALL
from kalshiflow.exchange.rest_portfolio import PORTFOLIO_PAGE_SIZE
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.textfmt import plural
from kalshiflow.trader.calibration.checks import (
    CheckLimits,
    Finding,
    TopOfBook,
    cash_flow,
    market_viability,
    portfolio_health,
)
from kalshiflow.trader.calibration.drift import DriftTotals
from kalshiflow.trader.calibration.report import CalibrationReport, StepResult
from kalshiflow.trader.calibration.sync import (
    ExchangeSnapshot,
    LedgerActivity,
    SettlementKey,
    SyncOutcome,
    SyncPolicy,
    apply_snapshot,
)
from kalshiflow.trader.config import CalibrationConfig
from kalshiflow.trader.state.ledger import Ledger

log = logging.getLogger("kalshiflow.trader.calibration.reconcile")


def _pages(items: int, page_size: int) -> int:
    """Requests a cursor walk took: a full page is followed by one more request (Kalshi's cursor)."""
    return 1 + items // page_size


class CountingRest:
    """The reads calibration uses, each counted in HTTP requests (pages included, retries not)."""

    def __init__(self, rest: KalshiRestClient) -> None:
        self.rest = rest
        self.calls: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    async def balance(self) -> Balance:
        self.calls["balance"] += 1
        return await self.rest.balance()

    async def exchange_status(self) -> ExchangeStatus:
        self.calls["exchange_status"] += 1
        return await self.rest.exchange_status()

    async def positions(self) -> list[MarketPosition]:
        rows = await self.rest.positions(count_filter=["position"])
        self.calls["positions"] += _pages(len(rows), PORTFOLIO_PAGE_SIZE)
        return rows

    async def resting_orders(self) -> list[Order]:
        rows = await self.rest.orders(status=OrderStatus.RESTING)
        self.calls["orders"] += _pages(len(rows), PORTFOLIO_PAGE_SIZE)
        return rows

    async def fills(self, min_ts_s: int) -> list[Fill]:
        rows = await self.rest.fills(min_ts=min_ts_s)
        self.calls["fills"] += _pages(len(rows), PORTFOLIO_PAGE_SIZE)
        return rows

    async def settlements(self, min_ts_s: int) -> list[Settlement]:
        rows = await self.rest.settlements(min_ts=min_ts_s)
        self.calls["settlements"] += _pages(len(rows), PORTFOLIO_PAGE_SIZE)
        return rows

    async def markets(self, tickers: Sequence[str]) -> list[Market]:
        if not tickers:
            return []
        rows = await self.rest.list_markets(tickers=tickers)
        self.calls["markets"] += _pages(len(rows), MARKETS_PAGE_SIZE)
        return rows

    async def orderbooks(self, tickers: Sequence[str]) -> dict[str, Orderbook]:
        if not tickers:
            return {}
        unique = list(dict.fromkeys(tickers))
        self.calls["orderbooks"] += -(-len(unique) // ORDERBOOKS_PER_CALL)
        return await self.rest.orderbooks(unique, depth=1)


class _Steps:
    """Times the steps of one pass and collects their results."""

    def __init__(self) -> None:
        self.results: list[StepResult] = []

    def add(self, name: str, started: float, ok: bool, detail: str) -> None:
        self.results.append(StepResult(name, (time.perf_counter() - started) * 1000, ok, detail))


class Reconciler:
    """Runs calibration passes against one account; keeps the fill and settlement watermarks."""

    def __init__(
        self,
        rest: KalshiRestClient,
        ledger: Ledger,
        clock: Clock,
        config: CalibrationConfig | None = None,
        *,
        limits: CheckLimits | None = None,
        fill_overlap_s: int = 60,
        read_lag_grace_ms: int = 5_000,
    ) -> None:
        self.rest = CountingRest(rest)
        self.ledger = ledger
        self.clock = clock
        self.config = config or CalibrationConfig()
        self.limits = limits or CheckLimits(closing_order_max_age_s=self.config.closing_order_max_age_s)
        self.fill_overlap_s = fill_overlap_s
        self.read_lag_grace_ms = read_lag_grace_ms
        self.fill_watermark_ms: int | None = None
        self.settlement_watermark_ms: int | None = None
        self.seen_settlements: set[SettlementKey] = {(s.ticker, s.settled_ms) for s in ledger.settlements}
        self.passes = 0
        self.markets: dict[str, Market] = {}  # the latest read of every market a pass looked at
        # The last pass synced the ledger and the exchange trades: exits may act on the ledger even
        # when a check failed (cash below the reserve is exactly when cash recovery must close).
        self.exits_allowed = False
        self.failed_in_row = 0  # passes failed since the last that read the exchange (log levels)

    # ------------------------------------------------------------------ the procedure
    async def calibrate(self, markets: Sequence[str], books: BookStore | None = None) -> CalibrationReport:
        """One pass: sync state, run the checks, report. Never raises on exchange errors."""
        steps, t0 = _Steps(), self.clock.now_ms()
        self.exits_allowed = False
        calls_before = Counter(self.rest.calls)
        watched = list(dict.fromkeys(markets))
        position_tickers = [p.ticker for p in self.ledger.open_positions()]
        info_tickers = list(dict.fromkeys([*watched, *position_tickers]))
        # What live updates change while the reads are in flight (rule 4 of ``calibration.sync``).
        watching = self.ledger.bus.subscribe("calibration.activity", LEDGER_EVENT_TYPES, max_queue=100_000)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.config.max_duration_s):
                fetched = await self._fetch(t0, info_tickers, books)
        except Exception as exc:  # any failure of the reads fails the pass, and it says why
            reason = f"state sync failed: {_first_cause(exc)}"
            steps.add("fetch exchange state", started, False, reason)
            level = retry_log_level(self.failed_in_row > 0, self.rest.rest.unreachable)
            log.log(level, "calibration.failed reason=%s", reason, extra={"reason": reason})
            return self._failed(steps, t0, calls_before, reason)
        finally:
            watching.close()
            activity = _activity(watching.drain(), info_tickers)
        snap, status, market_list, rest_books = fetched
        steps.add("fetch exchange state", started, True, _fetched_detail(snap, market_list))

        started = time.perf_counter()
        policy = SyncPolicy(
            misses_to_give_up=self.config.not_found_misses_before_gone,
            read_lag_grace_ms=self.read_lag_grace_ms,
            baseline=self.ledger.synced_at_ms is None and not self.ledger.fills,
            first_sync=self.ledger.synced_at_ms is None,
        )
        cash_before = self.ledger.cash
        outcome = apply_snapshot(self.ledger, snap, activity, policy, self.seen_settlements, t0)
        self._advance_watermarks(outcome)
        steps.add("sync state", started, True, self._sync_detail(outcome, cash_before))

        started = time.perf_counter()
        missing = [p.ticker for p in self.ledger.open_positions() if p.ticker not in info_tickers]
        tops = self._tops(info_tickers, books, rest_books)
        try:
            extra_markets, extra_books = await asyncio.gather(
                self.rest.markets(missing), self.rest.orderbooks(missing)
            )
        except Exception as exc:
            reason = f"reading markets of adopted positions failed: {_first_cause(exc)}"
            steps.add("check markets", started, False, reason)
            return self._failed(steps, t0, calls_before, reason, outcome)
        tops.update({t: TopOfBook.of_rest_book(b) for t, b in extra_books.items()})
        by_ticker = {m.ticker: m for m in [*market_list, *extra_markets]}
        self.markets.update(by_ticker)
        now = self.clock.now_ms()
        viability = market_viability(watched, by_ticker, tops, now, self.limits)
        viable = sum(1 for f in viability if f.ok)
        trading = status.exchange_active and status.trading_active
        self.exits_allowed = trading
        steps.add(
            "check markets",
            started,
            trading,
            f"{viable}/{len(viability)} viable" + ("" if trading else "; exchange not trading"),
        )

        started = time.perf_counter()
        health = portfolio_health(
            self.ledger.open_positions(), self.ledger.live_orders(), tops, now, self.limits
        )
        steps.add("check portfolio", started, True, f"{len(health)} problems" if health else "healthy")
        started = time.perf_counter()
        cash = cash_flow(self.ledger.cash, self.limits)
        steps.add("check cash", started, cash.ok, cash.detail)

        failure = ""
        if not trading:
            failure = "exchange is not trading"
        elif not cash.ok:
            failure = f"{cash.code}: {cash.detail}"
        self.passes += 1
        self.failed_in_row = 0
        report = self._report(steps, t0, calls_before, outcome, viability, health, cash, failure)
        log.info("calibration.done %s", report.summary())
        return report

    # ------------------------------------------------------------------ reads
    async def _fetch(
        self, t0: int, info_tickers: list[str], books: BookStore | None
    ) -> tuple[ExchangeSnapshot, ExchangeStatus, list[Market], dict[str, Orderbook]]:
        lookback_ms = self.config.fill_lookback_s * 1000
        fills_from = self._since(self.fill_watermark_ms, t0 - lookback_ms)
        settlements_from = self._since(self.settlement_watermark_ms, t0 - lookback_ms)
        need_books = [t for t in info_tickers if books is None or not books.is_valid(t)]
        r = self.rest
        # A TaskGroup, not gather: the first failed read cancels its siblings instead of leaving
        # them retrying in the background after the pass has already failed.
        async with asyncio.TaskGroup() as group:
            balance = group.create_task(r.balance())
            positions = group.create_task(r.positions())
            resting = group.create_task(r.resting_orders())
            fills = group.create_task(r.fills(fills_from))
            settlements = group.create_task(r.settlements(settlements_from))
            status = group.create_task(r.exchange_status())
            markets = group.create_task(r.markets(info_tickers))
            rest_books = group.create_task(r.orderbooks(need_books))
        snap = ExchangeSnapshot(
            t0,
            balance.result(),
            tuple(positions.result()),
            tuple(resting.result()),
            tuple(fills.result()),
            tuple(settlements.result()),
        )
        return snap, status.result(), markets.result(), rest_books.result()

    def _since(self, watermark_ms: int | None, default_ms: int) -> int:
        """``min_ts`` in whole seconds: the watermark minus the overlap, or the lookback start."""
        if watermark_ms is None:
            return max(0, default_ms) // 1000
        return max(0, watermark_ms - self.fill_overlap_s * 1000) // 1000

    def _advance_watermarks(self, outcome: SyncOutcome) -> None:
        if outcome.newest_fill_ms is not None:
            self.fill_watermark_ms = max(self.fill_watermark_ms or 0, outcome.newest_fill_ms)
        if outcome.newest_settlement_ms is not None:
            self.settlement_watermark_ms = max(
                self.settlement_watermark_ms or 0, outcome.newest_settlement_ms
            )

    @staticmethod
    def _tops(
        tickers: list[str], books: BookStore | None, rest_books: dict[str, Orderbook]
    ) -> dict[str, TopOfBook]:
        tops = {t: TopOfBook.of_rest_book(b) for t, b in rest_books.items()}
        if books is not None:
            for ticker in tickers:
                book = books.book(ticker)
                if ticker not in tops and book is not None and book.valid:
                    tops[ticker] = TopOfBook.of_store_book(book)
        return tops

    # ------------------------------------------------------------------ report
    def _sync_detail(self, outcome: SyncOutcome, cash_before: int) -> str:
        totals = DriftTotals.of(outcome.events)
        parts = [
            f"cash ${cash_before / 1_000_000:,.2f} -> ${self.ledger.cash / 1_000_000:,.2f}",
            plural(len(self.ledger.open_positions()), "position"),
            f"drift ${totals.cash.dollars_str(2)}",
            plural(len(outcome.events), "correction"),
        ]
        if outcome.hot_tickers:
            parts.append(f"{plural(len(outcome.hot_tickers), 'ticker')} left for next pass")
        if outcome.cash_deferred:
            parts.append("cash left for next pass")
        if outcome.fills_marked_seen:
            parts.append(f"baseline: {plural(outcome.fills_marked_seen, 'fill')} marked seen")
        return ", ".join(parts)

    def _warnings(self, outcome: SyncOutcome, health: tuple[Finding, ...]) -> tuple[str, ...]:
        totals = DriftTotals.of(outcome.events)
        warnings = [f"{f.code} {f.ticker}: {f.detail}" for f in health]
        if abs(totals.cash) > self.config.cash_drift_tolerance_dollars:
            warnings.append(f"cash drift {totals.cash.dollars_str(6)} above tolerance")
        if totals.position_contracts > self.config.position_drift_tolerance_contracts:
            warnings.append(f"position drift {totals.position_contracts.fp_str()} contracts")
        return tuple(warnings)

    def _report(
        self,
        steps: _Steps,
        t0: int,
        calls_before: Counter[str],
        outcome: SyncOutcome,
        viability: tuple[Finding, ...],
        health: tuple[Finding, ...],
        cash: Finding | None,
        failure: str,
    ) -> CalibrationReport:
        spent = self.rest.calls - calls_before
        return CalibrationReport(
            started_ms=t0,
            steps=tuple(steps.results),
            corrections=outcome.events,
            totals=DriftTotals.of(outcome.events),
            rest_calls=sum(spent.values()),
            rest_calls_by_endpoint=tuple(sorted(spent.items())),
            markets=viability,
            health=health,
            cash=cash,
            cash_after=self.ledger.cash,
            deferred_tickers=tuple(sorted(outcome.hot_tickers)),
            deferred_fills=outcome.deferred_fills,
            cash_deferred=outcome.cash_deferred,
            ok=not failure,
            failure_reason=failure,
            warnings=self._warnings(outcome, health),
        )

    def _failed(
        self,
        steps: _Steps,
        t0: int,
        calls_before: Counter[str],
        reason: str,
        outcome: SyncOutcome | None = None,
    ) -> CalibrationReport:
        self.failed_in_row += 1
        empty = outcome or SyncOutcome((), frozenset(), 0, 0, True, None, None, 0)
        return self._report(steps, t0, calls_before, empty, (), (), None, reason)


def _first_cause(exc: BaseException) -> str:
    """The first real error inside (nested) exception groups, as ``Type: message``."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ExchangeError):
        return str(exc)  # already says what failed, in words an operator reads
    if isinstance(exc, OSError):
        return f"connection failed: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"  # unexpected: the type is the useful part


def _fetched_detail(snap: ExchangeSnapshot, markets: list[Market]) -> str:
    return (
        f"{plural(len(snap.positions), 'position')}, {plural(len(snap.resting_orders), 'resting order')}, "
        f"{plural(len(snap.fills), 'fill')}, {plural(len(snap.settlements), 'settlement')}, "
        f"{plural(len(markets), 'market')}"
    )


def _activity(events: list[object], tickers: list[str]) -> LedgerActivity:
    """What live updates changed while the reads were in flight (rule 4 of ``calibration.sync``).

    Events lost to a full queue (``Missed``) make every watched market and the cash count as touched:
    leaving something alone for the next pass is safe, overwriting a fresh change is not.
    """
    activity = LedgerActivity()
    for event in events:
        if isinstance(event, CashChanged):
            activity.cash_changed = True
        elif isinstance(event, OrderChanged):
            activity.tickers.add(event.order.ticker)
        elif isinstance(event, FillBooked):
            activity.tickers.add(event.fill.ticker)
        elif isinstance(event, PositionChanged):
            activity.tickers.add(event.position.ticker)
        elif isinstance(event, SettlementBooked):
            activity.tickers.add(event.settlement.ticker)
        elif isinstance(event, Missed):
            activity.cash_changed = True
            activity.tickers.update(tickers)
    return activity
