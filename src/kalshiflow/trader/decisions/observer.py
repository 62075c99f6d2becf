"""The live observation of a market: schema-v1 features from the trader's own books, ledger and clock.

One class computes what a policy sees, for ``run``, the backtest and the training environment alike:
the market's newest book, its rolling history (fed by the book store's change hook on every snapshot,
delta and invalidation), the ledger's position, cash and resting orders in that market, and the
configured scales (bankroll, max position). Training that observes through this class cannot drift
from live trading, which is what the environment's parity test pins bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

from kalshiflow.features import SCHEMA_V1, MarketHistory, ObservationScales, compute_observation
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.trader.core import TraderCore


class MarketObserver:
    """Keeps each market's history current and computes observations on demand."""

    def __init__(self, core: TraderCore, scales: ObservationScales) -> None:
        self.core = core
        self.schema = SCHEMA_V1
        self.scales = scales
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
