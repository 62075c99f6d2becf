"""How many contracts wait ahead of each resting order of ours, kept current for the view and the
dashboard.

The exchange answers it (``GET /portfolio/orders/queue_positions``: every resting order of the
markets asked about, one request); the trader cannot compute it, since the book shows sizes per
price, not who is first. A read costs rate-limit tokens, so the tracker reads only when the answer
can have changed and never on the decision path (its own task, ``run``):

* a short timer (``[queue_positions] check_s``) looks, only while orders rest, whether a read is due -- a look reads
  nothing from the exchange, only the ledger and the local books;
* a read is due when a resting order has no known position yet, when the aggregate size at a
  resting order's price level fell since the last read (fills or cancels there: the only way
  contracts ahead go away; a level that grew grew behind us), when one of our orders was partly
  filled, or when the last read is ``max_age_s`` old (what the book cannot show, e.g. an amend);
* everything due since the last look is coalesced into one batch read, and reads are at least
  ``check_s`` apart, so a busy book costs at most one read per ``check_s``.

Each answer that differs from the last is published as ``QueuePositionChanged``; positions of
orders that stopped resting are forgotten. A failed read changes nothing (logged; the next look
retries).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from kalshiflow.clock import Clock
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count
from kalshiflow.events.bus import EventBus
from kalshiflow.events.trader import QueuePositionChanged
from kalshiflow.exchange.errors import ExchangeError, poll_log_level
from kalshiflow.exchange.models_account import QueuePosition
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.trader.config import QueuePositionsConfig
from kalshiflow.trader.state.ledger import Ledger
from kalshiflow.trader.state.orders import OrderState, TrackedOrder

log = logging.getLogger(__name__)

RESTING: Final = frozenset({OrderState.RESTING, OrderState.PARTIALLY_FILLED})
TICKERS_PER_READ: Final = 50  # markets per request: keeps the query string short


class QueueSource(Protocol):
    """The one read the tracker needs (``KalshiRestClient`` has it)."""

    async def queue_positions(
        self,
        *,
        market_tickers: Sequence[str] | None = None,
        event_ticker: str | None = None,
        subaccount: int | None = None,
    ) -> list[QueuePosition]: ...


@dataclass(frozen=True, slots=True)
class Seen:
    """A resting order as the tracker looks at it: the book's size at its price level (None
    without a usable book) and its own remainder."""

    level: Count | None
    remaining: Count


def level_size(order: TrackedOrder, books: BookStore) -> Count | None:
    """The book's aggregate size at the price where ``order`` rests (None: no usable book).

    A YES bid rests on the YES ladder at its YES price; a YES ask is a NO bid at the complement.
    """
    book = books.book(order.ticker)
    if book is None or not book.valid:
        return None
    if order.side is BookSide.BID:
        return book.size_at(OutcomeSide.YES, int(order.yes_price))
    return book.size_at(OutcomeSide.NO, int(order.yes_price.complement()))


def read_due(
    resting: Mapping[str, Seen],
    seen: Mapping[str, Seen],
    last_read_ms: int | None,
    now_ms: int,
    config: QueuePositionsConfig,
) -> bool:
    """Whether a read can change what is known (pure: ``resting`` is how each resting order looks
    now, ``seen`` how it looked at the last read that listed it)."""
    if not resting:
        return False
    if last_read_ms is not None and now_ms - last_read_ms < config.check_s * 1000:
        return False
    if last_read_ms is None or now_ms - last_read_ms >= config.max_age_s * 1000:
        return True
    for client_order_id, current in resting.items():
        before = seen.get(client_order_id)
        if before is None:
            return True  # a new resting order, or one the last read did not list
        if current.remaining < before.remaining:
            return True  # partly filled: everything ahead at its price went
        if current.level is not None and before.level is not None and current.level < before.level:
            return True  # fills or cancels at its price level
    return False


class QueueTracker:
    """``positions[client_order_id]`` -> the last answer for that resting order (what was
    published); ``ahead_of(client_order_id)`` -> its contracts ahead, None until first read."""

    def __init__(
        self,
        rest: QueueSource,
        ledger: Ledger,
        books: BookStore,
        bus: EventBus,
        clock: Clock,
        config: QueuePositionsConfig | None = None,
    ) -> None:
        self.rest = rest
        self.ledger = ledger
        self.books = books
        self.bus = bus
        self.clock = clock
        self.config = config or QueuePositionsConfig()
        self.positions: dict[str, QueuePositionChanged] = {}
        self.reads = 0
        self.failures = 0
        self._seen: dict[str, Seen] = {}
        self._last_read_ms: int | None = None

    @property
    def ahead(self) -> dict[str, Count]:
        return {cid: p.ahead for cid, p in self.positions.items()}

    def ahead_of(self, client_order_id: str) -> Count | None:
        known = self.positions.get(client_order_id)
        return None if known is None else known.ahead

    def resting(self) -> list[TrackedOrder]:
        """Our orders the exchange has acknowledged as resting."""
        return [o for o in self.ledger.live_orders() if o.state in RESTING and o.order_id is not None]

    def _current(self, orders: list[TrackedOrder]) -> dict[str, Seen]:
        return {o.client_order_id: Seen(level_size(o, self.books), o.remaining) for o in orders}

    def due(self) -> bool:
        resting = self.resting()
        self._forget(resting)
        current = self._current(resting)
        return read_due(current, self._seen, self._last_read_ms, self.clock.now_ms(), self.config)

    async def refresh(self) -> int:
        """Read the queue positions of every resting order now; returns how many changed."""
        resting = self.resting()
        self._forget(resting)
        if not resting:
            return 0
        by_exchange_id = {o.order_id: o for o in resting if o.order_id is not None}
        current = self._current(resting)  # before the read: a change during it triggers the next
        now = self.clock.now_ms()
        tickers = sorted({o.ticker for o in resting})
        answers: list[QueuePosition] = []
        try:
            for start in range(0, len(tickers), TICKERS_PER_READ):
                chunk = tickers[start : start + TICKERS_PER_READ]
                answers += await self.rest.queue_positions(market_tickers=chunk)
        except (ExchangeError, ValueError, OSError, TimeoutError) as exc:
            self.failures += 1
            self._last_read_ms = now  # a failing exchange is not asked again before ``check_s``
            log.log(poll_log_level(exc), "queue.read_failed: %s", exc)
            return 0
        self.reads += 1
        self._last_read_ms = now
        listed = {a.order_id: a for a in answers if a.order_id in by_exchange_id}
        changed = 0
        for order_id, order in by_exchange_id.items():
            cid = order.client_order_id
            answer = listed.get(order_id)
            if answer is None:  # not resting on the exchange (yet, or any more): asked again next look
                self._seen.pop(cid, None)
                continue
            self._seen[cid] = current[cid]
            if self.ahead_of(cid) != answer.ahead:
                event = QueuePositionChanged(now, cid, order_id, order.ticker, answer.ahead)
                self.positions[cid] = event
                changed += 1
                self.bus.publish(event)
        return changed

    def _forget(self, resting: list[TrackedOrder]) -> None:
        """Drop what is known of orders that no longer rest."""
        live = {o.client_order_id for o in resting}
        for cid in [c for c in self.positions if c not in live]:
            del self.positions[cid]
        for cid in [c for c in self._seen if c not in live]:
            del self._seen[cid]

    async def run(self) -> None:
        """Look every ``check_s`` (wall time) and read when due; never ends on a failed pass."""
        while True:
            await asyncio.sleep(self.config.check_s)
            try:
                if self.due():
                    await self.refresh()
            except Exception:  # the next look retries; the view shows the last answer meanwhile
                log.exception("queue.pass_failed")
