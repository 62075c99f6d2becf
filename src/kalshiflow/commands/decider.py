"""The policy and the observation function of a live trader, built from the settings.

The observation is the schema v1 vector computed by ``features.compute_observation`` -- the same
function training uses -- from the market's newest book, its rolling history (fed by the book
store's change hook on every snapshot, delta and invalidation), the ledger's position, cash and
resting orders in that market, and the configured scales (bankroll, max position).
"""

from __future__ import annotations

from collections.abc import Sequence

from kalshiflow.clock import Clock
from kalshiflow.config import Settings
from kalshiflow.features import SCHEMA_V1, MarketHistory, ObservationScales, compute_observation
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.feed import MarketDataFeed
from kalshiflow.policy.registry import load_policy
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Observe, PolicyLike


class LiveObserver:
    """Keeps each market's history current and computes observations on demand."""

    def __init__(self, core: TraderCore, settings: Settings) -> None:
        self.core = core
        self.schema = SCHEMA_V1
        self.scales = ObservationScales(
            bankroll=settings.run.bankroll_dollars,
            max_position=settings.risk.max_position_contracts_per_market,
        )
        self.histories: dict[str, MarketHistory] = {}

    def on_book_change(self, ticker: str, book: OrderBook, now_ms: int) -> None:
        history = self.histories.get(ticker)
        if history is None:
            history = self.histories[ticker] = MarketHistory(ticker)
        history.record(book, now_ms)

    def observe(self, ticker: str, book: OrderBook) -> Sequence[float] | None:
        core = self.core
        market = core.market_views().get(ticker)
        if market is None:
            return None
        history = self.histories.get(ticker)
        if history is None:
            history = self.histories[ticker] = MarketHistory(ticker)
        return compute_observation(
            self.schema,
            book,
            history,
            market,
            core.position_views().get(ticker),
            core.cash_view(),
            core.ledger.live_orders(ticker),
            core.clock.now_ms(),
            self.scales,
        )


def build_decider(
    settings: Settings, core: TraderCore, feed: MarketDataFeed, clock: Clock
) -> tuple[PolicyLike, Observe]:
    """Load the configured policy against schema v1 and hook the observer into the book store."""
    policy = load_policy(settings.run.policy, SCHEMA_V1)
    observer = LiveObserver(core, settings)
    feed.books.on_change = observer.on_book_change
    return policy, observer.observe
