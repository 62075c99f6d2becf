"""Read-only views of the running trader for the page, the REST API and the metrics.

The dashboard never reaches into the trader to change anything (changes go through the controls'
protocol); it reads the parts the composition layer hands it (``TraderParts``) and builds the
frozen messages of ``dashboard.messages`` from them. Every function here is synchronous and cheap
enough to run on the event loop once a second or on a request; none of them runs on the decision
path.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from kalshiflow.clock import Clock, ScaledClock
from kalshiflow.dashboard.messages import (
    MarketTop,
    PortfolioSummary,
    PositionRow,
    RateLimitUse,
    Systems,
    TraderStatusView,
    TradingMode,
)
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Money
from kalshiflow.events.ledger import OrderSnapshot
from kalshiflow.events.trader import InitializationStep, QueuePositionChanged, StatusEntry, StreamHealth
from kalshiflow.features.valuation import value_position
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.trader.config import PriceExitMetric
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.exit_rules.base import Holding, price_move
from kalshiflow.trader.lifecycle.init_tracker import InitTracker
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.states import Lifecycle

CONSOLE_LINES = 200  # the copy button copies the newest 200 lines of the status console


class TraderParts(Protocol):
    """What the dashboard reads of the running trader (the composition layer's app state)."""

    @property
    def lifecycle(self) -> Lifecycle: ...

    @property
    def tracker(self) -> InitTracker: ...

    @property
    def core(self) -> TraderCore | None: ...

    @property
    def feed(self) -> MarketDataFeed | None: ...

    @property
    def recal(self) -> Recalibrator | None: ...

    @property
    def mode(self) -> TradingMode | None: ...


def console_text(history: Iterable[StatusEntry]) -> str:
    """The status console as text, newest first, one ARCHITECTURE §5 line per entry."""
    return "\n".join(entry.console_line() for entry in list(history)[::-1][:CONSOLE_LINES])


def status_view(parts: TraderParts) -> TraderStatusView:
    life = parts.lifecycle
    history = tuple(life.history)
    previous = next((e.previous_state for e in reversed(history) if e.previous_state is not None), None)
    recal = parts.recal
    core = parts.core
    return TraderStatusView(
        state=life.state,
        since_ms=life.shown_since_ms,
        trading_since_ms=life.trading_since_ms,
        previous_state=previous,
        pause_reason=None if recal is None else recal.pause_reason,
        kill_switch=None if core is None else core.kill_switch_text(),
        history=history[::-1][:CONSOLE_LINES],
        console=console_text(history),
    )


def position_rows(core: TraderCore) -> tuple[PositionRow, ...]:
    """Every open position valued at its exit price, with distances to take profit and stop loss."""
    views = core.market_views()
    exits = core.config.exit_rules
    take_profit_e2 = int(Decimal(exits.take_profit_pct) * 100)
    stop_loss_e2 = int(Decimal(exits.stop_loss_pct) * 100)
    # Distances in pnl% mean something only under the pnl% rules; under the price-space rules
    # (default) the distances are in price, as the rules measure the exit price's move since entry.
    pct_rules = exits.price_exit_metric is PriceExitMetric.PCT
    rows: list[PositionRow] = []
    for view in core.position_views().values():
        record = core.ledger.positions.get(view.ticker)
        book = core.books.book(view.ticker)
        market = views.get(view.ticker)
        valuation = None if book is None or market is None else value_position(view, book, market)
        pct = None
        if valuation is not None and valuation.pnl_pct is not None:
            pct = int(valuation.pnl_pct * 100)  # hundredths of a percent, toward zero
        move = None
        if not pct_rules and valuation is not None and market is not None:
            move = price_move(Holding(view, market, book, valuation), exits)
        rows.append(
            PositionRow(
                ticker=view.ticker,
                position=view.position,
                cost_basis=view.cost_basis,
                exit_price=None if valuation is None else valuation.exit_price,
                unrealized=None if valuation is None else valuation.unrealized,
                pnl_pct_e2=pct,
                to_take_profit_e2=None if pct is None or not pct_rules else take_profit_e2 - pct,
                to_stop_loss_e2=None if pct is None or not pct_rules else pct + stop_loss_e2,
                opened_at_ms=None if record is None else record.opened_at_ms,
                realized_pnl=Money(0) if record is None else record.realized_pnl,
                closing_reason=core.ledger.closing_reason(view.ticker),
                to_take_profit_e4=None
                if move is None or not exits.take_profit_enabled
                else move.take_profit - move.move,
                to_stop_loss_e4=None
                if move is None or not exits.stop_loss_enabled
                else move.move + move.stop_loss,
            )
        )
    return tuple(sorted(rows, key=lambda r: r.ticker))


def portfolio(core: TraderCore, rows: tuple[PositionRow, ...], now_ms: int) -> PortfolioSummary:
    ledger = core.ledger
    cost = sum(r.cost_basis for r in rows)
    unrealized = sum(r.unrealized for r in rows if r.unrealized is not None)
    # A position without a bid is carried at cost: no guess at a price nobody offers.
    value = sum(r.cost_basis + (r.unrealized or 0) for r in rows)
    realized = sum(p.realized_pnl for p in ledger.positions.values())
    return PortfolioSummary(
        ts_ms=now_ms,
        cash=ledger.cash,
        reserved=ledger.reserved,
        positions_cost=Money(cost),
        portfolio_value=Money(ledger.cash + ledger.reserved + value),
        realized_pnl=Money(realized),
        unrealized_pnl=Money(unrealized),
        open_positions=len(rows),
    )


def live_orders(core: TraderCore) -> tuple[OrderSnapshot, ...]:
    return tuple(sorted((o.snapshot() for o in core.ledger.live_orders()), key=lambda o: o.created_ms))


def queue_positions(core: TraderCore) -> tuple[QueuePositionChanged, ...]:
    """The last queue position read of each resting order (orders never read yet have none)."""
    return tuple(core.queue.positions[cid] for cid in sorted(core.queue.positions))


def market_top(core: TraderCore, ticker: str, now_ms: int) -> MarketTop:
    book = core.books.book(ticker)
    if book is None:
        return MarketTop(ticker, now_ms, None, None, False)
    return MarketTop(
        ticker,
        now_ms,
        book.best_bid(OutcomeSide.YES) if book.valid else None,
        book.best_ask(OutcomeSide.YES) if book.valid else None,
        book.valid,
    )


def rate_limits(core: TraderCore | None) -> tuple[RateLimitUse, ...]:
    if core is None:
        return ()
    pacer = core.rest.pacer
    return tuple(
        RateLimitUse(bucket, pacer.used_pct(bucket), pacer.rate_limited) for bucket in ("read", "write")
    )


def systems(
    parts: TraderParts,
    clock: Clock,
    started_ms: int,
    initialization: tuple[InitializationStep, ...],
    stream: StreamHealth | None,
    decisions: int,
) -> Systems:
    feed = parts.feed
    deltas = 0 if feed is None else feed.stream.metrics.deltas_applied
    return Systems(
        ts_ms=clock.now_ms(),
        started_ms=started_ms,
        clock_speed=clock.speed if isinstance(clock, ScaledClock) else 1.0,
        last_portfolio_sync_ms=parts.tracker.last_portfolio_sync_ms,
        initialization=initialization,
        stream=stream,
        rate_limits=rate_limits(parts.core),
        deltas_applied=deltas,
        decisions=decisions,
        kill_switch=None if parts.core is None else parts.core.kill_switch_text(),
        mode=parts.mode,
    )
