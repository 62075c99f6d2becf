"""The simulated market: a discrete-event model of Kalshi's participants, in simulated time.

Everything that happens in the market -- a maker re-quoting, a taker arriving, news, a close, a
resolution, a settlement -- is an event on one time-ordered heap. ``advance_to(t)`` processes every
event up to ``t`` in order, pinning the engine's ``MarketClock`` to each event's own time. Which
events exist and when depends only on the seed and the profile (every market and event draws from
its own ``random.Random``), never on how the caller slices time: the same seed gives the same
market whether it is driven by a server at ``--speed 1`` or ``20``, or in process as fast as the CPU
allows (``headless.py``). Cost is per event, not per tick, so quiet markets cost almost nothing.

Who trades (``agents.py`` decides, this module places the orders):

* makers (a pool of accounts; each market is quoted by a few, with their own spread, size, levels
  and re-quote pace from its archetype) quote around their own noisy, lagged belief; they hear
  news late, widen after it, skew against inventory and re-quote soon after being filled;
* uninformed takers (sizes from 1 to thousands of contracts) with a private valuation and an
  optimism toward YES longshots;
* an informed trader who hears news first and takes only clear mispricing;
* a deep-book account with a few large resting orders far from the touch and, in some markets,
  1¢ lottery bids on both legs.

Determination follows the event's outcome process: markets close at their close time (possibly
before the outcome is known), the outcome resolves at the event's resolution time, every market of
the event is determined from it ``determine_delay_s`` later, and settled ``settlement_timer_s``
after that. Markets listed by someone else (admin API, tests) are adopted as single yes/no events.
"""

from __future__ import annotations

import heapq
import math
import random
from typing import Final

from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.settlement import MarketResult
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE, Money
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.market import agents
from kalshiflow.sim.market.makers import MIN_REQUOTE_S, MakerDesk
from kalshiflow.sim.market.outcome import EventOutcome, OutcomeSpec, Payoff, normal_inv
from kalshiflow.sim.market.profile import DEFAULT_ARCHETYPES, MarketProfile
from kalshiflow.sim.market.state import EventState, Kind, MakerSlot, MarketOutcome, MarketState
from kalshiflow.sim.market_clock import MarketClock
from kalshiflow.sim.state import MarketStatus, SimMarket
from kalshiflow.sim.universe import ListedEvent, generate_events

LIVE_STATUSES: Final = frozenset({MarketStatus.INITIALIZED, MarketStatus.ACTIVE, MarketStatus.INACTIVE})
LISTING_SEED_STRIDE: Final = 7_919  # a prime, so refill seeds never meet the initial listing's seed
N_MAKER_ACCOUNTS: Final = 8
MAKER_BALANCE: Final = Money.dollars(100_000_000)
TAKER_BALANCE: Final = Money.dollars(100_000_000)
TAKER_NEWS_LAG_MS: Final = 120_000
PUBLIC_NEWS_MS: Final = 900_000  # after a shock, takers value the market at the news for 15 minutes
BURST_DECAY_MS: Final = 600_000
HeapEntry = tuple[int, int, int, str, int, int]  # (time, seq, kind, key, slot, version)


