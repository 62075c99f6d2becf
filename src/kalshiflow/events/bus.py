"""One in-process publish/subscribe bus for everything the trader produces (ARCHITECTURE §1).

Why a bus and not listener lists: the trader must never wait for whoever watches it. Publishing
appends the event to the bounded queue of each subscription that asked for its type and returns; it
never awaits, never calls a subscriber's code, never raises because of a subscriber. A subscriber
that falls behind loses the newest events beyond its queue bound, and the next thing it reads is a
:class:`Missed` marker saying how many it lost, so it can ask its source for a fresh snapshot instead
of showing a silently wrong picture. Nothing else slows down.

Consumers read in one of two ways:

* ``async for item in subscription`` (or ``await subscription.get()``) in their own task -- the
  view, the dashboard, metrics, logs;
* ``subscription.drain()`` from synchronous code at a moment of their choosing -- the store drains
  on a wake-up it gets scheduled on the event loop (``on_ready``), and again on ``flush``.

Events are frozen values (never live records), so a subscriber that reads them later sees exactly
what was true when they were published.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE: Final = 10_000


@dataclass(frozen=True, slots=True)
class Missed:
    """Read in place of the events a subscription lost because its queue was full."""

    count: int


class Subscription:
    """A bounded queue of events of the types it subscribed to, for one consumer.

    ``on_ready`` (optional) is scheduled on the event loop when the queue goes from empty to
    non-empty, so a synchronous consumer learns there is work without a task of its own and without
    running inside the publisher's call (the bus runs every ready subscription's ``on_ready`` from
    one ``call_soon``, in the order they became ready).
    """

    def __init__(
        self,
        bus: EventBus,
        name: str,
        types: tuple[type, ...],
        max_queue: int,
        on_ready: Callable[[], None] | None,
    ) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {max_queue}")
        self.name = name
        self.types = types
        self.max_queue = max_queue
        self.missed_total = 0
        self._taken = 0  # events read so far (``delivered`` counts them with those still queued)
        self.bus = bus
        self._queue: deque[object] = deque()
        self._missed = 0  # lost since the consumer last read a Missed marker
        self._waiter: asyncio.Future[None] | None = None
        self._on_ready = on_ready
        self._wake_scheduled = False
        # Events queued while no loop ran (setup code): ``on_ready`` could not be scheduled, so the
        # next offer retries it (the empty -> non-empty edge alone would never come again).
        self._wake_missed = False
        # The queue length below which ``EventBus.publish`` appends in place: ``max_queue``, or 0
        # while a wake-up waits to be retried (every event then goes through ``offer``). One test
        # per subscriber and event instead of two.
        self._limit = max_queue
        self.closed = False

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def delivered(self) -> int:
        """Events queued for this consumer so far (read or not), the missed ones excepted.

        Derived rather than counted: publishing then does one thing less per subscriber and event.
        """
        return self._taken + len(self._queue)

    def offer(self, event: object) -> None:
        """Queue ``event`` or count it as missed; O(1), never blocks, never raises."""
        queue = self._queue
        if len(queue) >= self.max_queue:
            self._missed += 1
            self.missed_total += 1
            return
        queue.append(event)
        if len(queue) == 1 or self._wake_missed:  # only the empty -> non-empty edge wakes anybody
            self._wake()

    def drain(self) -> list[object]:
        """Everything queued, oldest first, with a :class:`Missed` marker first when events were lost."""
        items: list[object] = []
        if self._missed:
            items.append(Missed(self._missed))
            self._missed = 0
        items.extend(self._queue)
        self._taken += len(self._queue)
        self._queue.clear()
        self._wake_scheduled = self._wake_missed = False
        self._limit = self.max_queue
        return items

    async def get(self) -> object:
        """The next item (an event or a :class:`Missed` marker), waiting for one if need be."""
        while True:
            if self._missed:
                missed, self._missed = self._missed, 0
                return Missed(missed)
            if self._queue:
                self._taken += 1
                return self._queue.popleft()
            if self.closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def __aiter__(self) -> AsyncIterator[object]:
        return self

    async def __anext__(self) -> object:
        return await self.get()

    def close(self) -> None:
        """Stop receiving; a consumer waiting in ``get`` ends its ``async for`` once the queue is empty."""
        if not self.closed:
            self.closed = True
            self.bus._remove(self)
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._on_ready is not None and not self._wake_scheduled:
            self._wake_scheduled = self.bus._schedule_ready(self)
            self._wake_missed = not self._wake_scheduled
            self._limit = 0 if self._wake_missed else self.max_queue

    def _ready(self) -> None:
        self._wake_scheduled = False
        if self._on_ready is not None and not self.closed:
            try:
                self._on_ready()
            except Exception:  # a consumer's failure is its own; the bus carries on
                log.exception("bus.consumer_failed", extra={"subscription": self.name})


class EventBus:
    """Routes each published event to the subscriptions of its exact type."""

    def __init__(self) -> None:
        self._routes: dict[type, tuple[Subscription, ...]] = {}
        self._subscriptions: list[Subscription] = []
        self.published = 0
        self._ready: list[Subscription] = []  # woken subscriptions whose ``on_ready`` is due
        self._ready_loop: asyncio.AbstractEventLoop | None = None  # where the pending flush runs
        # Subscriptions the publish under way turned non-empty; one list for the bus's lifetime, so a
        # publish allocates nothing but its event (publish never runs consumer code, never re-enters).
        self._woken: list[Subscription] = []
        self._route_watchers: list[Callable[[], None]] = []

    def subscribe(
        self,
        name: str,
        types: Iterable[type],
        max_queue: int = DEFAULT_MAX_QUEUE,
        on_ready: Callable[[], None] | None = None,
    ) -> Subscription:
        """A new subscription to events of ``types`` (exact classes, not their subclasses)."""
        subscription = Subscription(self, name, tuple(types), max_queue, on_ready)
        self._subscriptions.append(subscription)
        self._rebuild()
        return subscription

    def publish(self, event: object) -> None:
        """Hand ``event`` to every subscription of its type. Never blocks, never raises."""
        self.published += 1
        woken = self._woken
        for subscription in self._routes.get(type(event), ()):
            # ``Subscription.offer``'s common case inlined (room in the queue, no wake-up to retry):
            # an event of the decision path reaches five to seven subscribers, and a method call
            # per subscriber was a third of publishing it.
            queue = subscription._queue
            if len(queue) < subscription._limit:
                queue.append(event)
                if len(queue) == 1:
                    woken.append(subscription)
            else:
                subscription.offer(event)
        if woken:
            self._wake_all(woken)

    def _wake_all(self, woken: list[Subscription]) -> None:
        """``Subscription._wake`` for every subscription one publish turned non-empty.

        Why here and not per subscription: a book change reaches seven subscribers, all empty
        after the last loop turn, and waking each one on its own cost two Python calls and a
        running-loop lookup per subscriber (a fifth of the store's delta in the decision rig);
        here the loop is looked up once and each consumer is added to the pending flush in place.
        """
        loop = asyncio._get_running_loop()  # the C lookup, None instead of raising
        ready = self._ready
        for subscription in woken:
            waiter = subscription._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            if subscription._on_ready is None or subscription._wake_scheduled:
                continue
            if loop is None:  # a synchronous caller: the consumer drains when it flushes
                subscription._wake_missed = True
                subscription._limit = 0
                continue
            # No missed wake-up to clear: ``publish`` appends in place (and so lists a subscription
            # here) only while there is none (``_limit``).
            ready.append(subscription)
            subscription._wake_scheduled = True
        woken.clear()
        if loop is not None and ready and self._ready_loop is not loop:  # no flush pending here yet
            self._ready_loop = loop
            loop.call_soon(self._flush_ready)

    def has_subscribers(self, event_type: type) -> bool:
        """Whether anybody listens: lets a hot path skip building an event nobody reads."""
        return bool(self._routes.get(event_type))

    @property
    def routes(self) -> Mapping[type, tuple[Subscription, ...]]:
        """The live routing table, event type -> its subscriptions (only types somebody listens to).

        The same object for the bus's lifetime (updated in place on every subscribe and close), so
        a hot path may keep it and test ``event_type in routes`` instead of calling
        ``has_subscribers``. Read-only.
        """
        return self._routes

    def watch_routes(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change of the routing table (a subscribe, a close).

        For a hot path that keeps an answer derived from ``routes`` (who listens to a type) instead
        of asking on every call: it refreshes that answer here.
        """
        self._route_watchers.append(callback)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(self._subscriptions)

    def _schedule_ready(self, subscription: Subscription) -> bool:
        """Run ``subscription``'s ``on_ready`` on the next loop turn; False with no running loop (a
        synchronous caller: the consumer drains when it flushes).

        One ``call_soon`` per bus and loop turn, not one per subscription: an event reaches every
        subscriber of its type, and a handle per subscriber and event was most of a publish's cost.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._ready.append(subscription)
        if self._ready_loop is not loop:  # no flush pending on this loop yet
            self._ready_loop = loop
            loop.call_soon(self._flush_ready)
        return True

    def _flush_ready(self) -> None:
        self._ready_loop = None
        ready, self._ready = self._ready, []
        for subscription in ready:
            subscription._ready()

    def _remove(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
            self._rebuild()

    def _rebuild(self) -> None:
        # Routes are precomputed per type so publish is one dict lookup and a loop over a tuple.
        routes: dict[type, list[Subscription]] = {}
        for subscription in self._subscriptions:
            for event_type in subscription.types:
                routes.setdefault(event_type, []).append(subscription)
        # In place, not rebound: ``routes`` hands out this very dict.
        self._routes.clear()
        self._routes.update({event_type: tuple(subs) for event_type, subs in routes.items()})
        for callback in self._route_watchers:
            callback()
