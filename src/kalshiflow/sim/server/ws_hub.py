"""Fan-out of engine events to WebSocket subscriptions, with per-sid sequencing and WS faults.

One engine listener serves every connection. Subscriptions are indexed by ``(channel, ticker)``
for market channels and ``(channel, account_id)`` for private ones, so an event costs
O(matching subscribers), not O(all). Each rendered ``msg`` body is serialised at most once and
shared, and only when a socket writes it (``ws_frames``: the frames and the bounded outbox of one
connection): an in-process reader (``train.inprocess``) takes the payload itself, so a body nobody
sends as text is never encoded.

Invariants:

* Everything here is synchronous and runs on the event loop that calls the engine, so a snapshot
  queued while subscribing is followed, in queue order, by exactly the deltas emitted after it.
* ``seq`` is per sid, starts at 1 and grows by one per sequenced message (snapshot, delta, trade,
  lifecycle, order-group update); a faulted drop still uses its number, a gap skips one.
* Each connection's outbox is bounded in data messages. A subscription whose message does not fit
  is ended with the terminal error 25 (which always fits: replies are not counted), never thinned.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kalshiflow.sim import subaccounts
from kalshiflow.sim import ws_messages as render
from kalshiflow.sim.events import (
    BookDelta,
    EngineEvent,
    EventFeeUpdate,
    FillEvent,
    LifecycleEvent,
    OrderEvent,
    OrderGroupEvent,
    PositionEvent,
    TradeEvent,
)
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.faults import WsSessionFaults
from kalshiflow.sim.server.ws_frames import FORCED_CLOSE_CODE, Body, Close, DataFrame, Outbox

log = logging.getLogger(__name__)

ORDERBOOK = "orderbook_delta"
TICKER = "ticker"
TRADE = "trade"
FILL = "fill"
USER_ORDERS = "user_orders"
POSITIONS = "market_positions"
LIFECYCLE = "market_lifecycle_v2"
ORDER_GROUPS = "order_group_updates"

MARKET_CHANNELS = frozenset({ORDERBOOK, TICKER, TRADE})
PRIVATE_CHANNELS = frozenset({FILL, USER_ORDERS, POSITIONS, ORDER_GROUPS})
CHANNELS = MARKET_CHANNELS | PRIVATE_CHANNELS | {LIFECYCLE}
SEQUENCED = frozenset({ORDERBOOK, TRADE, LIFECYCLE, ORDER_GROUPS})

DEFAULT_MAX_PENDING = 10_000  # data messages queued per connection before a subscription overflows


@dataclass(eq=False)
class Subscription:
    sid: int
    channel: str
    session: Session
    tickers: set[str] | None  # None = every market (or, on private channels, no market filter)
    use_yes_price: bool = False
    skip_ticker_ack: bool = False
    seq: int = 0
    active: bool = True

    @property
    def sequenced(self) -> bool:
        return self.channel in SEQUENCED

    def wants(self, ticker: str) -> bool:
        return self.tickers is None or ticker in self.tickers


class Session:
    """One authenticated connection: its subscriptions, outbox and fault state."""

    def __init__(self, hub: WsHub, account_id: str, faults: WsSessionFaults, max_pending: int) -> None:
        self.hub = hub
        self.account_id = account_id
        self.faults = faults
        self.outbox = Outbox(max_pending)
        self.subs: dict[int, Subscription] = {}
        self.closing = False
        self.disconnect_generation = hub.sim.faults.disconnect_generation
        self._next_sid = 1

    def new_sid(self) -> int:
        sid = self._next_sid
        self._next_sid += 1
        return sid

    def by_channel(self, channel: str) -> Subscription | None:
        return next((s for s in self.subs.values() if s.channel == channel), None)

    def send_control(self, text: str) -> None:
        if not self.closing:
            self.outbox.put_control(text)

    def close(self, reason: str) -> None:
        """Stop all fan-out to this connection and close it after what is already queued."""
        if self.closing:
            return
        self.outbox.put_control(Close(FORCED_CLOSE_CODE, reason))
        self.closing = True
        self.hub.close_session(self)

    def send_data(self, sub: Subscription, msg_type: str, body: Body, command_id: int | None = None) -> None:
        """Queue one data message for ``sub`` after applying this session's WS faults."""
        if self.closing or not sub.active:
            return
        action = self.faults.next_action()
        if action == "disconnect":
            self.close("simulated disconnect")
            return
        seq: int | None = None
        if sub.sequenced:
            sub.seq += 2 if action == "gap" else 1
            seq = sub.seq
        if action == "drop":
            return
        frame = DataFrame(msg_type, sub.sid, seq, body, command_id)
        for _ in range(2 if action == "duplicate" else 1):
            if not self.outbox.put_data(frame):
                self.overflow(sub)
                return

    def overflow(self, sub: Subscription) -> None:
        self.hub.unsubscribe(sub)
        self.outbox.put_control(
            render.error_reply(25, "Subscription buffer overflow", sid=sub.sid, seq=sub.seq or None)
        )


