"""Helpers of the trader scenario tests: the whole ``TraderCore`` against the simulator on loopback.

One ``Scenario`` holds a seeded simulator (no synthetic participants: every counterparty order is
placed by a test, straight on the engine, so each scenario is deterministic), a ``SteppingClock``
shared by simulator, clients and core (sleeps advance virtual time; tests move time explicitly),
the trader's account (Alice) and a counterparty (Bob), the admin API, and the core under test.

Books reach the core in one of two ways, chosen per scenario (``new_core(stream=...)``):

* ``stream=True``: a real ``KalshiStream`` on Alice's key feeds a ``BookStore`` (``orderbook_delta``
  for the scenario's markets) and routes ``fill`` / ``user_orders`` / ``market_positions`` /
  ``order_group_updates`` to ``core.live.handle`` -- the production wiring. ``converge()`` waits
  (bounded, on conditions) until books equal the engine's and every fill of Alice is booked.
* ``stream=False``: books are rebuilt from REST order books (``refresh_books()``) before each
  calibration; the ledger learns only from the executor's answers and from calibration.

``check_invariants`` is what every scenario ends with (run by the fixture at teardown): the ledger
equals the exchange (cash to the micro-dollar, positions, resting orders and their reservations),
a final calibration pass finds nothing to correct, no ``client_order_id`` was used twice, and no
trader order or trader-opened position exceeded the risk limits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from types import SimpleNamespace

import httpx
from tests.exchange.client.exchange_client_kit import Key, SteppingClock, make_client
from tests.marketdata.feed.feed_kit import store_ladders
from tests.trader.calibration.recon_kit import assert_ledger_matches_exchange
from tests.waiting import until

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.orders import BookSide, OutcomeSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.models_market import Market
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_models import OrderbookSnapshot
from kalshiflow.exchange.ws_status import BackoffPolicy
from kalshiflow.exchange.ws_stream import KalshiStream, StreamConfig
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.trader.config import ExitRulesConfig, PriceExitMetric, RiskLimits
from kalshiflow.trader.core import CalibrationCycle, CoreConfig, TraderCore
from kalshiflow.trader.lifecycle.recalibration import Recalibrator
from kalshiflow.trader.lifecycle.states import Lifecycle, TraderState
from kalshiflow.trader.risk.types import TradeAction
from kalshiflow.trader.state.orders import OrderPurpose

ALICE = "alice-key"  # the trader's account (= key id)
BOB = "bob-key"  # the counterparty
PREFIX = "kf-"  # ExecutionConfig.client_order_id_prefix default: marks the trader's orders
FAST_BACKOFF = BackoffPolicy(initial_s=0.02, max_s=0.2, auth_initial_s=1.0)
PRIVATE_CHANNELS = ["fill", "user_orders", "market_positions", "order_group_updates"]

# Thresholds that keep rules quiet unless a scenario tunes them (the pnl% rule; the price-space rule
# has its own scenarios in test_price_exits.py): the 1-cent spread of ``quote`` alone
# is a loss of ~10% after fees, which the default stop loss would act on.
QUIET_EXITS = ExitRulesConfig(price_exit_metric=PriceExitMetric.PCT, stop_loss_pct=50, take_profit_pct=50)
SCENARIO_RISK = RiskLimits(
    per_market_min_interval_s=0,
    max_order_contracts=10,
    max_position_contracts_per_market=20,
)


def scenario_config(**exit_overrides: object) -> CoreConfig:
    exits = ExitRulesConfig.model_validate({**QUIET_EXITS.model_dump(), **exit_overrides})
    return CoreConfig(exit_rules=exits, risk=SCENARIO_RISK)


def plain_fee_cent_markets(sim: SimExchange, n: int) -> list[str]:
    """Cent-grid markets with quadratic fees, multiplier 1 (what ``TraderCore``'s ledger assumes)."""
    engine = sim.engine
    found = []
    for market in sorted(engine.markets.values(), key=lambda m: (-m.close_ms, m.ticker)):
        series = engine.series[engine.events[market.event_ticker].series_ticker]
        if (
            market.grid.structure == "linear_cent"
            and series.fee_type is FeeType.QUADRATIC
            and series.fee_multiplier == Fraction(1)
        ):
            found.append(market.ticker)
    assert len(found) >= n, found
    return found[:n]


def yes_price_of(side: OutcomeSide, price: str) -> Price:
    """The YES-book price of a bid for ``side`` at ``price`` (a NO bid at q is a YES ask at 1 - q)."""
    p = Price.parse(price)
    return p if side is OutcomeSide.YES else p.complement()


def buy(side: OutcomeSide) -> TradeAction:
    return TradeAction.BUY_YES if side is OutcomeSide.YES else TradeAction.BUY_NO


@dataclass
class Scenario:
    sim: SimExchange
    clock: SteppingClock
    rest_url: str
    ws_url: str
    alice_key: Key
    by_hand: KalshiRestClient  # Alice's account, used "by hand" (a person on the same account)
    admin: httpx.AsyncClient
    tickers: list[str]
    markets: dict[str, Market] = field(default_factory=dict)
    core: TraderCore | None = None
    startup: CalibrationCycle | None = None  # what ``core.start()`` returned
    books: BookStore | None = None
    stream: KalshiStream | None = None
    consumer: asyncio.Task[None] | None = None
    external_tickers: set[str] = field(default_factory=set)  # exposure not opened by the trader
    _clients: list[KalshiRestClient] = field(default_factory=list)

    # ------------------------------------------------------------------ the trader
    @property
    def the_core(self) -> TraderCore:
        assert self.core is not None, "no core running"
        return self.core

    async def new_core(
        self, config: CoreConfig | None = None, *, stream: bool, start: bool = True
    ) -> TraderCore:
        """A fresh ``TraderCore`` on Alice's account (own REST client, books, optional stream)."""
        rest = make_client(self.rest_url, self.alice_key, self.clock)
        self._clients.append(rest)
        if not self.markets:
            self.markets = {m.ticker: m for m in await rest.list_markets(tickers=self.tickers)}
        books = BookStore(self.clock)
        for ticker, market in self.markets.items():
            books.register(ticker, market.grid)
        core = TraderCore(rest, self.clock, books, self.markets, config or scenario_config())
        self.core, self.books = core, books
        if stream:
            await self._connect(core, books)
        else:
            await self.refresh_books()
        if start:
            self.startup = await core.start()
        return core

    async def _connect(self, core: TraderCore, books: BookStore) -> None:
        config = StreamConfig(
            url=self.ws_url, resync_deadline_s=0.5, command_timeout_s=2.0, backoff=FAST_BACKOFF, seed=1
        )
        stream = KalshiStream(config, self.alice_key.signer(), books, clock=self.clock)
        self.stream = stream
        stream.start()
        await stream.wait_live()
        await stream.subscribe(["orderbook_delta"], self.tickers)
        await stream.subscribe(PRIVATE_CHANNELS)
        await stream.wait_books_valid(self.tickers)
        self.consumer = asyncio.create_task(core.live.run(stream.events), name="live-updates")

    async def kill_core(self) -> None:
        """The trader dies: its stream and consumer stop, nothing is cleaned up on the exchange."""
        if self.consumer is not None:
            self.consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.consumer
        if self.stream is not None:
            await self.stream.close()
        self.core, self.stream, self.consumer, self.books = None, None, None, None

    async def refresh_books(self) -> None:
        """Books from REST order books (the ``stream=False`` mode)."""
        assert self.books is not None
        for ticker, book in (await self.by_hand.orderbooks(self.tickers)).items():
            self.books.apply_snapshot(OrderbookSnapshot(0, 0, ticker, book.yes, book.no))

    async def calibrate(self, *, fills: bool = True) -> CalibrationCycle:
        """Bring books up to date (stream: converge; REST: refresh), then ``core.calibrate()``.

        ``fills=False``: do not wait for the stream to deliver every fill (some were lost on purpose).
        """
        await self.sync_books(fills=fills)
        return await self.the_core.calibrate()

    async def sync_books(self, *, fills: bool = True) -> None:
        if self.stream is not None:
            await self.converge(fills=fills)
        else:
            await self.refresh_books()

    # ------------------------------------------------------------------ counterparty (engine)
    def bob(self, ticker: str, side: BookSide, yes_price: Price, contracts: int, tif: TimeInForce) -> str:
        result = self.sim.engine.create_order(
            BOB,
            OrderRequest(
                ticker=ticker,
                side=side,
                yes_price=int(yes_price),
                count=int(Count.contracts(contracts)),
                time_in_force=tif,
                self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
            ),
        )
        return result.order.order_id

    def bid(self, ticker: str, side: OutcomeSide, price: str, contracts: int = 50) -> str:
        """Bob rests a bid for ``side`` at ``price`` (a price of that side)."""
        book_side = BookSide.BID if side is OutcomeSide.YES else BookSide.ASK
        return self.bob(
            ticker, book_side, yes_price_of(side, price), contracts, TimeInForce.GOOD_TILL_CANCELED
        )

    def sell_to_bids(self, ticker: str, side: OutcomeSide, price: str, contracts: int) -> None:
        """Bob sells ``side`` into resting bids down to ``price`` (immediate-or-cancel)."""
        # selling YES at p == buying NO at 1 - p: an ask at YES price p; selling NO at q: a bid at 1 - q
        book_side = BookSide.ASK if side is OutcomeSide.YES else BookSide.BID
        self.bob(ticker, book_side, yes_price_of(side, price), contracts, TimeInForce.IMMEDIATE_OR_CANCEL)

    def quote(self, ticker: str, yes_bid: str = "0.44", no_bid: str = "0.55", contracts: int = 50) -> None:
        """A two-sided book with a 1-cent spread: YES 0.44 / 0.45, NO 0.55 / 0.56 by default."""
        self.bid(ticker, OutcomeSide.YES, yes_bid, contracts)
        self.bid(ticker, OutcomeSide.NO, no_bid, contracts)

    def cancel_bob(self, ticker: str) -> None:
        engine = self.sim.engine
        for oid in list(engine.account(BOB).order_ids):
            order = engine.orders[oid]
            if order.ticker == ticker and order.is_resting:
                engine.cancel_order(BOB, oid)

    def ask_of(self, ticker: str, side: OutcomeSide) -> Price:
        """The best ask of ``side`` on the engine (1 - best bid of the other side)."""
        book = self.sim.engine.books[ticker]
        other = book.no if side is OutcomeSide.YES else book.yes
        return Price(other.ascending()[-1][0]).complement()

    async def hold(self, ticker: str, side: OutcomeSide, contracts: int) -> None:
        """The trader opens ``contracts`` of ``side`` by crossing at the ask (through the risk gate)."""
        result = await self.the_core.open_position(
            ticker, buy(side), self.ask_of(ticker, side), Count.contracts(contracts)
        )
        assert result.decision.allowed, result.decision
        assert result.execution is not None
        assert result.execution.error_code is None, result.execution
        await self.sync_books()
        sign = 1 if side is OutcomeSide.YES else -1
        assert self.the_core.ledger.position(ticker).position == sign * Count.contracts(contracts)

    # ------------------------------------------------------------------ waiting
    def engine_fill_ids(self) -> set[str]:
        return {f.trade_id for f in self.sim.engine.account(ALICE).fills}

    def _books_match(self) -> bool:
        assert self.books is not None
        engine = self.sim.engine
        return all(
            store_ladders(self.books, t)
            == (tuple(engine.books[t].yes.ascending()), tuple(engine.books[t].no.ascending()))
            for t in self.tickers
        )

    def _orders_match(self) -> bool:
        engine, ledger = self.sim.engine, self.the_core.ledger
        resting = {oid for oid in engine.account(ALICE).order_ids if engine.orders[oid].is_resting}
        live = {o.order_id for o in ledger.live_orders()}
        if live != resting:
            return False
        return all(
            ledger.order_by_exchange_id(oid).remaining == engine.orders[oid].remaining_count
            for oid in resting
        )  # type: ignore[union-attr]

    async def converge(self, within_s: float = 10.0, fills: bool = True) -> None:
        """Wait until the stream has delivered: books equal the engine's, fills and orders applied."""
        self.check_consumer()

        def done() -> bool:
            self.check_consumer()
            ok = self._books_match()
            if fills:
                ok = ok and self.engine_fill_ids() <= self.the_core.ledger.trade_ids and self._orders_match()
            return ok

        await until(done, within_s, "stream convergence")

    def check_consumer(self) -> None:
        """The live-update consumer must never have died on an exception."""
        if self.consumer is not None and self.consumer.done() and not self.consumer.cancelled():
            raise AssertionError(f"live-update consumer died: {self.consumer.exception()!r}")

    # ------------------------------------------------------------------ teardown
    async def aclose(self) -> None:
        await self.kill_core()
        for client in self._clients:
            await client.aclose()


def check_books(env: Scenario) -> None:
    """Ledger == exchange, no client_order_id used twice, no risk limit exceeded by the trader."""
    core = env.the_core
    assert_ledger_matches_exchange(SimpleNamespace(sim=env.sim, ledger=core.ledger))  # type: ignore[arg-type]
    engine = env.sim.engine
    mine = [engine.orders[oid] for oid in engine.account(ALICE).order_ids]
    ids = Counter(o.client_order_id for o in mine if o.client_order_id)
    assert all(n == 1 for n in ids.values()), ids.most_common(3)
    limits = core.config.risk
    for order in mine:
        if not order.client_order_id.startswith(PREFIX):
            continue  # placed by hand
        local = core.ledger.orders.get(order.client_order_id)
        if local is not None and local.purpose is OrderPurpose.CLOSE:
            assert order.reduce_only, order
            assert order.initial_count <= limits.max_position_contracts_per_market
        elif not order.reduce_only:
            assert order.initial_count <= limits.max_order_contracts, order
    for ticker, pos in engine.account(ALICE).positions.items():
        if ticker not in env.external_tickers:
            assert abs(pos.position) <= limits.max_position_contracts_per_market, (ticker, pos.position)


async def check_invariants(env: Scenario) -> None:
    """The end of every scenario: ledger == exchange now, and a further calibration changes nothing."""
    if env.core is None:
        return
    env.check_consumer()
    if env.stream is not None:
        await env.converge()
    check_books(env)
    report = await env.the_core.reconciler.calibrate(env.tickers, env.books)
    assert not report.corrections, [str(e) for e in report.corrections]
    check_books(env)


async def trading_recalibrator(env: Scenario) -> tuple[TraderCore, Lifecycle, Recalibrator]:
    """A core without the stream, its lifecycle and recalibrator, trading after a startup pass: the
    start of every scenario about what a calibration pass does to the trader's state."""
    env.quote(env.tickers[0])
    core = await env.new_core(scenario_config(), stream=False)
    life = Lifecycle(env.clock)
    recal = Recalibrator(
        core, life, env.clock, pause_after_errors=5, resume_backoff_s=30, drift_recalibrate=Money.dollars(1)
    )
    await recal.run_once("startup")
    assert life.state is TraderState.TRADING
    return core, life, recal
