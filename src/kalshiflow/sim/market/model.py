"""The simulated market: a discrete-event model of Kalshi's participants, in simulated time.

Everything that happens in the market -- a maker re-quoting, a taker arriving, news, a close, a
resolution, a settlement -- is an event on one time-ordered heap (``schedule.py``).
``advance_to(t)`` processes every event up to ``t`` in order, pinning the engine's ``MarketClock``
to each event's own time. Which events exist and when depends only on the seed and the profile
(every market and event draws from its own ``random.Random``), never on how the caller slices
time: the same seed gives the same market whether it is driven by a server at ``--speed 1`` or
``20``, or in process as fast as the CPU allows (``headless.py``). Cost is per event, not per tick,
so quiet markets cost almost nothing.

This module owns the accounts and the clock and hands each event to the part it belongs to:

* ``listings.py``: which markets are listed and how each one ends (close, resolution from the
  event's outcome process, determination, settlement, fresh listings, adopted strangers);
* ``participants.py``: who trades them and when (makers, uninformed takers, the informed trader,
  the deep book; what each wants is ``agents.py``, how makers quote is ``makers.py``).
"""

from __future__ import annotations

from typing import Final

from kalshiflow.domain.settlement import MarketResult
from kalshiflow.domain.units import Money
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.market.listings import Listings
from kalshiflow.sim.market.makers import MakerDesk
from kalshiflow.sim.market.participants import Participants
from kalshiflow.sim.market.profile import MarketProfile
from kalshiflow.sim.market.schedule import Schedule
from kalshiflow.sim.market.state import EventState, Kind, MarketOutcome, MarketState
from kalshiflow.sim.market_clock import MarketClock
from kalshiflow.sim.universe import ListedEvent

N_MAKER_ACCOUNTS: Final = 8
MAKER_BALANCE: Final = Money.dollars(100_000_000)
TAKER_BALANCE: Final = Money.dollars(100_000_000)


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
        self.maker_accounts = [
            self._account(f"maker-{i + 1}", MAKER_BALANCE) for i in range(N_MAKER_ACCOUNTS)
        ]
        self.taker_account = self._account("taker", TAKER_BALANCE)
        self.informed_account = self._account("informed", TAKER_BALANCE)
        self.deep_account = self._account("deep", MAKER_BALANCE)
        self.makers = MakerDesk(self.engine, self.crowd, self.maker_accounts, self.deep_account)
        self.schedule = Schedule()
        self.events: dict[str, EventState] = {}
        self.markets: dict[str, MarketState] = {}
        self.participants = Participants(
            engine,
            self.crowd,
            self.schedule,
            self.markets,
            self.events,
            self.makers,
            n_maker_accounts=len(self.maker_accounts),
            taker_account=self.taker_account,
            informed_account=self.informed_account,
        )
        self.participants.active = participants
        self.listings = Listings(
            engine,
            seed,
            self.profile,
            self.schedule,
            self.markets,
            self.events,
            self.makers,
            seat=self.participants.seat if participants else None,
            keep_alive_markets=keep_alive_markets,
        )
        self.steps = 0
        self.events_processed = 0

    # ----------------------------------------------------------------- public
    @property
    def account_ids(self) -> list[str]:
        return [*self.maker_accounts, self.taker_account, self.informed_account, self.deep_account]

    @property
    def participants_active(self) -> bool:
        """False silences the crowd (a test may do it mid-run): markets still list and settle."""
        return self.participants.active

    @participants_active.setter
    def participants_active(self, active: bool) -> None:
        self.participants.active = active

    @property
    def outcomes(self) -> dict[str, MarketOutcome]:
        """How each resolved market ended, by ticker."""
        return self.listings.outcomes

    @property
    def results(self) -> dict[str, MarketResult]:
        return self.listings.results

    @property
    def listings_added(self) -> int:
        """Markets listed after the first listing (fresh events, keep-alive refills)."""
        return self.listings.listings_added

    def list_initial(self, n_markets: int, now_ms: int) -> None:
        """List the run's first ``n_markets`` markets (by whole events)."""
        self.listings.list_initial(n_markets, now_ms)

    def add_event(self, listed: ListedEvent, now_ms: int) -> None:
        """List an event's markets on the engine and start trading them."""
        self.listings.add_event(listed, now_ms)

    def next_event_ms(self) -> int | None:
        return self.schedule.next_ms()

    def step(self) -> None:
        """Catch up to the driving clock's time (the server loop calls this)."""
        self.advance_to(self.clock.source.now_ms())

    def advance_to(self, target_ms: int) -> None:
        """Process every event due at or before ``target_ms``, each at its own time."""
        listings = self.listings
        if len(self.engine.markets) != listings.known_markets:
            listings.adopt_strangers(target_ms)
        try:
            while (entry := self.schedule.pop_due(target_ms)) is not None:
                at, _, kind, key, slot, version = entry
                self.clock.pin(at)
                self._handle(kind, key, slot, version, at)
                self.events_processed += 1
        finally:
            self.clock.release()
        now = max(target_ms, self.clock.now_ms())
        lifecycle.advance(self.engine, now)
        if self.keep_alive_markets is not None:
            listings.refill(now)  # only lists anything when someone else closed a market
        self.steps += 1

    def true_probability(self, ticker: str) -> float | None:
        """The market's true YES probability at the model's last event on it (None if unknown)."""
        state = self.markets.get(ticker)
        return None if state is None else state.q

    def shock(self, ticker: str, probit_shift: float) -> None:
        """Unscheduled news: move the market's event so its probability shifts by about
        ``probit_shift`` probit units (up if positive); makers and the informed trader react as to
        news. A hook for tests that need the market to move against someone."""
        self.participants.shock(ticker, probit_shift, self.clock.now_ms())

    # ----------------------------------------------------------------- internals
    def _account(self, name: str, balance: int) -> str:
        account_id = f"{self.prefix}{name}"
        if account_id not in self.engine.accounts:
            self.engine.add_account(account_id, balance)
        return account_id

    def _handle(self, kind: Kind, key: str, slot: int, version: int, now: int) -> None:
        participants, listings = self.participants, self.listings
        if kind is Kind.TAKER:
            participants.on_taker(key, version, now)
        elif kind is Kind.MAKER:
            participants.on_maker(key, slot, version, now)
        elif kind is Kind.INFORMED:
            participants.on_informed(key, version, now)
        elif kind is Kind.NEWS:
            participants.on_news(key, now)
        elif kind is Kind.CLOSE:
            listings.on_close(key, now)
        elif kind is Kind.RESOLVE:
            listings.on_resolve(key, now)
        elif kind is Kind.DETERMINE:
            listings.on_determine(key, now)
        else:
            listings.on_settle(key, now)
