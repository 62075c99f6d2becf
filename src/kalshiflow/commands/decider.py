"""The policy and the observation function of a live trader, built from the settings.

The observer itself is ``trader.decisions.observer.MarketObserver`` (shared with the backtest and
the training environment, which may not import the composition layer); here it gets the scales of
the settings (bankroll, max position per market).
"""

from __future__ import annotations

from kalshiflow.clock import Clock
from kalshiflow.config import Settings
from kalshiflow.features import SCHEMA_V1, ObservationScales
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.policy.registry import load_policy
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Observe, PolicyLike
from kalshiflow.trader.decisions.observer import MarketObserver


class LiveObserver(MarketObserver):
    """``MarketObserver`` with the scales of the settings (bankroll, max position per market)."""

    def __init__(self, core: TraderCore, settings: Settings) -> None:
        super().__init__(core, observation_scales(settings))


def observation_scales(settings: Settings) -> ObservationScales:
    return ObservationScales(
        bankroll=settings.run.bankroll_dollars,
        max_position=settings.risk.max_position_contracts_per_market,
    )


def build_decider(
    settings: Settings, core: TraderCore, feed: MarketDataFeed, clock: Clock
) -> tuple[PolicyLike, Observe]:
    """Load the configured policy against schema v1; the observer follows the book store's changes."""
    policy = load_policy(settings.run.policy, SCHEMA_V1)
    observer = LiveObserver(core, settings)
    return policy, observer.observe
