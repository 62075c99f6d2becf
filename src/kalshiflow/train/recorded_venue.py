"""A recorded session as an exchange in process: the simulator's server over a replayed book.

Why this exists: a backtest or a training episode over a recording must run the trader exactly as
over the simulator (``SimVenue``: the real REST client over ASGI into the simulator's application,
the simulator's stream frames parsed by the client's code) -- only the market's participants are the
recording instead of simulated traders. ``RecordedVenue`` is a ``SimVenue`` whose engine is driven
by a ``Tape`` (``sim/recorded``): every recorded snapshot and delta becomes resting orders, cancels
and trades of the tape accounts, so the engine's matching carries out the documented fill model
(``sim/recorded/fill_model.py``), with the exchange's own fees, positions and private stream.
The trader reaches it through either plumbing of ``SimVenue`` (``train.inprocess``): the training
environment's in-process one by default, the full wire for the backtest.

Time. Snapshots carry no exchange time; every recorded message carries its local receive time
(``received_ns``), so the replay clock is ``session start + (received_ns - first received_ns)``,
never going backwards. Markets, invalidations and gaps take the time of the message before them.
The venue applies the recording up to ``advance_to``'s target, each message at its own time.

Validity. An invalidation or a gap in the recording invalidates the trader's books of the markets
it names (a gap: every market of the session) at that point and freezes their tape; trading there
pauses until the next recorded snapshot, which resynchronises the tape and sends the trader a fresh
snapshot.

Reading. By default the recording is read as a stream (``ReplayReader``), so sessions of any length
fit. A caller that replays one session many times (the training environment: an episode per reset)
decodes it once (``decode_recording``: the typed messages with their replay times, in memory up to
``MAX_DECODED_MESSAGES``) and hands the same ``DecodedRecording`` to every venue: reading and
decoding the rows was a tenth of an episode's time, every episode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, select

from kalshiflow.clock import ManualClock
from kalshiflow.domain.ratelimits import Tier
from kalshiflow.domain.units import Money
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot, StreamEvent
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.marketdata.replay import (
    RecordedInvalidation,
    RecordedMarket,
    RecordingGap,
    ReplayItem,
    ReplayReader,
    SessionInfo,
)
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.market_clock import MarketClock
from kalshiflow.sim.ratelimit import AccountRateLimiters
from kalshiflow.sim.recorded.tape import Tape
from kalshiflow.store import db
from kalshiflow.store.models import BookDeltaRow, BookSnapshotRow
from kalshiflow.train.inprocess import Plumbing
from kalshiflow.train.venue import (
    SimVenue,
    VenueClock,
)

OPENING_MS: Final = 1_000  # the recording's first second (subscription snapshots) is applied up front
CLOSE_AFTER_END_MS: Final = 86_400_000  # markets stay open a day past the recording's end
MAX_DECODED_MESSAGES: Final = 2_000_000  # ~0.5 GB of typed messages; a longer session is streamed

TimedItem = tuple[int, ReplayItem]  # (replay time in epoch ms, the recorded item)


@dataclass(frozen=True, slots=True)
class RecordingSpan:
    """A session's time line: its start (epoch ms) and the receive times of its first and last message."""

    session: SessionInfo
    first_ns: int
    last_ns: int
    messages: int = 0  # recorded snapshots and deltas

    @property
    def start_ms(self) -> int:
        return self.session.started_at_ms

    @property
    def duration_ms(self) -> int:
        return max(0, (self.last_ns - self.first_ns) // 1_000_000)

    def time_ms(self, received_ns: int) -> int:
        return self.start_ms + (received_ns - self.first_ns) // 1_000_000


def recording_span(database: DbEngine, session_id: int) -> RecordingSpan | None:
    """The span of a session, or None when it holds no message."""
    with ReplayReader(database, session_id) as reader:
        info = reader.session()
    firsts, lasts, messages = [], [], 0
    with database.connect() as connection:
        for model in (BookSnapshotRow, BookDeltaRow):
            table = model.__table__
            row = connection.execute(
                select(func.min(table.c.received_ns), func.max(table.c.received_ns), func.count()).where(
                    table.c.session_id == session_id
                )
            ).one()
            if row[0] is not None:
                firsts.append(int(row[0]))
                lasts.append(int(row[1]))
                messages += int(row[2])
    if not firsts:
        return None
    return RecordingSpan(info, min(firsts), max(lasts), messages)


def timed(items: Iterable[ReplayItem], span: RecordingSpan) -> Iterator[TimedItem]:
    """Each recorded item with its replay time: a message's own (``span.time_ms``, never going
    backwards); a market, invalidation or gap takes the time of the message before it."""
    start_ms, first_ns = span.start_ms, span.first_ns
    last_ms = start_ms
    for item in items:
        if type(item) is OrderbookDelta or type(item) is OrderbookSnapshot:
            # ``span.time_ms`` inlined: this runs once per recorded message.
            at_ms = start_ms + (item.received_ns - first_ns) // 1_000_000
            if at_ms > last_ms:
                last_ms = at_ms
        yield last_ms, item


@dataclass(frozen=True, slots=True)
class DecodedRecording:
    """A session read, decoded and timed once, for any number of venues to replay (the items are
    frozen values: the tape only reads them)."""

    span: RecordingSpan
    items: tuple[TimedItem, ...]


def decode_recording(
    database: DbEngine, span: RecordingSpan, max_messages: int = MAX_DECODED_MESSAGES
) -> DecodedRecording | None:
    """The whole session in memory, or None when it holds more than ``max_messages`` messages (a
    venue then streams it)."""
    if span.messages > max_messages:
        return None
    with ReplayReader(database, span.session.id) as reader:
        return DecodedRecording(span, tuple(timed(reader, span)))


class _ReplayClock(VenueClock):
    """The trader's clock: the replay's time; sleeping lets the recording run meanwhile."""

    def __init__(self, venue: RecordedVenue) -> None:
        super().__init__(venue)
        self._recorded = venue

    def now_ms(self) -> int:
        return self._recorded.source.now_ms()


class RecordedVenue(SimVenue):
    """One recorded session as an exchange, with the trader's account, REST client and stream.

    It is a ``SimVenue`` for everything the trader touches (``rest``, ``clock``, ``connect``,
    ``watch``, ``advance_to``, ``pump``); only the market behind the engine differs, so it builds
    its own engine instead of a ``HeadlessMarket`` (``SimVenue.__init__`` is not called).
    """

    def __init__(
        self,
        database: DbEngine,
        span: RecordingSpan,
        balance: Money,
        plumbing: Plumbing = Plumbing.WIRE,
        decoded: DecodedRecording | None = None,
    ) -> None:
        """``decoded``: the session already in memory (``decode_recording``), else it is streamed."""
        self.span = span
        self.source = ManualClock(span.start_ms)
        market_clock = MarketClock(self.source)
        self.engine = Engine(market_clock, 0)
        self.tape = Tape(self.engine, lazy=True)
        self.clock = _ReplayClock(self)
        self.sim = SimExchange(
            engine=self.engine,
            clock=market_clock,
            limiters=AccountRateLimiters(market_clock, Tier.PRESTIGE),
        )
        self._plumb(balance, plumbing)
        self.invalidations = 0  # the trader's books invalidated first-hand (no frame says so)
        self.end_ms = span.start_ms + span.duration_ms
        self._close_ms = self.end_ms + CLOSE_AFTER_END_MS
        self._reader: ReplayReader | None = None
        self._items: Iterator[TimedItem]
        if decoded is None:
            self._reader = ReplayReader(database, span.session.id)
            self._items = timed(self._reader, span)
        else:
            if decoded.span.session.id != span.session.id:
                raise ValueError("the decoded recording is of another session")
            self._items = iter(decoded.items)
        self._next: TimedItem | None = None
        self._session_tickers: dict[str, None] = {}
        self._invalid: set[str] = set()  # trader books invalidated here, waiting for a snapshot
        self._pull()
        self._replay_to(span.start_ms + OPENING_MS)

    # ------------------------------------------------------------------ SimVenue's hooks
    def true_probability(self, ticker: str) -> float | None:
        return None  # a recording knows no true probability

    def settlement_value(self, ticker: str) -> float | None:
        return None  # recordings carry no market results

    def state_version(self) -> int:
        return super().state_version() + self.invalidations

    def listing_version(self) -> int | None:
        """The number of markets listed: a recording only ever adds markets, all active until a
        day past its end (``CLOSE_AFTER_END_MS``), so the open list changes only when one is added."""
        return len(self.engine.markets)

    def connect(
        self, books: BookStore, tickers: Iterable[str], on_event: Callable[[StreamEvent], None]
    ) -> None:
        tickers = list(tickers)
        super().connect(books, tickers, on_event)
        self._hold_frozen(tickers)

    def watch(self, tickers: Iterable[str]) -> None:
        tickers = list(tickers)
        super().watch(tickers)
        self._hold_frozen(tickers)

    def advance_to(self, target_ms: int) -> None:
        self._replay_to(target_ms)
        self.pump()
        if self.on_advanced is not None:
            self.on_advanced(self.source.now_ms())

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.close()
        await super().aclose()

    # ------------------------------------------------------------------ replay
    def _pull(self) -> None:
        self._next = next(self._items, None)

    def _replay_to(self, target_ms: int) -> None:
        source, items, apply, delta = self.source, self._items, self._apply, self.tape.delta
        pending = self._next
        while pending is not None and pending[0] <= target_ms:
            at_ms, item = pending
            if at_ms > source.now_ms():
                source.set_ms(at_ms)
            # Deltas are nearly every recorded message: handed to the tape here, without ``_apply``.
            if type(item) is OrderbookDelta:
                delta(item.ticker, item.side, int(item.price), int(item.delta))
            else:
                apply(item)
            pending = self._next = next(items, None)
        if target_ms > source.now_ms():
            source.set_ms(target_ms)

    def _apply(self, item: ReplayItem) -> None:
        tape = self.tape
        if isinstance(item, OrderbookDelta):
            tape.delta(item.ticker, item.side, int(item.price), int(item.delta))
        elif isinstance(item, OrderbookSnapshot):
            self._session_tickers[item.ticker] = None
            tape.snapshot(
                item.ticker,
                [(int(p), int(c)) for p, c in item.yes],
                [(int(p), int(c)) for p, c in item.no],
            )
            self._resume(item.ticker)
        elif isinstance(item, RecordedMarket):
            self._session_tickers[item.ticker] = None
            tape.list_market(item.ticker, item.grid, self._close_ms)
            self._invalidate([item.ticker], "recording: market re-registered")
        elif isinstance(item, RecordedInvalidation):
            tape.freeze(item.tickers)
            self._invalidate(item.tickers, f"recording: {item.reason}")
        elif isinstance(item, RecordingGap):
            tape.freeze(self._session_tickers)
            self._invalidate(self._session_tickers, f"recording gap: {item.dropped_count} messages lost")

    def _subscribed(self, ticker: str) -> bool:
        sub = self._book_sub
        return sub is not None and sub.tickers is not None and ticker in sub.tickers

    def _invalidate(self, tickers: Iterable[str], reason: str) -> None:
        """The trader's books of ``tickers`` stop being trusted here (frames before this go first)."""
        held = [t for t in tickers if self._subscribed(t)]
        if not held or self.books is None:
            return
        self.pump()
        self.books.invalidate(held, reason)
        self.invalidations += 1
        self._invalid.update(held)

    def _resume(self, ticker: str) -> None:
        """The tape follows ``ticker`` again: send the trader a fresh snapshot of it."""
        if ticker in self._invalid and self._book_sub is not None:
            self._invalid.discard(ticker)
            self.hub.send_snapshot(self._book_sub, ticker)

    def _hold_frozen(self, tickers: list[str]) -> None:
        frozen = [t for t in tickers if t in self.tape.frozen]
        if frozen and self.books is not None:
            self.books.invalidate(frozen, "recording: no snapshot yet")
            self.invalidations += 1
            self._invalid.update(frozen)


def open_recording(url: str) -> DbEngine:
    """The recording database at ``url`` (the caller disposes of it)."""
    return db.open_engine(url)
