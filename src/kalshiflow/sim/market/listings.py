"""Which markets the simulated exchange lists, and how each one ends.

Why apart from the participants: listing, closing, resolving, determining and settling follow the
event's outcome process and the calendar, whether or not anybody trades (a model without
participants still lists, closes and settles its markets).

* An event lists all its markets at once (a strike ladder, ranges, a pair, a single question) with
  one outcome process; its scheduled news and its resolution go on the schedule.
* Markets close at their close time (possibly before the outcome is known); the outcome resolves
  at the event's resolution time; every market of the event is determined from it
  ``determine_delay_s`` later and settled ``settlement_timer_s`` after that.
* Markets listed by someone else (admin API, tests) are adopted as single yes/no events around their
  last price.
* With ``keep_alive_markets``, fresh events are listed whenever fewer markets are live.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Final

from kalshiflow.domain.settlement import MarketResult
from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.market.makers import MakerDesk
from kalshiflow.sim.market.outcome import EventOutcome, OutcomeSpec, Payoff, normal_inv
from kalshiflow.sim.market.profile import DEFAULT_ARCHETYPES, MarketProfile
from kalshiflow.sim.market.schedule import Schedule
from kalshiflow.sim.market.state import EventState, Kind, MarketOutcome, MarketState
from kalshiflow.sim.state import MarketStatus, SimMarket
from kalshiflow.sim.universe import ListedEvent, generate_events

LIVE_STATUSES: Final = frozenset({MarketStatus.INITIALIZED, MarketStatus.ACTIVE, MarketStatus.INACTIVE})
LISTING_SEED_STRIDE: Final = 7_919  # a prime, so refill seeds never meet the initial listing's seed


class Listings:
    """The model's events and markets, from listing to settlement."""

    def __init__(
        self,
        engine: Engine,
        seed: int,
        profile: MarketProfile,
        schedule: Schedule,
        markets: dict[str, MarketState],
        events: dict[str, EventState],
        makers: MakerDesk,
        *,
        seat: Callable[[MarketState, int], None] | None,
        keep_alive_markets: int | None,
    ) -> None:
        """``seat`` puts participants on a freshly listed market (None: nobody trades)."""
        self.engine = engine
        self.seed = seed
        self.profile = profile
        self.schedule = schedule
        self.markets = markets
        self.events = events
        self.makers = makers
        self.seat = seat
        self.keep_alive_markets = keep_alive_markets
        self.outcomes: dict[str, MarketOutcome] = {}
        self.results: dict[str, MarketResult] = {}
        self.listings_added = 0
        self.known_markets = 0  # the engine's market count when last looked at (strangers appear)
        self._refills = 0
        self._adopt_rng = random.Random(f"market-{seed}-adopt")

    def list_initial(self, n_markets: int, now_ms: int) -> None:
        for listed in generate_events(self.seed, n_markets, now_ms, self.profile):
            self.add_event(listed, now_ms)
        self.listings_added = 0  # counts fresh listings after the first

    def add_event(self, listed: ListedEvent, now_ms: int) -> None:
        event = self.events.get(listed.listings[0].event.event_ticker)
        if event is None:
            ticker = listed.listings[0].event.event_ticker
            outcome = EventOutcome.start(
                listed.outcome, random.Random(f"market-{self.seed}-{ticker}-outcome")
            )
            event = self.events[ticker] = EventState(ticker, listed.archetype, outcome)
            for index, item in enumerate(listed.outcome.news):
                self.schedule.push(item.at_ms, Kind.NEWS, ticker, index)
            self.schedule.push(listed.outcome.resolve_ms, Kind.RESOLVE, ticker)
        fresh = [listing for listing in listed.listings if listing.market.ticker not in self.engine.markets]
        for listing in fresh:
            self.engine.add_market(listing.series, listing.event, listing.market)  # announces "created"
            self.listings_added += 1
        lifecycle.advance(self.engine, now_ms)  # open them, so their first quotes can rest at once
        for listing in fresh:
            self._adopt(self.engine.markets[listing.market.ticker], listing.payoff, event, now_ms)
        self.known_markets = len(self.engine.markets)

    def adopt_strangers(self, now_ms: int) -> None:
        """Markets listed by someone else trade as single yes/no events around their last price."""
        for market in list(self.engine.markets.values()):
            if market.ticker in self.markets or market.status not in LIVE_STATUSES:
                continue
            p0 = market.last_price / PRICE_SCALE if market.last_price else self._adopt_rng.uniform(0.1, 0.9)
            resolve_ms = max(market.close_ms, now_ms + 60_000)
            spec = OutcomeSpec(0.0, 1.0 / math.sqrt((resolve_ms - now_ms) / 3_600_000), now_ms, resolve_ms)
            rng = random.Random(f"market-{self.seed}-{market.ticker}-outcome")
            event = EventState(market.ticker, "politics", EventOutcome.start(spec, rng))
            self.events[market.ticker] = event
            self.schedule.push(resolve_ms, Kind.RESOLVE, market.ticker)
            self._adopt(market, Payoff(-normal_inv(p0), None), event, now_ms)
        self.known_markets = len(self.engine.markets)

    def _adopt(self, market: SimMarket, payoff: Payoff, event: EventState, now_ms: int) -> None:
        archetype = self.profile.archetypes.get(event.archetype) or DEFAULT_ARCHETYPES["politics"]
        rng = random.Random(f"market-{self.seed}-{market.ticker}")
        state = MarketState(market, payoff, event, archetype, rng, now_ms)
        event.markets.append(market.ticker)
        self.markets[market.ticker] = state
        state.q = event.outcome.true_probability(payoff, now_ms)
        self.schedule.push(market.close_ms, Kind.CLOSE, market.ticker)
        if self.seat is not None:
            self.seat(state, now_ms)

    # ----------------------------------------------------------------- events
    def on_close(self, ticker: str, now: int) -> None:
        state = self.markets.get(ticker)
        if state is None:
            return
        if state.market.status in LIVE_STATUSES and now >= state.market.close_ms:
            lifecycle.advance(self.engine, now)
        if not state.market.is_trading:
            state.q = state.event.outcome.true_probability(state.payoff, now)
            for slot in state.makers:
                slot.orders.clear()
        if self.keep_alive_markets is not None:
            self.refill(now)

    def on_resolve(self, event_ticker: str, now: int) -> None:
        event = self.events.get(event_ticker)
        if event is None:
            return
        final = event.outcome.resolve()
        delay_ms = self.profile.crowd.determine_delay_s * 1000
        for ticker in event.markets:
            state = self.markets[ticker]
            result = MarketResult.YES if state.payoff.wins(final) else MarketResult.NO
            if ticker not in self.outcomes:
                self.outcomes[ticker] = MarketOutcome(result, state.q, event.archetype, now)
                self.results[ticker] = result
            self.schedule.push(now + delay_ms, Kind.DETERMINE, ticker)

    def on_determine(self, ticker: str, now: int) -> None:
        market = self.engine.markets.get(ticker)
        if market is None:
            return
        if market.result is None and market.status in (*LIVE_STATUSES, MarketStatus.CLOSED):
            lifecycle.determine(self.engine, ticker, self.results[ticker])
        if market.determined_ms is not None:
            self.schedule.push(market.determined_ms + market.settlement_timer_s * 1000, Kind.SETTLE, ticker)

    def on_settle(self, ticker: str, now: int) -> None:
        lifecycle.advance(self.engine, now)
        state = self.markets.pop(ticker, None)
        if state is not None:
            event = state.event
            if all(t not in self.markets for t in event.markets):
                self.events.pop(event.ticker, None)
                self.makers.forget_event(event.ticker)

    def refill(self, now: int) -> None:
        """List fresh events until ``keep_alive_markets`` markets are live again."""
        target = self.keep_alive_markets
        assert target is not None
        live = sum(1 for m in self.engine.markets.values() if m.status in LIVE_STATUSES)
        if live >= target:
            return
        self._refills += 1
        seed = self.seed + LISTING_SEED_STRIDE * self._refills
        for listed in generate_events(seed, target - live, now, self.profile):
            self.add_event(listed, now)
