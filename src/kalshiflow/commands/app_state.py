"""What the running trader shows: the parts of ``kalshiflow run`` once they exist.

Its own module because several readers share it (the composition root, its stream-health monitor and
calibration timer, the terminal view, ``status``), and none of them should import the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kalshiflow.dashboard.messages import TradingMode
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Actor, TraderAction
from kalshiflow.trader.lifecycle.init_tracker import InitTracker
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.shutdown import StopReport
from kalshiflow.trader.lifecycle.states import Lifecycle


@dataclass
class AppState:
    """What the view and ``status`` read: the parts once they exist."""

    lifecycle: Lifecycle
    tracker: InitTracker
    core: TraderCore | None = None
    feed: MarketDataFeed | None = None
    actor: Actor | None = None
    recal: Recalibrator | None = None
    rest_url: str = ""
    actions: list[TraderAction] = field(default_factory=list)
    first_trading_ms: int | None = None
    stop_report: StopReport | None = None  # what the stop did (printed on exit)
    mode: TradingMode | None = None  # policy, paper or live, exchange: once the policy is loaded
    degraded: str | None = None  # why the trader cannot see the exchange right now (None: healthy)
