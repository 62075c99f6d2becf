"""A trader session over the in-process simulator, advanced step by step: the environment's engine.

Why it exists: the training environment must trade exactly as ``run`` and the backtest do -- the
same ``TraderCore`` (ledger, risk gate, exit rules, execution, order groups, reconciliation), the
same lifecycle and ``Recalibrator``, the same observer (``MarketObserver``, schema v1) and the same
``Actor`` pricing -- but stop between an observation and its action, which a live actor never does.
``TradingSession`` holds that composition over a ``SimVenue`` and exposes the actor's loop in pieces:

* ``advance()``: one step of simulated time (``step_ms``); the frames it produced are delivered;
* ``dirty()``: the markets whose book changed since the last call (the actor's dirty set);
* ``prepare(ticker)``: the exits that react to that change, then the observation (None when the
  trader may not trade or the book is invalid: the actor would skip the market too);
* ``act(ticker, decision)``: the actor's own ``decide`` with that decision as the policy's answer;
* ``after_decisions()``: deliver frames, the time rules and the periodic calibration when due.

``run_actor`` strings them together as the backtest does, with a real policy: that is the live path
the parity test compares the environment with. Money stays exact; ``equity()`` is the mark-to-market
equity after fees (cash, reserved cash, cost basis and unrealized P&L at the exit price);
``equity_at_mid()`` the same with positions valued at the public mid (the training reward's mark).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kalshiflow.domain.units import Count, Money
from kalshiflow.events.bus import EventBus
from kalshiflow.features import SCHEMA_V1, ObservationScales
from kalshiflow.features.public_mid import unrealized_at_mid
from kalshiflow.features.valuation import unrealized_at_exit
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.policy.base import Action, Decision, Policy
from kalshiflow.trader.core import CoreConfig, TraderCore
from kalshiflow.trader.decisions.actor import Actor, TraderAction
from kalshiflow.trader.decisions.observer import MarketObserver
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.states import Lifecycle, TraderState
from kalshiflow.train.inprocess import Plumbing
from kalshiflow.train.venue import SimVenue


@dataclass(frozen=True)
class SessionConfig:
    """One simulated trading session.

    * ``core`` (``CoreConfig()``): exit rules, risk limits, calibration, order groups, execution.
    * ``scales`` ($1,000 bankroll, 50 contracts): what the portfolio features are relative to
      (the defaults of ``run``'s settings).
    * ``order_size`` (1 contract): size of every policy order, as ``run.order_size_contracts``.
    * ``n_markets`` (4): markets live at any time in the simulator.
    * ``step_ms`` (1000, ms): simulated time between two rounds of decisions (the backtest's step).
    * ``balance`` ($10,000): the trader's starting cash on the simulated exchange.
    * ``calibration_interval_s`` (60, s): time between periodic calibrations.
    * ``pause_after_errors`` (5), ``resume_backoff_s`` (30, s), ``drift_recalibrate`` ($1.00): the
      lifecycle's settings, as ``run`` has them.
    * ``plumbing`` (``DIRECT``): how the trader reaches the in-process exchange -- its handlers
      called in process and book deltas handed over typed, or the full wire (``WIRE``: signed HTTP
      over ASGI, JSON frames); the same episode either way (``train.inprocess``).
    """

    core: CoreConfig = field(default_factory=CoreConfig)
    scales: ObservationScales = field(
        default_factory=lambda: ObservationScales(Money.dollars(1000), Count.contracts(50))
    )
    order_size: Count = field(default_factory=lambda: Count.contracts(1))
    n_markets: int = 4
    step_ms: int = 1_000
    balance: Money = field(default_factory=lambda: Money.dollars(10_000))
    calibration_interval_s: int = 60
    pause_after_errors: int = 5
    resume_backoff_s: int = 30
    drift_recalibrate: Money = field(default_factory=lambda: Money.dollars(1))
    plumbing: Plumbing = Plumbing.DIRECT


class _Chosen:
    """The actor's policy in the environment: answers the decision the agent has just chosen."""

    name = "agent"
    schema_hash = SCHEMA_V1.hash

    def __init__(self) -> None:
        self.decision = Decision(Action.HOLD, "agent")

    def decide(self, observation: Sequence[float]) -> Decision:
        return self.decision


class TradingSession:
    """The trader on a seeded simulated market; build with ``await TradingSession.start(...)``."""

    def __init__(
        self, seed: int, config: SessionConfig, policy: Policy | None = None, venue: SimVenue | None = None
    ) -> None:
        """``venue``: another in-process exchange (a recorded session's); default the seeded simulator."""
        self.seed = seed
        self.config = config
        self.venue = (
            venue
            if venue is not None
            else SimVenue(seed, config.n_markets, config.balance, plumbing=config.plumbing)
        )
        self.clock = self.venue.clock
        self.bus = EventBus()
        self.books = BookStore(self.clock)
        self._chosen = _Chosen()
        self._policy: Policy = policy if policy is not None else self._chosen
        self.core: TraderCore
        self.actor: Actor
        self.lifecycle: Lifecycle
        self.observer: MarketObserver
        self._recal: Recalibrator
        self._next_exit = self._next_calib = 0
        self._listed: int | None = None  # the venue's listing_version at the last market listing
        self._prepared: tuple[str, Sequence[float]] | None = None

    @classmethod
    async def start(
        cls, seed: int, config: SessionConfig, policy: Policy | None = None, venue: SimVenue | None = None
    ) -> TradingSession:
        """Connect, calibrate at startup and return a session ready to trade (inside the event loop)."""
        session = cls(seed, config, policy, venue)
        await session._start()
        return session

    async def _start(self) -> None:
        venue, clock, config = self.venue, self.clock, self.config
        self._listed = venue.listing_version()
        listed = await venue.rest.list_markets(status="open")
        markets = {m.ticker: m for m in listed}
        for market in markets.values():
            self.books.register(market.ticker, market.grid)
        core = self.core = TraderCore(venue.rest, clock, self.books, markets, config.core, bus=self.bus)
        venue.connect(self.books, markets, core.live.handle)
        lifecycle = self.lifecycle = Lifecycle(clock, bus=self.bus)
        self._recal = Recalibrator(
            core,
            lifecycle,
            clock,
            pause_after_errors=config.pause_after_errors,
            resume_backoff_s=config.resume_backoff_s,
            drift_recalibrate=config.drift_recalibrate,
        )
        await core.load_fees()
        await core.groups.start()
        await self._recal.run_once("startup")
        self.observer = MarketObserver(core, config.scales)
        self.actor = Actor(
            self.books,
            core,
            self._policy,
            self._observe,
            config.order_size,
            clock,
            may_trade=self.may_trade,
        )
        now = clock.now_ms()
        self._next_exit = now + self._exit_every_ms
        self._next_calib = now + config.calibration_interval_s * 1000

    @property
    def _exit_every_ms(self) -> int:
        return round(self.config.core.exit_rules.time_rules_interval_s * 1000)

    # ------------------------------------------------------------------ the actor's loop, in pieces
    def may_trade(self) -> bool:
        return self.lifecycle.state is TraderState.TRADING

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def advance(self) -> None:
        self.venue.advance_to(self.clock.now_ms() + self.config.step_ms)

    def dirty(self) -> list[tuple[str, int]]:
        return self.books.drain_dirty_since()

    async def prepare(self, ticker: str) -> Sequence[float] | None:
        """Exits first (as the actor), then the observation the actor would decide on, or None."""
        await self.core.exits.react_to_book(ticker)
        if not self.may_trade():
            return None
        book = self.books.book(ticker)
        if book is None or not book.valid or ticker not in self.core.markets:
            return None
        observation = self.observer.observe(ticker, book)
        if observation is not None:
            self._prepared = (ticker, observation)
        return observation

    def _observe(self, ticker: str, book: OrderBook) -> Sequence[float] | None:
        """The actor's observe: the one ``prepare`` just computed (nothing ran since), else afresh."""
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared[0] == ticker:
            return prepared[1]
        return self.observer.observe(ticker, book)

    async def act(self, ticker: str, first_changed_ms: int, decision: Decision) -> TraderAction | None:
        """The actor's ``decide`` for ``ticker`` with ``decision`` as the policy's answer."""
        self._chosen.decision = decision
        try:
            return await self.actor.decide(ticker, first_changed_ms)
        finally:
            self._prepared = None

    async def after_decisions(self) -> None:
        """Frames the decisions caused, then the time rules and the calibration when they are due."""
        venue, core = self.venue, self.core
        venue.pump()
        now = self.clock.now_ms()
        if now >= self._next_exit:
            await core.exits.exit_tick()
            venue.pump()
            self._next_exit = now + self._exit_every_ms
        if now >= self._next_calib:
            known = core.markets
            listing = venue.listing_version()
            if listing is None:  # the venue cannot version its listing: ask the engine in process
                due = venue.lists_unknown_market(known)
            else:  # else no market can be new: no call
                due = listing != self._listed
                self._listed = listing
            if due:
                listed = await venue.rest.list_markets(status="open")
                fresh = [m for m in listed if m.ticker not in known]
                for market in fresh:
                    self.books.register(market.ticker, market.grid)
                if fresh:
                    core.add_markets(fresh)
                    venue.watch(m.ticker for m in fresh)
            await self._recal.run_once("scheduled")
            venue.pump()
            self._next_calib = now + self.config.calibration_interval_s * 1000

    async def run_actor(self, until_ms: int) -> None:
        """The live path: the real ``Actor`` with the session's policy, step by step to ``until_ms``."""
        while self.clock.now_ms() < until_ms:
            self.advance()
            await self.actor.drain()
            await self.after_decisions()

    def equity(self) -> Money:
        return self.core.pnl_view().equity

    def equity_at_mid(self) -> Money:
        """``equity()`` with open positions valued at the public mid instead of the exit price.

        Cash, reserved cash and held cost as ``equity()``; each position at ``unrealized_at_mid``
        (the mid of the book without our own resting orders, less the estimated exit fee), or at
        the exit price where the public book has no mid (one side empty but for us), as ``equity()``
        values it. Reads ``pnl_view()`` as ``equity()`` does, so the trader's state (its peak
        equity) moves the same whichever mark the environment rewards with.
        """
        core = self.core
        pnl = core.pnl_view()
        total = int(pnl.equity) - int(pnl.unrealized)
        # The index's views, not ``core.position_views()``: that one also hands pending fills to the
        # exits, which would make the mark change when the exits learn of a fill.
        positions = core.position_index.views()
        if not positions:
            return Money(total)
        markets = core.market_views()
        for ticker, view in positions.items():
            market, book = markets.get(ticker), self.books.book(ticker)
            if market is None or book is None:
                continue  # as ``unrealized()``: no market view or book, no value
            value = unrealized_at_mid(view, book, market, core.ledger.live_orders(ticker))
            if value is None:
                value = unrealized_at_exit(view, book, market) or 0
            total += value
        return Money(total)

    async def aclose(self) -> None:
        await self.venue.aclose()
