"""Bid ladders of one market, with price-time priority.

Kalshi keeps two bid books per market: YES bids (YES prices) and NO bids (NO prices). A V2 ``bid``
rests on the YES ladder at its price; a V2 ``ask`` at YES price p rests on the NO ladder at 1 - p.
Each ladder maps a price to a FIFO queue of orders and the aggregate resting size at that price.

Cancels are O(1): the order leaves the aggregate immediately and its queue entry is dropped lazily
when matching reaches it (or when dead entries outnumber live ones). Aggregates never include a
dead order, so snapshots and deltas are always exact.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from kalshiflow.sim.state import SimOrder


def _live(entry: tuple[int, SimOrder]) -> bool:
    """A queue entry is live while its order rests with the priority it was queued with."""
    priority, order = entry
    return order.is_resting and order.priority == priority


@dataclass(slots=True)
class Level:
    queue: deque[tuple[int, SimOrder]] = field(default_factory=deque)
    total: int = 0  # aggregate remaining count of live orders
    dead: int = 0  # queue entries no longer resting


class Ladder:
    """Bids of one leg. ``prices`` holds the prices with live size, ascending."""

    __slots__ = ("levels", "prices")

    def __init__(self) -> None:
        self.levels: dict[int, Level] = {}
        self.prices: list[int] = []

    def best(self) -> int | None:
        return self.prices[-1] if self.prices else None

    def size_at(self, price: int) -> int:
        level = self.levels.get(price)
        return level.total if level is not None else 0

    def add(self, order: SimOrder, price: int) -> None:
        level = self.levels.get(price)
        if level is None:
            level = Level()
            self.levels[price] = level
            insort(self.prices, price)
        level.queue.append((order.priority, order))
        level.total += order.remaining_count

    def add_size(self, price: int, amount: int) -> None:
        """``amount`` more at ``price`` of orders kept outside the queue (a lazy tape's): the
        aggregate only, which is all a reader of the book sees; the orders join the queue, in
        priority order, before anything matches at this price (``sim/recorded/virtual.py``)."""
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = Level()
            insort(self.prices, price)
        level.total += amount

    def reduce(self, price: int, amount: int) -> None:
        """Take ``amount`` off the aggregate at ``price`` (a fill, cancel or decrease)."""
        level = self.levels[price]
        level.total -= amount
        if level.total == 0:
            self._drop(price)

    def mark_dead(self, price: int) -> None:
        """An order at ``price`` stopped resting; its queue entry is now dead."""
        level = self.levels.get(price)
        if level is None:
            return
        level.dead += 1
        if level.dead > 32 and level.dead > len(level.queue) // 2:
            level.queue = deque(e for e in level.queue if _live(e))
            level.dead = 0

    def front(self, price: int) -> SimOrder | None:
        """First live order at ``price``, dropping dead entries on the way."""
        level = self.levels.get(price)
        if level is None:
            return None
        queue = level.queue
        while queue and not _live(queue[0]):
            queue.popleft()
            level.dead = max(0, level.dead - 1)
        return queue[0][1] if queue else None

    def orders_at(self, price: int) -> Iterator[SimOrder]:
        level = self.levels.get(price)
        if level is None:
            return iter(())
        return (e[1] for e in level.queue if _live(e))

    def ahead_of(self, order: SimOrder, price: int) -> int:
        """Contracts (0.01) of live orders queued before ``order`` at ``price``: what must trade or
        leave before it fills (price-time priority). Linear in the level's queue length."""
        level = self.levels.get(price)
        if level is None:
            return 0
        ahead = 0
        for entry in level.queue:
            if entry[1] is order:
                return ahead
            if _live(entry):
                ahead += entry[1].remaining_count
        return ahead

    def descending(self) -> Iterator[tuple[int, int]]:
        """(price, size) from the best bid down."""
        for price in reversed(self.prices):
            yield price, self.levels[price].total

    def ascending(self) -> list[tuple[int, int]]:
        return [(p, self.levels[p].total) for p in self.prices]

    def _drop(self, price: int) -> None:
        del self.levels[price]
        del self.prices[bisect_left(self.prices, price)]


class Book:
    """The two ladders of one market."""

    __slots__ = ("no", "yes")

    def __init__(self) -> None:
        self.yes = Ladder()
        self.no = Ladder()

    def best_yes_bid(self) -> int | None:
        return self.yes.best()

    def best_no_bid(self) -> int | None:
        return self.no.best()

    def best_yes_ask(self) -> int | None:
        """Cheapest YES offer = 1 - best NO bid."""
        best_no = self.no.best()
        return None if best_no is None else 10_000 - best_no

    def is_crossed(self) -> bool:
        yes, no = self.yes.best(), self.no.best()
        return yes is not None and no is not None and yes + no >= 10_000
