"""The trader's own startup steps, once the exchange answers: its core, the startup calibration as the
initialization checklist shows it, and the trading mode it announces.

Apart from ``run_app`` (the composition root, which wires these into the running app) because each is
a step with one job that reads settings and parts and returns or records a result: nothing here
starts a task or holds the app's state.
"""

from __future__ import annotations

from kalshiflow.clock import Clock
from kalshiflow.config import RunSettings, Settings
from kalshiflow.dashboard.messages import TradingMode
from kalshiflow.events.bus import EventBus
from kalshiflow.exchange.environments import Environment, ExchangeConnection
from kalshiflow.exchange.models_market import Market
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.trader.core import CoreConfig, TraderCore
from kalshiflow.trader.lifecycle.init_tracker import InitStep, InitTracker
from kalshiflow.trader.lifecycle.recalibration import Recalibrator

SYNC_STEPS = (InitStep.SYNC_BALANCE, InitStep.SYNC_POSITIONS, InitStep.SYNC_ORDERS, InitStep.SYNC_SETTLEMENTS)


def build_core(
    settings: Settings, rest: KalshiRestClient, feed: MarketDataFeed, clock: Clock, bus: EventBus
) -> TraderCore:
    """The trader core over the feed's selected markets; the feed keeps every market the trader holds
    a position or a resting order in (``pinned``) when its selection is refreshed."""
    markets = {
        m.ticker: m for m in (feed.selection.markets if feed.selection else ()) if isinstance(m, Market)
    }
    config = CoreConfig(
        exit_rules=settings.exit_rules,
        risk=settings.risk,
        calibration=settings.calibration,
        order_groups=settings.order_groups,
        open_orders=settings.open_orders,
        queue=settings.queue_positions,
    )
    core = TraderCore(rest, clock, feed.books, markets, config, bus=bus)
    feed.pinned = lambda: (
        {p.ticker for p in core.ledger.open_positions()} | {o.ticker for o in core.ledger.live_orders()}
    )
    return core


async def calibrate_at_startup(tracker: InitTracker, core: TraderCore, recal: Recalibrator) -> None:
    """The startup calibration, its result written onto the checklist's sync and check steps."""
    for step in SYNC_STEPS:
        tracker.begin(step)
    await core.groups.start()
    report = (await recal.run_once("startup")).report
    # One calibration pass syncs all four: the balance step carries its summary, the others what
    # they synced (each read the same summary, which looked like four results of one step).
    same_pass = "in the startup calibration's pass, as sync balance"
    ledger = core.ledger
    synced = {
        InitStep.SYNC_BALANCE: report.summary(),
        InitStep.SYNC_POSITIONS: f"{len(ledger.open_positions())} open positions ({same_pass})",
        InitStep.SYNC_ORDERS: f"{len(ledger.live_orders())} resting orders ({same_pass})",
        InitStep.SYNC_SETTLEMENTS: f"settlements read ({same_pass})",
    }
    for step in SYNC_STEPS:
        if report.ok:
            tracker.complete(step, synced[step])
        else:
            tracker.fail(step, report.failure_reason or "sync failed")
    if report.ok:
        tracker.portfolio_synced()
    checks = {
        InitStep.MARKETS_VIABLE: f"{len(report.viable_markets)}/{len(report.markets)} viable",
        InitStep.PORTFOLIO_HEALTHY: f"{len(report.health)} findings",
        InitStep.CASH_SUFFICIENT: "ok" if report.ok else (report.failure_reason or "insufficient"),
    }
    for step, text in checks.items():
        (tracker.complete if report.ok else tracker.fail)(step, text)


def trading_mode(run: RunSettings, connection: ExchangeConnection | None, policy: str) -> TradingMode:
    """What the trader does with its decisions: no connection is the embedded simulator."""
    exchange = Environment.SIM.value if connection is None else connection.environment.value
    return TradingMode(policy, run.paper_on(exchange), exchange)


def mode_note(mode: TradingMode, paper_unset: bool) -> str:
    """The status history's line for ``mode``; ``paper_unset``: paper followed the exchange."""
    if not mode.paper:
        return f"live on {mode.exchange}: {mode.policy} sends orders"
    why = (
        "(real money needs --live or [run] paper = false)"
        if paper_unset
        else "([run] paper = true or --paper; --live to trade)"
    )
    return f"paper mode on {mode.exchange}: {mode.policy} decides and records, no order is sent {why}"
