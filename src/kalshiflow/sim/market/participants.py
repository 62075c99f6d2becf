"""Who trades the simulated market, and when: the participants' events, turned into engine orders.

``agents.py`` decides what a participant wants (pure functions of its belief and the book); this
module decides when each one acts and places its orders:

* makers (a pool of accounts; each market is quoted by a few, with their own spread, size, levels
  and re-quote pace from its archetype) quote around their own noisy, lagged belief; they hear
  news late, widen after it, skew against inventory and re-quote soon after being filled;
* uninformed takers (sizes from 1 to thousands of contracts) with a private valuation and an
  optimism toward YES longshots, arriving at their archetype's pace: slower in quiet hours,
  faster after news and toward the close;
* an informed trader who hears news first and takes only clear mispricing;
* a deep-book account with a few large resting orders far from the touch and, in some markets,
  1¢ lottery bids on both legs.

Each market draws from its own ``random.Random`` (``MarketState.rng``) in the order its events
happen, so what one market's participants do never depends on another market's.
"""

from __future__ import annotations

import math
from typing import Final

from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.market import agents
from kalshiflow.sim.market.makers import MIN_REQUOTE_S, MakerDesk
from kalshiflow.sim.market.profile import CrowdConfig
from kalshiflow.sim.market.schedule import Schedule
from kalshiflow.sim.market.state import EventState, Kind, MakerSlot, MarketState

TAKER_NEWS_LAG_MS: Final = 120_000
PUBLIC_NEWS_MS: Final = 900_000  # after a shock, takers value the market at the news for 15 minutes
BURST_DECAY_MS: Final = 600_000


class Participants:
    """The makers, takers, informed trader and deep book of every listed market."""

    def __init__(
        self,
        engine: Engine,
        crowd: CrowdConfig,
        schedule: Schedule,
        markets: dict[str, MarketState],
        events: dict[str, EventState],
        makers: MakerDesk,
        *,
        n_maker_accounts: int,
        taker_account: str,
        informed_account: str,
    ) -> None:
        self.engine = engine
        self.crowd = crowd
        self.schedule = schedule
        self.markets = markets  # the listings' registry, read here (shared, not copied)
        self.events = events
        self.makers = makers
        self.n_maker_accounts = n_maker_accounts
        self.taker_account = taker_account
        self.informed_account = informed_account
        self.active = True  # a test may silence the crowd mid-run: events still come, nobody trades

    def seat(self, state: MarketState, now: int) -> None:
        """A market just listed: pick its makers and how they quote, put up its first quotes and
        the deep book, and schedule its first taker and informed arrivals."""
        archetype, crowd, rng = state.archetype, self.crowd, state.rng
        n_makers = min(self.n_maker_accounts, rng.randint(*archetype.makers))
        for index in sorted(rng.sample(range(self.n_maker_accounts), n_makers)):
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
        ticker = state.market.ticker
        for slot in range(len(state.makers)):  # quotes go up as the market lists
            self.schedule.push(now, Kind.MAKER, ticker, slot)
        self.makers.place_deep_orders(state)
        self._schedule_taker(state, now)
        self._schedule_informed(state, now)

    def shock(self, ticker: str, probit_shift: float, now: int) -> None:
        """Unscheduled public news on ``ticker``'s event (see ``MarketModel.shock``)."""
        state = self.markets.get(ticker)
        if state is None:
            return
        outcome = state.event.outcome
        outcome.advance(now)
        sd = outcome.remaining_sd(now)
        before = state.payoff.probability(outcome.x, sd)
        direction = 1.0 if state.payoff.probability(outcome.x + 0.01 * sd, sd) >= before else -1.0
        size = direction * probit_shift * sd
        outcome.x += size
        outcome.jumps.append((now, size))
        state.public_news_ms = now  # a shock is public: takers price off the news, not the book
        self.on_news(state.event.ticker, now)

    # ----------------------------------------------------------------- events
    def on_taker(self, ticker: str, version: int, now: int) -> None:
        state = self.markets.get(ticker)
        if state is None or version != state.taker_version or not self._trading(state, now):
            return
        if not self.active:
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

    def on_informed(self, ticker: str, version: int, now: int) -> None:
        state = self.markets.get(ticker)
        if state is None or version != state.informed_version or not self._trading(state, now):
            return
        if not self.active:
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

    def on_maker(self, ticker: str, slot_index: int, version: int, now: int) -> None:
        state = self.markets.get(ticker)
        if state is None or not self._trading(state, now):
            return
        slot = state.makers[slot_index]
        if version != slot.version:
            return
        pace_s = slot.requote_s
        if self.active:
            pace_s = max(MIN_REQUOTE_S, min(pace_s, self.makers.requote(state, slot, now, self.markets)))
        slot.version += 1
        delay_ms = 1 + round(state.rng.expovariate(1.0 / (pace_s * 1000)))
        self.schedule.push(now + delay_ms, Kind.MAKER, ticker, slot_index, slot.version)

    def on_news(self, event_ticker: str, now: int) -> None:
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
                self.schedule.push(now + slot.news_lag_ms, Kind.MAKER, ticker, slot_index, slot.version)
            self._schedule_taker(state, now)

    # ----------------------------------------------------------------- helpers
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
            self.schedule.push(at, Kind.TAKER, state.market.ticker, 0, state.taker_version)

    def _schedule_informed(self, state: MarketState, now: int, delay_ms: int | None = None) -> None:
        rate_per_ms = state.archetype.informed_per_min / 60_000
        if delay_ms is None:
            if rate_per_ms <= 0:
                return
            delay_ms = 1 + round(state.rng.expovariate(rate_per_ms))
        state.informed_version += 1
        self.schedule.push(now + delay_ms, Kind.INFORMED, state.market.ticker, 0, state.informed_version)

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
        if result.fills:  # the makers re-quote soon after being filled
            refill_ms = round(self.crowd.maker_refill_s * 1000)
            for slot_index, slot in enumerate(state.makers):
                slot.version += 1
                self.schedule.push(
                    now + refill_ms + state.rng.randint(0, 2_000),
                    Kind.MAKER,
                    state.market.ticker,
                    slot_index,
                    slot.version,
                )
