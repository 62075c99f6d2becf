"""The simulated market in process, reached by the trader through its real client code.

Why this exists: a backtest must run the trader exactly as ``run`` does -- the same REST client,
the same wire parsing, the same ledger and books -- but with no sockets and no waiting, so hours
of trading take seconds. ``SimVenue`` puts together:

* a ``HeadlessMarket`` (engine + participants on a manual clock, deterministic by seed);
* the simulator's own REST application (``build_app``) reached through ``httpx.ASGITransport``:
  every order the trader sends is signed, routed, matched and answered by the real server code;
* a session of the simulator's own WebSocket hub (``WsHub``) whose outgoing frames are read
  straight from its outbox and parsed by the client's ``parse_frame`` -- the frames a socket would
  carry, minus the socket -- feeding the ``BookStore`` and the core's ``LiveUpdates``;
* ``VenueClock``, the trader's clock: ``now_ms`` is the market's simulated time, and ``sleep``
  (rate-limit pacing, retry backoff) advances the market while the trader waits, as it would live.

That is ``Plumbing.WIRE`` (the backtest's). With ``Plumbing.DIRECT`` (the training environment's
default) the same client code calls the simulator's handlers in process and book deltas reach the
``BookStore`` typed (``train.inprocess``) and the hub's other data messages reach the client's
parser as the values it would decode (``parse_value``): no signing, no HTTP, no JSON for the stream;
the episode is the same (parity tests in ``tests/train/test_inprocess.py``).

The venue's time moves only when the driver calls ``advance_to`` or the trader sleeps; both end
with ``pump()``, which delivers every queued frame in order.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Container, Iterable
from typing import Any, Final

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from kalshiflow.domain.ratelimits import Tier
from kalshiflow.domain.units import Money
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.exchange.ratelimit import Pacer, PacerConfig
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_models import (
    ChannelMessage,
    OrderbookDelta,
    OrderbookSnapshot,
    StreamEvent,
    WsMessage,
)
from kalshiflow.exchange.ws_parse import parse_frame, parse_value
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.market.headless import HeadlessMarket
from kalshiflow.sim.market.profile import MarketProfile
from kalshiflow.sim.ratelimit import AccountRateLimiters
from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.ws_frames import Close, DataFrame, as_text
from kalshiflow.sim.server.ws_hub import (
    FILL,
    ORDER_GROUPS,
    ORDERBOOK,
    POSITIONS,
    USER_ORDERS,
    Session,
    Subscription,
    WsHub,
)
from kalshiflow.train.inprocess import BookDeltas, InProcessRestClient, Plumbing

TRADER_ACCOUNT: Final = "backtest-trader"  # the account name is part of every seeded run
REST_URL: Final = "http://venue.invalid/trade-api/v2"
PRIVATE: Final = (FILL, USER_ORDERS, POSITIONS, ORDER_GROUPS)


TRADER_KEY_BITS: Final = 1024  # in process only: signing cost grows ~cubically with the key size


class CountingTransport(httpx.ASGITransport):
    """The simulator's application in process, counting the requests sent to it: every change the
    trader learns of arrives as a frame or as a REST response (``SimVenue.state_version``)."""

    def __init__(self, app: Any) -> None:
        super().__init__(app=app)
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await super().handle_async_request(request)


@functools.cache
def _trader_key() -> tuple[RSAPrivateKey, bytes]:
    """One RSA key per process (generating one costs ~0.1 s; the key proves nothing in a backtest).

    Every REST call of the trader is signed (RSA-PSS) by the real client and verified by the
    simulator, as live; with Kalshi's 2048-bit keys the signature alone was ~0.3 ms a call (a
    tenth to a fifth of a request's round trip in the training environment). The venue never
    leaves the process, so it uses a 1024-bit key: the same code signs and verifies, about three
    times faster (~0.09 ms).
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=TRADER_KEY_BITS)
    public_pem = key.public_key().public_bytes(
        encoding=serialization.Encoding.PEM, format=serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, public_pem


class VenueClock:
    """The trader's clock in a backtest: simulated time; sleeping lets the market run meanwhile."""

    def __init__(self, venue: SimVenue) -> None:
        self._venue = venue

    def now_ms(self) -> int:
        return self._venue.market.now_ms()

    async def sleep(self, seconds: float) -> None:
        self._venue.advance_to(self.now_ms() + max(0, round(seconds * 1000)))


class SimVenue:
    """A seeded simulated exchange in process, with the trader's account, REST client and stream."""

    def __init__(
        self,
        seed: int,
        n_markets: int,
        balance: Money,
        profile: MarketProfile | None = None,
        plumbing: Plumbing = Plumbing.WIRE,
    ) -> None:
        """``plumbing``: how the trader reaches the exchange (``train.inprocess``); the full wire by
        default (the backtest), in process for the training environment."""
        self.market = HeadlessMarket(seed, n_markets, profile)
        self.engine = self.market.engine
        self.clock = VenueClock(self)
        self.sim = SimExchange(
            engine=self.engine,
            clock=self.market.clock,
            limiters=AccountRateLimiters(self.market.clock, Tier.PRESTIGE),
        )
        self._plumb(balance, plumbing)

    def _plumb(self, balance: Money, plumbing: Plumbing) -> None:
        """The trader's account, REST client and stream session on ``self.sim`` (set up by the
        caller with its engine and clock), reached through ``plumbing``."""
        # Nothing in this process asks for candlesticks: the REST client has no such call, and
        # neither the simulated participants nor a recording read them. The recorder would only
        # bucket every book change and trade for nobody (an engine listener on every event).
        if self.sim.candles is not None:
            self.engine.remove_listener(self.sim.candles.on_event)
        key, public_pem = _trader_key()
        self.sim.register_account(TRADER_ACCOUNT, public_pem, int(balance), TRADER_ACCOUNT)
        self.plumbing = plumbing
        self.hub = WsHub(self.sim)
        self.session: Session = self.hub.open_session(TRADER_ACCOUNT)
        self.transport: CountingTransport | None = None
        self.rest: KalshiRestClient
        pacer = Pacer(self.clock, PacerConfig(tier=Tier.PRESTIGE))
        if plumbing is Plumbing.DIRECT:
            self.rest = InProcessRestClient(
                self.sim, TRADER_ACCOUNT, clock=self.clock, pacer=pacer, rest_url=REST_URL
            )
        else:
            self.transport = CountingTransport(build_app(self.sim, self.hub))
            self.rest = KalshiRestClient(
                REST_URL,
                RequestSigner(TRADER_ACCOUNT, key),
                clock=self.clock,
                pacer=pacer,
                transport=self.transport,
            )
        self.books: BookStore | None = None
        self.on_event: Callable[[StreamEvent], None] | None = None
        self.on_advanced: Callable[[int], None] | None = None
        self._book_sub: Subscription | None = None
        self._deltas: BookDeltas | None = None
        self.frames = 0

    # ------------------------------------------------------------------ wiring
    def connect(
        self, books: BookStore, tickers: Iterable[str], on_event: Callable[[StreamEvent], None]
    ) -> None:
        """Subscribe ``orderbook_delta`` for ``tickers`` (snapshots first) and the private channels."""
        self.books = books
        self.on_event = on_event
        tickers = list(tickers)
        sub = Subscription(self.session.new_sid(), ORDERBOOK, self.session, set(tickers))
        if self.plumbing is Plumbing.DIRECT:
            self._deltas = BookDeltas(self.hub, self.session, sub)
        else:
            self.hub.subscribe(sub)
        self._book_sub = sub
        for ticker in tickers:
            self.hub.send_snapshot(sub, ticker)
        for channel in PRIVATE:
            self.hub.subscribe(Subscription(self.session.new_sid(), channel, self.session, None))
        self.pump()

    def watch(self, tickers: Iterable[str]) -> None:
        """Add markets to the book subscription (snapshots first), as the feed's refresh would."""
        if self._book_sub is None:
            return
        deltas = self._deltas
        added = self.hub.add_markets(self._book_sub, tickers) if deltas is None else deltas.add(tickers)
        for ticker in added:
            self.hub.send_snapshot(self._book_sub, ticker)
        self.pump()

    # ------------------------------------------------------------------ what the market knows
    def true_probability(self, ticker: str) -> float | None:
        """The simulator's true probability of YES (None when unknown); a recording knows none."""
        return self.market.model.true_probability(ticker)

    def state_version(self) -> int:
        """A number that changes whenever what the trader knows of its account, books or markets
        may have changed: it learns only from frames and REST responses. Equal numbers mean its
        equity mark is unchanged (at the same UTC day), so an environment need not recompute it."""
        rest = self.rest
        requests = rest.requests if isinstance(rest, InProcessRestClient) else 0
        if self.transport is not None:
            requests += self.transport.requests
        return self.frames + requests

    def listing_version(self) -> int | None:
        """A number that changes whenever ``list_markets(status="open")`` could answer differently,
        or None when the venue cannot tell (the simulator opens and closes markets as it runs)."""
        return None

    def settlement_value(self, ticker: str) -> float | None:
        """The market's YES payout in dollars once determined, else None."""
        market = self.engine.markets.get(ticker)
        if market is None or market.settlement_value is None:
            return None
        return int(market.settlement_value) / 10_000

    def lists_unknown_market(self, known: Container[str]) -> bool:
        """Whether the exchange has an open market not in ``known`` (the trader's markets).

        Why: listing every open market over REST at each calibration (signed, paged JSON through
        the simulator's application) was 10-15 % of a backtest's or an episode's wall time, while
        markets are listed only every few simulated hours. The question is answered from the engine
        in process; the new markets themselves are still read over REST, as ``run`` reads them.
        """
        return any(m.is_trading and t not in known for t, m in self.engine.markets.items())

    # ------------------------------------------------------------------ time and frames
    def advance_to(self, target_ms: int) -> None:
        self.market.advance_to(target_ms)
        self.pump()
        if self.on_advanced is not None:
            self.on_advanced(self.market.now_ms())

    def pump(self) -> int:
        """Deliver every queued frame: books first-hand, everything else to ``on_event``."""
        if self._deltas is not None:
            return self._pump_direct(self._deltas)
        outbox = self.session.outbox
        items = outbox._items  # the socket writer's queue, read synchronously
        delivered = 0
        books = self.books
        while items:
            is_data, item = items.popleft()
            if is_data:
                outbox._data -= 1
            if isinstance(item, Close):
                raise RuntimeError(f"the venue closed the trader's stream: {item.reason}")
            delivered += 1
            self._deliver(parse_frame(as_text(item)), books)
        self.frames += delivered
        return delivered

    def _pump_direct(self, deltas: BookDeltas) -> int:
        """``pump`` with typed book deltas: the same messages in the same order (``BookDeltas``);
        what the trader does with one may queue more, delivered in this call too."""
        pending = deltas.pending
        books = self.books
        delivered = 0
        while True:
            deltas.take_frames()
            if not pending:
                break
            item = pending.popleft()
            delivered += 1
            if isinstance(item, OrderbookDelta):
                if books is not None:
                    books.apply_delta(item)
                continue
            if not isinstance(item, tuple):  # our fill, order or position, typed (``inprocess_private``)
                if self.on_event is not None:
                    self.on_event(item)
                continue
            frame = item[1]
            if isinstance(frame, Close):
                raise RuntimeError(f"the venue closed the trader's stream: {frame.reason}")
            if isinstance(frame, DataFrame):  # the payload as the client would decode it, unencoded
                message = parse_value(frame.value(), time.monotonic_ns(), frame.text)
            else:
                message = parse_frame(frame)
            self._deliver(message, books)
        self.frames += delivered
        return delivered

    def _deliver(self, message: WsMessage, books: BookStore | None) -> None:
        if isinstance(message, OrderbookDelta):
            if books is not None:
                books.apply_delta(message)
        elif isinstance(message, OrderbookSnapshot):
            if books is not None:
                books.apply_snapshot(message)
        elif isinstance(message, ChannelMessage) and self.on_event is not None:
            self.on_event(message)

    async def aclose(self) -> None:
        await self.rest.aclose()
