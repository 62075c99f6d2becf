"""``MarketDataFeed``: the live market-data pipeline, from market discovery to trustworthy books.

Why it exists: discovery, the book store, the WebSocket stream and the recorder each keep one
promise; this module wires them so that the promises hold together:

* **Discovery drives the subscription.** The markets to watch come from the REST market list
  through ``discovery.select_markets`` (explicit tickers, series, events, top N by volume, nothing
  that closes within the window). Each market's grid is registered in the ``BookStore`` *before*
  its orderbook subscription is sent, so no snapshot arrives for an unknown market. Every
  ``refresh_s`` (on the injected clock, so a virtual clock drives it in tests) the selection is
  taken again and ``plan_refresh`` decides what to subscribe and unsubscribe; an unsubscribed
  market's book is forgotten.
* **The recording is exactly what the books saw.** When recording, the stream's sink is a wrapper
  that applies each snapshot/delta to the store and hands the same message to
  ``Recorder.record`` (O(1), never blocks), and each invalidation to
  ``Recorder.record_invalidation``; every market registered in the store (at start and on a
  refresh) is handed to ``Recorder.record_market`` with its grid, before its subscription. The
  stream only passes on messages it accepted, so ``replay.replay_into`` rebuilds the same books,
  valid where the live ones were, from the recording alone.
* **A book the store finds broken is refreshed.** ``BookStore.on_integrity_error`` is wired to
  ``KalshiStream.request_snapshots``.
* **Other channels never back up.** ``ticker``/``trade`` messages (when asked for) are drained from
  the stream's bounded queue and handed to an optional callback.
* **Clean shutdown.** ``stop()`` stops the refresh and drain tasks, closes the stream, then closes
  the recorder (which flushes everything and writes the session's totals).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kalshiflow.clock import Clock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.events.bus import EventBus
from kalshiflow.exchange.auth import RequestSigner
from kalshiflow.exchange.errors import ExchangeError
from kalshiflow.exchange.models_market import Market
from kalshiflow.exchange.ws_connect import StreamConfig
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot, StreamEvent
from kalshiflow.exchange.ws_status import ConnectionState
from kalshiflow.exchange.ws_stream import KalshiStream
from kalshiflow.exchange.ws_subscriptions import ORDERBOOK, CommandFailed
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.marketdata.discovery import (
    DiscoveryConfig,
    DiscoveryPlan,
    MarketSelection,
    plan_refresh,
    select_markets,
)
from kalshiflow.marketdata.recorder import Recorder

log = logging.getLogger(__name__)

OPTIONAL_CHANNELS = ("ticker", "trade")
TICKERS_PER_QUERY = 100  # explicit tickers are looked up in chunks, so the query string stays short

# A subscription command can fail when the connection drops under it; the wish is already in the
# stream's registry and is restored on the next connection, so the feed carries on.
_COMMAND_ERRORS = (CommandFailed, TimeoutError, ConnectionError)


class MarketSource(Protocol):
    """The REST call discovery needs (``KalshiRestClient`` fits)."""

    async def list_markets(
        self,
        *,
        status: str | None = None,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        tickers: Sequence[str] | None = None,
    ) -> list[Market]: ...


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """How the feed runs.

    * ``discovery`` (``DiscoveryConfig()``: top 20 by volume, skip markets closing within 300 s).
    * ``channels`` (``("orderbook_delta",)``): WS channels per selected market; ``ticker`` and
      ``trade`` may be added (their messages go to the feed's ``on_event`` callback).
    * ``refresh_s`` (60 s, clock seconds): period of the discovery refresh; 0 disables it.
    * ``exchange`` ("sim"): the exchange name stored with a recording session.
    """

    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    channels: tuple[str, ...] = (ORDERBOOK,)
    refresh_s: float = 60.0
    exchange: str = "sim"

    def __post_init__(self) -> None:
        if ORDERBOOK not in self.channels:
            raise ValueError(f"channels must include {ORDERBOOK}")
        unknown = set(self.channels) - {ORDERBOOK, *OPTIONAL_CHANNELS}
        if unknown:
            raise ValueError(f"unsupported channels {sorted(unknown)}; allowed: {ORDERBOOK}, ticker, trade")
        if self.refresh_s < 0:
            raise ValueError("refresh_s must be >= 0")


@dataclass(frozen=True, slots=True)
class FeedProgress:
    """One look at the pipeline; ``messages_per_s`` is the rate since the previous ``progress()``.

    ``messages``: WS messages received. ``gaps``: sequence gaps and stale messages seen.
    ``resyncs``: snapshot requests and resubscriptions. ``rows_written``/``recorded``/``dropped``:
    the recorder's committed rows, messages handed to it, and messages lost (overflow or refused
    writes; each loss is a gap row in the session). ``refresh_failures``: discovery refreshes that
    failed and will be retried at the next period.
    """

    elapsed_s: float
    connection: ConnectionState
    messages: int
    messages_per_s: float
    markets: int
    valid_books: int
    gaps: int
    resyncs: int
    reconnects: int
    recorded: int
    rows_written: int
    dropped: int
    refreshes: int
    refresh_failures: int
    channel_messages: int


class RecordingSink:
    """The stream's ``BookSink`` while recording: apply to the store, then record the same message.

    Every message the stream hands over is recorded, a delta the store refuses included: replayed,
    it makes the replayed book invalid at the same point as the live one. Invalidations (sequence
    gaps, reconnects, unsubscribes) are recorded too, so replayed validity follows the live store.
    """

    def __init__(self, store: BookStore, recorder: Recorder) -> None:
        self._store = store
        self._record = recorder.record
        self._record_invalidation = recorder.record_invalidation

    def on_snapshot(self, snapshot: OrderbookSnapshot) -> None:
        self._store.on_snapshot(snapshot)
        self._record(snapshot)

    def on_delta(self, delta: OrderbookDelta) -> bool:
        applied = self._store.on_delta(delta)
        self._record(delta)
        return applied

    def on_invalid(self, tickers: Sequence[str], reason: str) -> None:
        self._store.on_invalid(tickers, reason)
        self._record_invalidation(tickers, reason)


class MarketDataFeed:
    """Discovery + BookStore + KalshiStream (+ Recorder): ``async with feed: ...``.

    ``markets`` answers the market list (the REST client; the feed does not close it). ``recorder``
    (optional) must not have a session yet: ``start`` opens one for the initial selection and
    ``stop`` closes it. ``on_event`` receives every non-orderbook stream event (ticker, trade,
    notices) on the event loop.
    """

    def __init__(
        self,
        markets: MarketSource,
        stream_config: StreamConfig,
        signer: RequestSigner,
        config: FeedConfig,
        *,
        clock: Clock,
        recorder: Recorder | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.config = config
        self.recorder = recorder
        self.books = BookStore(clock, on_integrity_error=self._on_integrity_error, bus=bus)
        sink = self.books if recorder is None else RecordingSink(self.books, recorder)
        self.stream = KalshiStream(stream_config, signer, sink, clock)
        self._markets = markets
        self._clock = clock
        self._on_event = on_event
        self._subscribed: set[str] = set()
        self.grids: dict[str, PriceGrid] = {}  # every market ever registered (also in the recording)
        self.selection: MarketSelection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started_at = 0.0
        self._rate_at = 0.0
        self._rate_messages = 0
        self._refreshes = 0
        self._refresh_failures = 0
        self._channel_messages = 0
        self._stopped = False
        # Markets that must stay subscribed whatever discovery says (the trader's open positions and
        # orders: their exits need books even inside the closing window).
        self.pinned: Callable[[], Iterable[str]] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self, selection: MarketSelection | None = None) -> MarketSelection:
        """Discover (unless ``selection`` was discovered already), register, open the recording
        session, connect and subscribe.

        Raises the REST client's ``ExchangeError`` when the market list cannot be read (wrong URL,
        wrong key): nothing has been connected or recorded then.
        """
        if selection is None:
            selection = await self.discover()
        self.selection = selection
        tickers = list(selection.tickers)
        if self.recorder is not None:
            await asyncio.to_thread(
                self.recorder.start_session, self.config.exchange, self.stream.config.url, tickers
            )
        self._register(selection, tickers)  # after start_session: the registrations are recorded
        self._started_at = self._rate_at = time.monotonic()
        self.stream.start()
        if tickers:
            await self.stream.subscribe(self.config.channels, tickers)
        self._subscribed = set(tickers)
        self._tasks.append(asyncio.create_task(self._drain_events(), name="feed-events"))
        if self.config.refresh_s > 0:
            self._tasks.append(asyncio.create_task(self._refresh_loop(), name="feed-refresh"))
        log.info("feed.started markets=%d", len(tickers))
        return selection

    async def stop(self) -> None:
        """Stop tasks and the stream, then flush and close the recording (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._started_at:
            await self.stream.close()
        if self.recorder is not None:
            await self.recorder.aclose()

    async def __aenter__(self) -> MarketDataFeed:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def tickers(self) -> tuple[str, ...]:
        """The markets subscribed now, sorted."""
        return tuple(sorted(self._subscribed))

    async def wait_books_valid(self, timeout_s: float = 10.0) -> None:
        """Wait until every subscribed market's book is valid (``TimeoutError`` after the deadline)."""
        await self.stream.wait_for(lambda: all(self.books.is_valid(t) for t in self._subscribed), timeout_s)

    # ------------------------------------------------------------------ discovery
    async def discover(self) -> MarketSelection:
        """The selection the configuration asks for, from the market list as it is now."""
        pinned = tuple(self.pinned()) if self.pinned is not None else ()
        return select_markets(
            await self._fetch_markets(), self.config.discovery, self._clock.now_ms(), pinned
        )

    async def _fetch_markets(self) -> list[Market]:
        """The pool: open markets of the named series/events, the named tickers, or every open one."""
        d = self.config.discovery
        if not (d.tickers or d.series_tickers or d.event_tickers):
            return await self._markets.list_markets(status="open")
        found: list[Market] = []
        for start in range(0, len(d.tickers), TICKERS_PER_QUERY):
            # No status filter: a named market that is not open is reported as skipped, not missing.
            found += await self._markets.list_markets(tickers=d.tickers[start : start + TICKERS_PER_QUERY])
        for series in d.series_tickers:
            found += await self._markets.list_markets(status="open", series_ticker=series)
        for event in d.event_tickers:
            found += await self._markets.list_markets(status="open", event_ticker=event)
        return found

    def _register(self, selection: MarketSelection, tickers: Sequence[str]) -> None:
        grids = selection.grids()
        for ticker in tickers:
            self.books.register(ticker, grids[ticker])
            self.grids[ticker] = grids[ticker]
            if self.recorder is not None:
                self.recorder.record_market(ticker, grids[ticker])

    async def refresh(self) -> DiscoveryPlan:
        """Select again; subscribe new markets, unsubscribe closed/closing ones; returns the plan."""
        selection = await self.discover()
        plan = plan_refresh(self._subscribed, selection)
        self.selection = selection
        self._refreshes += 1
        if plan.is_empty:
            return plan
        log.info("feed.refresh subscribe=%s unsubscribe=%s", plan.to_subscribe, plan.to_unsubscribe)
        if plan.to_unsubscribe:
            self._subscribed.difference_update(plan.to_unsubscribe)
            for channel in self.config.channels:
                with contextlib.suppress(*_COMMAND_ERRORS):
                    await self.stream.delete_markets(channel, plan.to_unsubscribe)
            for ticker in plan.to_unsubscribe:
                self.books.unregister(ticker)
        if plan.to_subscribe:
            self._register(
                selection, plan.to_subscribe
            )  # registered before the subscription can bring snapshots
            self._subscribed.update(plan.to_subscribe)
            for channel in self.config.channels:
                with contextlib.suppress(*_COMMAND_ERRORS):
                    await self.stream.add_markets(channel, plan.to_subscribe)
        return plan

    async def _refresh_loop(self) -> None:
        while True:
            await self._clock.sleep(self.config.refresh_s)
            try:
                await self.refresh()
            except (ExchangeError, *_COMMAND_ERRORS) as exc:  # the next period tries again
                self._refresh_failures += 1
                log.warning("feed.refresh_failed %s", exc)

    # ------------------------------------------------------------------ stream plumbing
    def _on_integrity_error(self, ticker: str, reason: str) -> None:
        self.stream.request_snapshots([ticker], f"book integrity: {reason}")

    async def _drain_events(self) -> None:
        events = self.stream.events
        while True:
            event = await events.get()
            self._channel_messages += 1
            if self._on_event is not None:
                self._on_event(event)

    # ------------------------------------------------------------------ progress
    def progress(self) -> FeedProgress:
        """Counters now; the message rate covers the time since the previous call."""
        now = time.monotonic()
        metrics = self.stream.metrics
        interval = now - self._rate_at
        rate = (metrics.messages_received - self._rate_messages) / interval if interval > 0 else 0.0
        self._rate_at, self._rate_messages = now, metrics.messages_received
        books = self.books.metrics()
        recorded = rows = dropped = 0
        if self.recorder is not None:
            rec = self.recorder.metrics()
            recorded, rows = rec.messages_seen, rec.rows_written
            dropped = rec.messages_dropped + rec.messages_write_failed
        return FeedProgress(
            elapsed_s=now - self._started_at if self._started_at else 0.0,
            connection=self.stream.state,
            messages=metrics.messages_received,
            messages_per_s=rate,
            markets=len(self._subscribed),
            valid_books=books.valid_markets,
            gaps=metrics.gaps + metrics.stale_messages,
            resyncs=metrics.resyncs,
            reconnects=metrics.reconnects,
            recorded=recorded,
            rows_written=rows,
            dropped=dropped,
            refreshes=self._refreshes,
            refresh_failures=self._refresh_failures,
            channel_messages=self._channel_messages,
        )
