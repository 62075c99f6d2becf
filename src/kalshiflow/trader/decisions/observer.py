"""The live observation of a market: schema-v1 features from the trader's own books, ledger and clock.

One class computes what a policy sees, for ``run``, the backtest and the training environment alike
(the environment's parity test pins it bit for bit). The observation is the schema v1 vector of
``features.compute_observation`` -- the same values training uses -- from the market's newest book,
its rolling history (fed from the ``BookChanged`` events the book store publishes on every snapshot,
delta and invalidation; each carries the touch of that moment, and every queued one is applied
before an observation), the ledger's position, cash and resting orders in that market, and the
configured scales (bankroll, max position). It is kept per market by
``features.incremental.MarketObservation``, which recomputes only what changed (bit-identical
values); the returned vector is reused on the next call for that market (the actor copies it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from kalshiflow.events.bus import Missed
from kalshiflow.events.trader import BookChanged
from kalshiflow.features import SCHEMA_V1, MarketHistory, ObservationScales
from kalshiflow.features.incremental import MarketObservation
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.trader.core import TraderCore

log = logging.getLogger(__name__)


class MarketObserver:
    """Keeps each market's history current and computes observations on demand."""

    def __init__(self, core: TraderCore, scales: ObservationScales) -> None:
        self.core = core
        # Book changes arrive on the bus; they are folded into the histories on the next loop turn
        # and, at the latest, right before an observation (so none is ever observed stale).
        self.changes = core.books.bus.subscribe(
            "observer.history", [BookChanged], max_queue=1_000_000, on_ready=self.catch_up
        )
        self.schema = SCHEMA_V1
        self.scales = scales
        self.histories: dict[str, MarketHistory] = {}
        self.observations: dict[str, MarketObservation] = {}

    def catch_up(self) -> None:
        """Record every queued book change in its market's history, in order."""
        histories = self.histories
        for change in self.changes.drain():
            if isinstance(change, BookChanged):
                history = histories.get(change.ticker)
                if history is None:
                    history = histories[change.ticker] = MarketHistory(change.ticker)
                history.record_change(change)
            elif isinstance(change, Missed):
                log.error("observer.book_changes_missed", extra={"count": change.count})

    def observe(self, ticker: str, book: OrderBook) -> Sequence[float] | None:
        """The market's observation: its ``MarketObservation`` buffer, valid until the next call for
        this market (copy it to keep it), or None for an unknown market or an invalid book."""
        if self.changes:  # usually drained already by ``on_ready``: no list built for nothing
            self.catch_up()
        core = self.core
        market = core.market_views().get(ticker)
        if market is None:
            return None
        history = self.histories.get(ticker)
        if history is None:
            history = self.histories[ticker] = MarketHistory(ticker)
        observation = self.observations.get(ticker)
        if observation is None:
            observation = self.observations[ticker] = MarketObservation()
        return observation.observe(
            book,
            history,
            market,
            core.position_views().get(ticker),
            core.cash_view(),
            core.ledger.live_orders(ticker),
            core.clock.now_ms(),
            self.scales,
        )
