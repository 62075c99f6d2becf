"""One step of simulated time: lifecycle, outcomes, fresh listings, then the crowd trades.

The runner calls ``SimScheduler.step()`` on every tick of its loop; tests call it directly after
advancing a ``ManualClock``, so hours of market life run in milliseconds with no server and no
sleeps. A step reads the time once from the engine's clock and, in this order:

1. lists fresh markets when ``keep_alive_markets`` is set and fewer markets are live (listed,
   open or paused) than that, so a long run always has something to trade — each refill uses
   ``universe.generate_listings`` with a new seed offset and skips tickers already taken;
2. applies the time-driven lifecycle (``lifecycle.advance``: open, close, expire, settle);
3. for each newly closed market, walks its fair value to the close and draws the outcome:
   YES with the fair probability at the close (Bernoulli), and schedules the determination
   ``determine_delay_s`` of sim time later (settlement follows ``settlement_timer_s`` after that,
   again through ``lifecycle.advance``);
4. determines markets whose determination is due (unless something else, e.g. the admin API,
   already did);
5. lets the participants act.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from kalshiflow.domain.settlement import MarketResult
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.participants.crowd import Participants
from kalshiflow.sim.state import MarketStatus
from kalshiflow.sim.universe import generate_listings

LIVE_STATUSES = frozenset({MarketStatus.INITIALIZED, MarketStatus.ACTIVE, MarketStatus.INACTIVE})
LISTING_SEED_STRIDE = 7_919  # a prime, so refill seeds never meet the initial listing's seed


@dataclass(frozen=True, slots=True)
class PendingDetermination:
    due_ms: int
    result: MarketResult
    probability_at_close: float


class SimScheduler:
    def __init__(
        self,
        engine: Engine,
        participants: Participants | None,
        *,
        seed: int = 0,
        keep_alive_markets: int | None = None,
        determine_delay_s: int = 30,
    ) -> None:
        self.engine = engine
        self.participants = participants
        self.seed = seed
        self.keep_alive_markets = keep_alive_markets
        self.determine_delay_ms = determine_delay_s * 1000
        self.pending: dict[str, PendingDetermination] = {}
        self.outcomes: dict[str, PendingDetermination] = {}  # every outcome drawn, for reports/tests
        self.steps = 0
        self.listings_added = 0
        self._outcome_rng = random.Random(f"participants-{seed}-outcomes")
        self._refills = 0

    def step(self) -> None:
        now = self.engine.clock.now_ms()
        if self.keep_alive_markets is not None:
            self._refill(now)
        lifecycle.advance(self.engine, now)
        self._draw_outcomes()
        self._determine_due(now)
        if self.participants is not None:
            self.participants.act(now)
        self.steps += 1

    def _draw_outcomes(self) -> None:
        for market in self.engine.markets.values():
            if (
                market.status is not MarketStatus.CLOSED
                or market.result is not None
                or market.ticker in self.outcomes
            ):
                continue
            if self.participants is not None:
                probability = self.participants.probability_at_close(market)
            else:
                probability = market.last_price / 10_000 if market.last_price else 0.5
            result = MarketResult.YES if self._outcome_rng.random() < probability else MarketResult.NO
            # Due relative to the close, not to now: a market found closed late is determined at once.
            pending = PendingDetermination(market.close_ms + self.determine_delay_ms, result, probability)
            self.pending[market.ticker] = pending
            self.outcomes[market.ticker] = pending

    def _determine_due(self, now: int) -> None:
        for ticker, pending in list(self.pending.items()):
            if now < pending.due_ms:
                continue
            del self.pending[ticker]
            market = self.engine.markets[ticker]
            if market.status is MarketStatus.CLOSED and market.result is None:
                lifecycle.determine(self.engine, ticker, pending.result)
            if self.participants is not None:
                self.participants.retire(ticker)

    def _refill(self, now: int) -> None:
        target = self.keep_alive_markets
        assert target is not None
        live = sum(1 for m in self.engine.markets.values() if m.status in LIVE_STATUSES)
        if live >= target:
            return
        self._refills += 1
        listing_seed = self.seed + LISTING_SEED_STRIDE * self._refills
        for listing in generate_listings(listing_seed, target - live, now):
            if listing.market.ticker in self.engine.markets:
                continue
            self.engine.add_market(listing.series, listing.event, listing.market)
            self.listings_added += 1  # add_market announces it (market_lifecycle_v2 "created")