@dataclass
class _TickerState:
    dollar_volume: int = 0  # Money traded, all time
    last_key: tuple[object, ...] | None = None


@dataclass
class _Index:
    by_key: defaultdict[tuple[str, str], set[Subscription]] = field(default_factory=lambda: defaultdict(set))
    all_markets: defaultdict[str, set[Subscription]] = field(default_factory=lambda: defaultdict(set))

    def targets(self, channel: str, key: str) -> list[Subscription]:
        found = self.by_key.get((channel, key))
        every = self.all_markets.get(channel)
        if not found:
            return list(every) if every else []
        return [*found, *every] if every else list(found)

    def discard(self, channel: str, key: str, sub: Subscription) -> None:
        subs = self.by_key.get((channel, key))
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.by_key[(channel, key)]


class WsHub:
    def __init__(self, sim: SimExchange, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.sim = sim
        self.engine = sim.engine
        self.max_pending = max_pending
        self.sessions: set[Session] = set()
        self._index = _Index()
        self._tickers: defaultdict[str, _TickerState] = defaultdict(_TickerState)
        self._announced_events: set[str] = set()
        for past in self.engine.trades:
            self._tickers[past.ticker].dollar_volume += past.yes_price * past.count
        self.engine.add_listener(self.on_event)

    # ----------------------------------------------------------------- sessions and subscriptions
    def open_session(self, account_id: str) -> Session:
        session = Session(self, account_id, self.sim.faults.ws_session(), self.max_pending)
        self.sessions.add(session)
        return session

    def close_session(self, session: Session) -> None:
        for sub in list(session.subs.values()):
            self.unsubscribe(sub)
        self.sessions.discard(session)

    def subscribe(self, sub: Subscription) -> None:
        sub.session.subs[sub.sid] = sub
        if sub.channel in PRIVATE_CHANNELS:
            self._index.by_key[(sub.channel, sub.session.account_id)].add(sub)
        elif sub.tickers is None:
            self._index.all_markets[sub.channel].add(sub)
        else:
            for ticker in sub.tickers:
                self._index.by_key[(sub.channel, ticker)].add(sub)

    def unsubscribe(self, sub: Subscription) -> None:
        sub.active = False
        sub.session.subs.pop(sub.sid, None)
        if sub.channel in PRIVATE_CHANNELS:
            self._index.discard(sub.channel, sub.session.account_id, sub)
        elif sub.tickers is None:
            self._index.all_markets[sub.channel].discard(sub)
        else:
            for ticker in sub.tickers:
                self._index.discard(sub.channel, ticker, sub)

    def add_markets(self, sub: Subscription, tickers: Iterable[str]) -> list[str]:
        """Add markets to a filtered subscription; returns those that were new."""
        if sub.tickers is None:
            return []
        added = [t for t in dict.fromkeys(tickers) if t not in sub.tickers]
        sub.tickers.update(added)
        if sub.channel not in PRIVATE_CHANNELS:
            for ticker in added:
                self._index.by_key[(sub.channel, ticker)].add(sub)
        return added

    def delete_markets(self, sub: Subscription, tickers: Iterable[str]) -> None:
        if sub.tickers is None:
            return
        for ticker in tickers:
            if ticker in sub.tickers:
                sub.tickers.discard(ticker)
                if sub.channel not in PRIVATE_CHANNELS:
                    self._index.discard(sub.channel, ticker, sub)

    # ----------------------------------------------------------------- snapshots on request
    def send_snapshot(self, sub: Subscription, ticker: str, command_id: int | None = None) -> None:
        market = self.engine.markets[ticker]
        body = render.orderbook_snapshot(market, self.engine.books[ticker], sub.use_yes_price)
        sub.session.send_data(sub, "orderbook_snapshot", Body(body), command_id)

    def send_ticker(self, sub: Subscription, ticker: str) -> None:
        body = self._render_ticker(ticker, self.engine.clock.now_ms())
        # Every other ticker subscriber already holds this state (each change is broadcast), so it
        # becomes the baseline for "did anything change".
        self._tickers[ticker].last_key = render.ticker_key(body)
        sub.session.send_data(sub, TICKER, Body(body))

    # ----------------------------------------------------------------- engine events
    def on_event(self, event: EngineEvent) -> None:
        """Engine listener; a rendering bug must never propagate into a half-done engine mutation."""
        try:
            self._dispatch(event)
        except Exception:
            log.exception("ws_hub.dispatch_failed", extra={"event_type": type(event).__name__})

    def _dispatch(self, event: EngineEvent) -> None:
        if isinstance(event, BookDelta):
            self._on_delta(event)
            self._maybe_ticker(event.ticker, event.ts_ms)
        elif isinstance(event, TradeEvent):
            self._tickers[event.ticker].dollar_volume += event.yes_price * event.count
            trade_subs = self._index.targets(TRADE, event.ticker)
            if trade_subs:
                self._broadcast(trade_subs, TRADE, render.trade(event))
            self._maybe_ticker(event.ticker, event.ts_ms)
        elif isinstance(event, FillEvent):
            record = event.fill
            self._private(FILL, record.account_id, record.ticker, lambda: render.fill(record))
        elif isinstance(event, OrderEvent):
            order, reason = event.order, event.reason
            self._private(
                USER_ORDERS,
                order.account_id,
                order.ticker,
                lambda: render.user_order(order, self.engine.accounts[order.account_id].user_id, reason),
            )
        elif isinstance(event, PositionEvent):
            position_event = event
            self._private(
                POSITIONS,
                event.account_id,
                event.ticker,
                lambda: render.market_position(
                    self.engine.accounts[position_event.account_id].user_id,
                    position_event.ticker,
                    position_event.position,
                    subaccounts.number_of(position_event.account_id),
                ),
            )
        elif isinstance(event, OrderGroupEvent):
            group_event = event
            self._private(
                ORDER_GROUPS, event.account_id, None, lambda: render.order_group_update(group_event)
            )
        elif isinstance(event, LifecycleEvent):
            self._on_lifecycle(event)
        elif isinstance(event, EventFeeUpdate):
            subs = list(self._index.all_markets.get(LIFECYCLE, ()))
            self._broadcast(subs, "event_fee_update", render.event_fee_update(event.event))

    def _broadcast(self, subs: list[Subscription], msg_type: str, body: render.Payload) -> None:
        if not subs:
            return
        shared = Body(body)
        for sub in subs:
            sub.session.send_data(sub, msg_type, shared)

    def _private(
        self, channel: str, account_id: str, ticker: str | None, render_body: Callable[[], render.Payload]
    ) -> None:
        """Send to the owner's subscriptions (a sub-account's events go to its user's sessions);
        rendering happens only if someone listens."""
        subs = self._index.by_key.get((channel, subaccounts.primary_of(account_id)))
        if not subs:
            return
        wanted = [s for s in subs if ticker is None or s.wants(ticker)]
        if not wanted:
            return
        body = render_body()
        msg_type = {FILL: "fill", USER_ORDERS: "user_order", POSITIONS: "market_position"}.get(
            channel, channel
        )
        self._broadcast(wanted, msg_type, body)

    def private_subscriptions(self, channel: str, primary: str) -> set[Subscription] | None:
        """The subscriptions ``_private`` sends ``primary``'s events of ``channel`` to (before the
        ticker filter); an in-process reader checks it is the only one (``train.inprocess``)."""
        return self._index.by_key.get((channel, primary))

    def _on_delta(self, delta: BookDelta) -> None:
        subs = self._index.by_key.get((ORDERBOOK, delta.ticker))
        if not subs:
            return
        market_id = self.engine.markets[delta.ticker].market_id
        bodies: dict[bool, Body] = {}
        for sub in list(subs):
            yes_terms = sub.use_yes_price
            shared = bodies.get(yes_terms)
            if shared is None:
                shared = bodies[yes_terms] = Body(render.orderbook_delta(delta, market_id, yes_terms))
            owner = None if delta.account_id is None else subaccounts.primary_of(delta.account_id)
            if owner is not None and owner == sub.session.account_id:
                own = render.own_delta_fields(shared.payload, delta.client_order_id, delta.subaccount)
                sub.session.send_data(sub, "orderbook_delta", Body(own))
            else:
                sub.session.send_data(sub, "orderbook_delta", shared)

    def _render_ticker(self, ticker: str, ts_ms: int) -> render.Payload:
        market = self.engine.markets[ticker]
        state = self._tickers[ticker]
        return render.ticker(market, self.engine.books[ticker], state.dollar_volume, ts_ms)

    def _maybe_ticker(self, ticker: str, ts_ms: int) -> None:
        """Send ``ticker`` when a field changed, as Kalshi does (size-only top-of-book changes too)."""
        subs = self._index.targets(TICKER, ticker)
        state = self._tickers[ticker]
        if not subs:
            state.last_key = None
            return
        body = self._render_ticker(ticker, ts_ms)
        key = render.ticker_key(body)
        if key == state.last_key:
            return
        state.last_key = key
        self._broadcast(subs, TICKER, body)

    def _on_lifecycle(self, event: LifecycleEvent) -> None:
        subs = list(self._index.all_markets.get(LIFECYCLE, ()))
        market = event.market
        if event.event_type == "created" and market.event_ticker not in self._announced_events:
            self._announced_events.add(market.event_ticker)
            sim_event = self.engine.events.get(market.event_ticker)
            if sim_event is not None:
                self._broadcast(subs, "event_lifecycle", render.event_lifecycle(sim_event))
        body = render.market_lifecycle(market, event.event_type, event.ts_ms)
        self._broadcast(subs, LIFECYCLE, body)
