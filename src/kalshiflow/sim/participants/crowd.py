"""The crowd: every synthetic trader, and what each market looks like to them.

``Participants`` owns the traders' exchange accounts, one latent ``FairValue`` per market, and a
per-market profile (how active the market is, which makers quote it and how). ``act(now_ms)`` lets
everyone trade for the sim time elapsed since the previous call, in a fixed order per market:
fair value moves → the informed trader picks off stale quotes → makers re-quote → noise orders
arrive. Markets are adopted lazily the first time they are seen trading, so markets listed later
(by the keep-alive listing or the admin API) get traders too.

Determinism: each role draws from its own ``random.Random`` seeded by the run seed and the role's
name, markets are visited in listing order, and time comes only from the ``now_ms`` passed in
(the engine's clock). Same seed + same step times ⇒ the same orders, fills and books.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from kalshiflow.sim.engine import Engine
from kalshiflow.sim.participants.config import ParticipantsConfig
from kalshiflow.sim.participants.fair import FairValue, poisson
from kalshiflow.sim.participants.makers import MakerParams, MarketMaker
from kalshiflow.sim.participants.takers import InformedTaker, NoiseTaker
from kalshiflow.sim.state import SimMarket

MAX_NOISE_ORDERS_PER_STEP = 20


@dataclass(slots=True)
class MarketProfile:
    fair: FairValue
    activity: float  # multiplies the noise order rate
    makers: tuple[tuple[int, MakerParams], ...]  # (index into Participants.makers, how it quotes)


class Participants:
    def __init__(self, engine: Engine, seed: int, config: ParticipantsConfig | None = None) -> None:
        self.engine = engine
        self.config = config or ParticipantsConfig()
        cfg = self.config

        def rng(role: str) -> random.Random:
            return random.Random(f"participants-{seed}-{role}")

        self._profile_rng = rng("profiles")
        self._fair_rng = rng("fair")
        self._flow_rng = rng("flow")
        self.makers = [
            MarketMaker(engine, self._account(f"maker-{i + 1}", cfg.maker_balance), rng(f"maker-{i + 1}"))
            for i in range(cfg.n_makers)
        ]
        self.noise = NoiseTaker(engine, self._account("noise", cfg.taker_balance), rng("noise"))
        self.informed = InformedTaker(
            engine, self._account("informed", cfg.taker_balance), rng("informed"), cfg.informed_edge
        )
        self.profiles: dict[str, MarketProfile] = {}
        self._last_ms: int | None = None

    def _account(self, name: str, balance: int) -> str:
        account_id = f"{self.config.account_prefix}{name}"
        if account_id not in self.engine.accounts:
            self.engine.add_account(account_id, balance)
        return account_id

    @property
    def account_ids(self) -> list[str]:
        return [m.account_id for m in self.makers] + [self.noise.account_id, self.informed.account_id]

    def fair(self, ticker: str) -> float | None:
        """The latent fair YES probability of a market the crowd trades (None if never seen)."""
        profile = self.profiles.get(ticker)
        return None if profile is None else profile.fair.probability

    def probability_at_close(self, market: SimMarket) -> float:
        """Walk the market's fair value to its close time and return it (for the outcome draw)."""
        profile = self.profiles.get(market.ticker)
        if profile is None:
            return market.last_price / 10_000 if market.last_price else 0.5
        cfg = self.config
        profile.fair.advance(
            market.close_ms, market.close_ms, self._fair_rng, cfg.jump_rate_per_hour, cfg.jump_sd_z
        )
        return profile.fair.probability

    def retire(self, ticker: str) -> None:
        """Forget a market that is determined; nothing trades it any more."""
        self.profiles.pop(ticker, None)

    def act(self, now_ms: int) -> None:
        """Let every trader act on every trading market for the time since the previous call."""
        elapsed_s = 0.0 if self._last_ms is None else max(0.0, (now_ms - self._last_ms) / 1000)
        self._last_ms = now_ms
        activity_s = min(elapsed_s, self.config.max_step_s)
        for market in list(self.engine.markets.values()):
            if not market.is_trading or now_ms >= market.close_ms:
                profile = self.profiles.get(market.ticker)
                if profile is not None:
                    for index, _ in profile.makers:
                        self.makers[index].forget(market.ticker)
                continue
            self._act_on(market, now_ms, activity_s)

    def _act_on(self, market: SimMarket, now_ms: int, activity_s: float) -> None:
        cfg = self.config
        profile = self.profiles.get(market.ticker)
        if profile is None:
            profile = self.profiles[market.ticker] = self._adopt(market, now_ms)
        jumped = profile.fair.advance(
            now_ms, market.close_ms, self._fair_rng, cfg.jump_rate_per_hour, cfg.jump_sd_z
        )
        fair = profile.fair.probability
        book = self.engine.books[market.ticker]
        check_rate = cfg.informed_checks_per_min / 60.0
        if jumped or self._flow_rng.random() < 1.0 - math.exp(-check_rate * activity_s):
            self.informed.trade(market, book, fair)
        for index, params in profile.makers:
            self.makers[index].act(market, params, fair, now_ms)
        mean = cfg.noise_orders_per_min / 60.0 * profile.activity * activity_s
        for _ in range(min(MAX_NOISE_ORDERS_PER_STEP, poisson(self._flow_rng, mean))):
            self.noise.trade(market, book)

    def _adopt(self, market: SimMarket, now_ms: int) -> MarketProfile:
        rng = self._profile_rng
        cfg = self.config
        start = market.last_price / 10_000 if market.last_price else rng.uniform(0.08, 0.92)
        fair = FairValue.start(start, now_ms, rng.uniform(cfg.vol_min, cfg.vol_max))
        n_quoting = min(len(self.makers), rng.randint(2, 3))
        chosen = sorted(rng.sample(range(len(self.makers)), n_quoting))
        makers = tuple((index, MakerParams.draw(rng, market.grid)) for index in chosen)
        activity = math.exp(rng.uniform(math.log(0.25), math.log(3.0)))
        return MarketProfile(fair, activity, makers)