class MarketModel:
    """Participants and market lifecycle of one simulated exchange, advanced in simulated time."""

    def __init__(
        self,
        engine: Engine,
        clock: MarketClock,
        seed: int = 0,
        profile: MarketProfile | None = None,
        *,
        keep_alive_markets: int | None = None,
        account_prefix: str = "sim-",
        participants: bool = True,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.seed = seed
        self.profile = profile or MarketProfile()
        self.crowd = self.profile.crowd
        self.keep_alive_markets = keep_alive_markets
        self.prefix = account_prefix
        self.with_participants = participants  # False: markets list, close and resolve; nobody trades
        self.participants_active = participants  # a test may silence the crowd mid-run
        self.maker_accounts = [
            self._account(f"maker-{i + 1}", MAKER_BALANCE) for i in range(N_MAKER_ACCOUNTS)
        ]
        self.taker_account = self._account("taker", TAKER_BALANCE)
        self.informed_account = self._account("informed", TAKER_BALANCE)
        self.deep_account = self._account("deep", MAKER_BALANCE)
        self.makers = MakerDesk(self.engine, self.crowd, self.maker_accounts, self.deep_account)
        self.events: dict[str, EventState] = {}
        self.markets: dict[str, MarketState] = {}
        self.outcomes: dict[str, MarketOutcome] = {}
        self.results: dict[str, MarketResult] = {}
        self.listings_added = 0
        self.steps = 0
        self.events_processed = 0
        self._heap: list[HeapEntry] = []
        self._seq = 0
        self._refills = 0
        self._known_markets = 0
        self._adopt_rng = random.Random(f"market-{seed}-adopt")

    # ----------------------------------------------------------------- public
    @property
    def account_ids(self) -> list[str]:
        return [*self.maker_accounts, self.taker_account, self.informed_account, self.deep_account]

    def list_initial(self, n_markets: int, now_ms: int) -> None:
        """List the run's first ``n_markets`` markets (by whole events)."""
        for listed in generate_events(self.seed, n_markets, now_ms, self.profile):
            self.add_event(listed, now_ms)
        self.listings_added = 0  # counts fresh listings after the first

    def add_event(self, listed: ListedEvent, now_ms: int) -> None:
        """List an event's markets on the engine and start trading them."""
        event = self.events.get(listed.listings[0].event.event_ticker)
        if event is None:
            ticker = listed.listings[0].event.event_ticker
            outcome = EventOutcome.start(
                listed.outcome, random.Random(f"market-{self.seed}-{ticker}-outcome")
            )
            event = self.events[ticker] = EventState(ticker, listed.archetype, outcome)
            for index, item in enumerate(listed.outcome.news):
                self._push(item.at_ms, Kind.NEWS, ticker, index)
            self._push(listed.outcome.resolve_ms, Kind.RESOLVE, ticker)
        fresh = [listing for listing in listed.listings if listing.market.ticker not in self.engine.markets]
        for listing in fresh:
            self.engine.add_market(listing.series, listing.event, listing.market)  # announces "created"
            self.listings_added += 1
        lifecycle.advance(self.engine, now_ms)  # open them, so their first quotes can rest at once
        for listing in fresh:
            self._adopt(self.engine.markets[listing.market.ticker], listing.payoff, event, now_ms)
        self._known_markets = len(self.engine.markets)

    def next_event_ms(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def step(self) -> None:
        """Catch up to the driving clock's time (the server loop calls this)."""
        self.advance_to(self.clock.source.now_ms())

    def advance_to(self, target_ms: int) -> None:
        """Process every event due at or before ``target_ms``, each at its own time."""
        if len(self.engine.markets) != self._known_markets:
            self._adopt_strangers(target_ms)
        heap = self._heap
        try:
            while heap and heap[0][0] <= target_ms:
                at, _, kind, key, slot, version = heapq.heappop(heap)
                self.clock.pin(at)
                self._handle(Kind(kind), key, slot, version, at)
                self.events_processed += 1
        finally:
            self.clock.release()
        now = max(target_ms, self.clock.now_ms())
        lifecycle.advance(self.engine, now)
        if self.keep_alive_markets is not None:
            self._refill(now)  # only lists anything when someone else closed a market
        self.steps += 1

    def true_probability(self, ticker: str) -> float | None:
        """The market's true YES probability at the model's last event on it (None if unknown)."""
        state = self.markets.get(ticker)
        return None if state is None else state.q

    def shock(self, ticker: str, probit_shift: float) -> None:
        """Unscheduled news: move the market's event so its probability shifts by about
        ``probit_shift`` probit units (up if positive); makers and the informed trader react as to
        news. A hook for tests that need the market to move against someone."""
        state = self.markets.get(ticker)
        if state is None:
            return
        now = self.clock.now_ms()
        outcome = state.event.outcome
        outcome.advance(now)
        sd = outcome.remaining_sd(now)
        before = state.payoff.probability(outcome.x, sd)
        direction = 1.0 if state.payoff.probability(outcome.x + 0.01 * sd, sd) >= before else -1.0
        size = direction * probit_shift * sd
        outcome.x += size
        outcome.jumps.append((now, size))
        state.public_news_ms = now  # a shock is public: takers price off the news, not the book
        self._on_news(state.event.ticker, now)

    # ----------------------------------------------------------------- scheduling
    def _push(self, at_ms: int, kind: Kind, key: str, slot: int = 0, version: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at_ms, self._seq, int(kind), key, slot, version))

    def _account(self, name: str, balance: int) -> str:
        account_id = f"{self.prefix}{name}"
        if account_id not in self.engine.accounts:
            self.engine.add_account(account_id, balance)
        return account_id

    def _adopt(self, market: SimMarket, payoff: Payoff, event: EventState, now_ms: int) -> None:
        archetype = self.profile.archetypes.get(event.archetype) or DEFAULT_ARCHETYPES["politics"]
        rng = random.Random(f"market-{self.seed}-{market.ticker}")
        state = MarketState(market, payoff, event, archetype, rng, now_ms)
        event.markets.append(market.ticker)
        self.markets[market.ticker] = state
        state.q = event.outcome.true_probability(payoff, now_ms)
        self._push(market.close_ms, Kind.CLOSE, market.ticker)
        if not self.with_participants:
            return
        crowd = self.crowd
        n_makers = min(len(self.maker_accounts), rng.randint(*archetype.makers))
        for index in sorted(rng.sample(range(len(self.maker_accounts)), n_makers)):
            one_side: BookSide | None = None
            if rng.random() < archetype.one_sided_share:
                one_side = BookSide.BID if rng.random() < 0.5 else BookSide.ASK
            state.makers.append(
                MakerSlot(
                    account=index,
                    half_cents=rng.uniform(*archetype.half_spread_cents),
                    levels=rng.randint(*archetype.levels),
                    gap_cents=rng.randint(*crowd.level_gap_cents),
                    size_contracts=agents.log_uniform(rng, archetype.level_size),
                    requote_s=archetype.requote_s * rng.uniform(0.5, 1.5),
                    news_lag_ms=round(rng.uniform(*crowd.maker_news_lag_s) * 1000),
                    one_side=one_side,
                )
            )
        for slot in range(len(state.makers)):  # quotes go up as the market lists
            self._push(now_ms, Kind.MAKER, market.ticker, slot)
        self.makers.place_deep_orders(state)
        self._schedule_taker(state, now_ms)
        self._schedule_informed(state, now_ms)

    def _adopt_strangers(self, now_ms: int) -> None:
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
            self._push(resolve_ms, Kind.RESOLVE, market.ticker)
            self._adopt(market, Payoff(-normal_inv(p0), None), event, now_ms)
        self._known_markets = len(self.engine.markets)

    # ----------------------------------------------------------------- events
    def _handle(self, kind: Kind, key: str, slot: int, version: int, now: int) -> None:
        if kind is Kind.TAKER:
            self._on_taker(key, version, now)
        elif kind is Kind.MAKER:
            self._on_maker(key, slot, version, now)
        elif kind is Kind.INFORMED:
            self._on_informed(key, version, now)
        elif kind is Kind.NEWS:
            self._on_news(key, now)
        elif kind is Kind.CLOSE:
            self._on_close(key, now)
        elif kind is Kind.RESOLVE:
            self._on_resolve(key, now)
        elif kind is Kind.DETERMINE:
            self._on_determine(key, now)
        else:
            self._on_settle(key, now)

    def _trading(self, state: MarketState, now: int) -> bool:
        market = state.market
        return market.is_trading and now < market.close_ms and self.engine.trading_active

    def _activity(self, state: MarketState, now: int) -> float:
        archetype = state.archetype
        factor = 1.0
        quiet = archetype.quiet_hours
        if quiet is not None and quiet[0] <= (now // 3_600_000) % 24 < quiet[1]:
            factor *= archetype.quiet_factor
        if state.last_news_ms is not None:
            factor *= 1.0 + (self.crowd.news_burst - 1.0) * math.exp(
                -(now - state.last_news_ms) / BURST_DECAY_MS
            )
        life = state.market.close_ms - state.listed_ms
        if life > 0 and state.market.close_ms - now < life / 10:
            factor *= self.crowd.close_ramp
        return factor

    def _schedule_taker(self, state: MarketState, now: int) -> None:
        rate_per_ms = state.archetype.taker_per_min / 60_000 * self._activity(state, now)
        if rate_per_ms > 0:
            state.taker_version += 1
            at = now + 1 + round(state.rng.expovariate(rate_per_ms))
            self._push(at, Kind.TAKER, state.market.ticker, 0, state.taker_version)

    def _schedule_informed(self, state: MarketState, now: int, delay_ms: int | None = None) -> None:
        rate_per_ms = state.archetype.informed_per_min / 60_000
        if delay_ms is None:
            if rate_per_ms <= 0:
                return
            delay_ms = 1 + round(state.rng.expovariate(rate_per_ms))
        state.informed_version += 1
        self._push(now + delay_ms, Kind.INFORMED, state.market.ticker, 0, state.informed_version)

    def _on_taker(self, ticker: str, version: int, now: int) -> None:
        state = self.markets.get(ticker)
        if state is None or version != state.taker_version or not self._trading(state, now):
            return
        if not self.participants_active:
            self._schedule_taker(state, now)
            return
        outcome = state.event.outcome
        state.q = outcome.true_probability(state.payoff, now)
        self.makers.prune_deep_orders(state, state.q)  # markets nobody quotes keep them clean too
        book = self.engine.books[ticker]
        ask, bid = book.best_yes_ask(), book.best_yes_bid()
        shocked = state.public_news_ms is not None and now - state.public_news_ms < PUBLIC_NEWS_MS
        if ask is not None and bid is not None and not shocked:  # no edge of their own: the price
            believed = (ask + bid) / 2 / PRICE_SCALE
        else:
            x_view, sd = outcome.view(now, 0 if shocked else TAKER_NEWS_LAG_MS)
            believed = state.payoff.probability(x_view, sd)
        rng = state.rng
        value = agents.taker_valuation(believed, rng, self.crowd)
        contracts = agents.uninformed_size(rng, self.crowd.size_shares)
        grid = state.market.grid
        through = 0 if contracts <= 100 else rng.randint(0, 3)
        if ask is not None and value * PRICE_SCALE > ask:
            limit = grid.step_up(ask, through) if through else ask
            self._take(state, self.taker_account, BookSide.BID, int(limit or ask), contracts, now)
        elif bid is not None and value * PRICE_SCALE < bid:
            limit = grid.step_down(bid, through) if through else bid
            self._take(state, self.taker_account, BookSide.ASK, int(limit or bid), contracts, now)
        self._schedule_taker(state, now)

    def _on_informed(self, ticker: str, version: int, now: int) -> None:
        state = self.markets.get(ticker)
        if state is None or version != state.informed_version or not self._trading(state, now):
            return
        if not self.participants_active:
            self._schedule_informed(state, now)
            return
        q = state.q = state.event.outcome.true_probability(state.payoff, now)
        edge = self.crowd.informed_edge_cents * agents.CENT
        fair = q * PRICE_SCALE
        book = self.engine.books[ticker]
        ask, bid = book.best_yes_ask(), book.best_yes_bid()
        grid = state.market.grid
        contracts = round(agents.log_uniform(state.rng, self.crowd.informed_size))
        if ask is not None and ask <= fair - edge:
            limit = grid.nearest(math.floor(fair - edge), "down")
            self._take(state, self.informed_account, BookSide.BID, int(limit), contracts, now)
        elif bid is not None and bid >= fair + edge:
            limit = grid.nearest(math.ceil(fair + edge), "up")
            self._take(state, self.informed_account, BookSide.ASK, int(limit), contracts, now)
        self._schedule_informed(state, now)

    def _take(
        self, state: MarketState, account: str, side: BookSide, limit: int, contracts: int, now: int
    ) -> None:
        request = OrderRequest(
            ticker=state.market.ticker,
            side=side,
            yes_price=limit,
            count=max(1, contracts) * COUNT_SCALE,
            time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
            self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
        )
        try:
            result = self.engine.create_order(account, request)
        except ExchangeError:
            return
        if result.fills:
            refill_ms = round(self.crowd.maker_refill_s * 1000)
            for slot_index, slot in enumerate(state.makers):
                slot.version += 1
                self._push(
                    now + refill_ms + state.rng.randint(0, 2_000),
                    Kind.MAKER,
                    state.market.ticker,
                    slot_index,
                    slot.version,
                )

    def _on_news(self, event_ticker: str, now: int) -> None:
        event = self.events.get(event_ticker)
        if event is None:
            return
        event.outcome.advance(now)
        informed_lag = self.crowd.informed_lag_s
        for ticker in event.markets:
            state = self.markets.get(ticker)
            if state is None or not self._trading(state, now):
                continue
            state.last_news_ms = now
            self._schedule_informed(state, now, round(state.rng.uniform(*informed_lag) * 1000))
            for slot_index, slot in enumerate(state.makers):
                slot.version += 1
                slot.heard_news_ms = now + slot.news_lag_ms
                self._push(now + slot.news_lag_ms, Kind.MAKER, ticker, slot_index, slot.version)
            self._schedule_taker(state, now)

    def _on_maker(self, ticker: str, slot_index: int, version: int, now: int) -> None:
        state = self.markets.get(ticker)
        if state is None or not self._trading(state, now):
            return
        slot = state.makers[slot_index]
        if version != slot.version:
            return
        pace_s = slot.requote_s
        if self.participants_active:
            pace_s = max(MIN_REQUOTE_S, min(pace_s, self.makers.requote(state, slot, now, self.markets)))
        slot.version += 1
        delay_ms = 1 + round(state.rng.expovariate(1.0 / (pace_s * 1000)))
        self._push(now + delay_ms, Kind.MAKER, ticker, slot_index, slot.version)

    def _on_close(self, ticker: str, now: int) -> None:
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
            self._refill(now)

    def _on_resolve(self, event_ticker: str, now: int) -> None:
        event = self.events.get(event_ticker)
        if event is None:
            return
        final = event.outcome.resolve()
        delay_ms = self.crowd.determine_delay_s * 1000
        for ticker in event.markets:
            state = self.markets[ticker]
            result = MarketResult.YES if state.payoff.wins(final) else MarketResult.NO
            if ticker not in self.outcomes:
                self.outcomes[ticker] = MarketOutcome(result, state.q, event.archetype, now)
                self.results[ticker] = result
            self._push(now + delay_ms, Kind.DETERMINE, ticker)

    def _on_determine(self, ticker: str, now: int) -> None:
        market = self.engine.markets.get(ticker)
        if market is None:
            return
        if market.result is None and market.status in (*LIVE_STATUSES, MarketStatus.CLOSED):
            lifecycle.determine(self.engine, ticker, self.results[ticker])
        if market.determined_ms is not None:
            self._push(market.determined_ms + market.settlement_timer_s * 1000, Kind.SETTLE, ticker)

    def _on_settle(self, ticker: str, now: int) -> None:
        lifecycle.advance(self.engine, now)
        state = self.markets.pop(ticker, None)
        if state is not None:
            event = state.event
            if all(t not in self.markets for t in event.markets):
                self.events.pop(event.ticker, None)
                self.makers.forget_event(event.ticker)

    def _refill(self, now: int) -> None:
        target = self.keep_alive_markets
        assert target is not None
        live = sum(1 for m in self.engine.markets.values() if m.status in LIVE_STATUSES)
        if live >= target:
            return
        self._refills += 1
        seed = self.seed + LISTING_SEED_STRIDE * self._refills
        for listed in generate_events(seed, target - live, now, self.profile):
            self.add_event(listed, now)
