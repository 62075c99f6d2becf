"""The market model's one time-ordered heap of pending events.

Why one heap for everything: a maker's re-quote, a taker's arrival, news, a close and a settlement
must happen in the order of their simulated times whoever scheduled them, and ties at one time in
the order they were scheduled (a sequence number breaks them), so the same seed gives the same
market however the caller slices time. An entry carries a ``version``: the participant that
scheduled it may have rescheduled since (news, a fill), and a handler drops an entry whose version
is stale instead of the heap searching for it.
"""

from __future__ import annotations

import heapq

from kalshiflow.sim.market.state import Kind

# (time, seq, kind, key, slot, version); the unique seq means ``kind`` is never compared, so it is
# kept as the enum itself (no ``Kind(int)`` lookup per event popped)
HeapEntry = tuple[int, int, Kind, str, int, int]


class Schedule:
    def __init__(self) -> None:
        self._heap: list[HeapEntry] = []
        self._seq = 0

    def push(self, at_ms: int, kind: Kind, key: str, slot: int = 0, version: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at_ms, self._seq, kind, key, slot, version))

    def next_ms(self) -> int | None:
        """When the earliest pending event is due (None when nothing is pending)."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, target_ms: int) -> HeapEntry | None:
        """The earliest event due at or before ``target_ms``, removed; None when none is due."""
        heap = self._heap
        if heap and heap[0][0] <= target_ms:
            return heapq.heappop(heap)
        return None
