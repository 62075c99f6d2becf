"""A real trader with its dashboard, in-process: the embedded simulator on loopback, port 0.

``running_trader`` starts ``TraderApp`` (as ``kalshiflow run`` does) with a policy that buys one
contract of one market once and then holds, exit rules off (so the position stays until a test
closes it), relaxed risk limits (so the one buy is not refused), and the dashboard on a free port
with a known token. It yields a ``Trader`` with the app, the simulator handle and the dashboard's
URL, and stops the trader cleanly at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.waiting import until

import kalshiflow.commands.run_app as app_module
from kalshiflow.clock import Clock
from kalshiflow.commands import startup
from kalshiflow.commands.dashboard_wiring import build_dashboard
from kalshiflow.commands.run_app import AppState, RunOptions, TraderApp
from kalshiflow.config import Settings, load_settings
from kalshiflow.dashboard.hub import HubConfig
from kalshiflow.dashboard.server import Dashboard, DashboardConfig
from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.environments import ExchangeConnection
from kalshiflow.features import SCHEMA_V1
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.policy.base import Action, Decision
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.sim.runner import SimHandle, SimulatorConfig
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Observe, PolicyLike
from kalshiflow.trader.risk.types import TradeAction

TOKEN = "test-token-0123456789"
QUEUE_AHEAD_ACCOUNT = "queue-ahead"  # an account of the simulator whose order rests ahead of the trader's


class BuyOnce:
    """Buys YES when the observation says so (1.0), holds otherwise."""

    name = "buy-once"

    def decide(self, observation: Sequence[float]) -> Decision:
        if observation and observation[0] == 1.0:
            return Decision(Action.BUY_YES, "test_buy: one contract")
        return Decision(Action.HOLD, "test_hold")


def buy_once_decider(
    settings: Settings, core: TraderCore, feed: MarketDataFeed, clock: Clock
) -> tuple[PolicyLike, Observe]:
    asked: list[str] = []  # one buy in the whole run, in the first market with a YES ask

    def observe(ticker: str, book: OrderBook) -> Sequence[float] | None:
        signal = 0.0
        if not asked and book.best_ask(OutcomeSide.YES) is not None:
            asked.append(ticker)
            signal = 1.0
        return (signal,) + (0.0,) * (len(SCHEMA_V1.names) - 1)  # the named observation's length

    return BuyOnce(), observe


def trader_settings(db: str, paper: bool = False) -> Settings:
    """``paper`` False by default: the trader must trade to show positions."""
    return load_settings(
        environ={},
        overrides={
            "run": {"db": db, "order_size_contracts": 1, "paper": paper},
            "markets": {"top_n": 3},
            "calibration": {"interval_s": 3600},
            "exit_rules": {
                "take_profit_enabled": False,
                "stop_loss_enabled": False,
                "max_hold_enabled": False,
                "market_closing_enabled": False,
                "cash_recovery_enabled": False,
                "stuck_enabled": False,
            },
            # A resting order a test places (``rest_behind``) stays where it was put.
            "open_orders": {"ttl_s": 3600, "max_behind_ticks": 10_000},
            "risk": {
                "require_two_sided_book": False,
                "max_spread_cents": 100,
                "min_time_to_close_s": 0,
                "per_market_min_interval_s": 0,
            },
        },
    )


@dataclass
class Trader:
    app: TraderApp
    dashboard: Dashboard
    handles: list[SimHandle] = field(default_factory=list)
    task: asyncio.Task[int] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return self.dashboard.url

    @property
    def sim(self) -> SimHandle:
        return self.handles[-1]

    @property
    def state(self) -> AppState:
        return self.app.state

    async def wait_trading(self) -> None:
        await until(lambda: self.state.actor is not None or self._crashed(), 60, "trader ready")
        self._crashed()

    async def wait_position(self) -> str:
        def held() -> bool:
            core = self.state.core
            return core is not None and bool(core.ledger.open_positions())

        await until(lambda: held() or self._crashed(), 30, "a position from the trader's buy")
        assert self.state.core is not None
        return self.state.core.ledger.open_positions()[0].ticker

    async def rest_behind(self, ahead_contracts: int) -> tuple[str, str]:
        """The trader rests a YES bid of one contract 5 ticks below the touch behind another
        account's ``ahead_contracts`` there; returns (ticker, client_order_id) once the tracker
        has read its queue position."""
        core = self.state.core
        assert core is not None

        def below_touch(ticker: str) -> Price | None:
            book = core.books.book(ticker)
            bid = None if book is None or not book.valid else book.best_bid(OutcomeSide.YES)
            return None if bid is None else core.markets[ticker].grid.step_down(int(bid), 5)

        await until(lambda: any(below_touch(t) for t in core.markets), 30, "a market with room below its bid")
        ticker = next(t for t in sorted(core.markets) if below_touch(t))
        price = below_touch(ticker)
        assert price is not None
        engine = self.sim.sim.engine
        if QUEUE_AHEAD_ACCOUNT not in engine.accounts:
            engine.add_account(QUEUE_AHEAD_ACCOUNT, Money.dollars(1_000))
        engine.create_order(
            QUEUE_AHEAD_ACCOUNT,
            OrderRequest(
                ticker=ticker,
                side=BookSide.BID,
                yes_price=int(price),
                count=int(Count.contracts(ahead_contracts)),
                time_in_force=TimeInForce.GOOD_TILL_CANCELED,
                self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
            ),
        )
        placed = await core.open_position(
            ticker, TradeAction.BUY_YES, price, Count.contracts(1), post_only=True
        )
        assert placed.execution is not None, placed.decision
        assert placed.execution.error_code is None, placed.execution
        cid = placed.execution.client_order_id
        await until(
            lambda: core.queue.ahead_of(cid) is not None or self._crashed(), 30, "a queue position read"
        )
        return ticker, cid

    def _crashed(self) -> bool:
        if self.task is not None and self.task.done():
            self.task.result()  # a startup failure surfaces here
            raise AssertionError("the trader stopped")
        return False


@contextlib.asynccontextmanager
async def running_trader(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    port: int = 0,
    hub: HubConfig | None = None,
    webhook_url: str | None = None,
    seed: int = 5,
    token: str = TOKEN,
    speed: float = 1.0,
    paper: bool = False,
) -> AsyncIterator[Trader]:
    db = f"sqlite:///{tmp_path / 'trader.db'}"
    options = RunOptions(
        settings=trader_settings(db, paper),
        sim_seed=seed,
        sim_markets=4,
        sim_speed=speed,
        sim_data_dir=tmp_path / "sim",
    )
    app = TraderApp(options, buy_once_decider)
    config = DashboardConfig(
        port=port, token=token, webhook_url=webhook_url, hub=hub or HubConfig(tick_s=0.2)
    )
    trader = Trader(app, build_dashboard(app, config))
    app.dashboard = trader.dashboard
    real = startup.embedded_simulator

    async def embedded(
        stack: contextlib.AsyncExitStack, sim_config: SimulatorConfig, clock: Any = None
    ) -> tuple[SimHandle, ExchangeConnection]:
        handle, connection = await real(stack, sim_config, clock)
        trader.handles.append(handle)
        return handle, connection

    monkeypatch.setattr(app_module, "embedded_simulator", embedded)
    trader.task = asyncio.create_task(app.run(trader.stop), name="trader-app")
    try:
        yield trader
    finally:
        trader.stop.set()
        rc = await asyncio.wait_for(trader.task, 60)
        assert rc == 0
