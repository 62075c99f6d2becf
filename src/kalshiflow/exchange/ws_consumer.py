"""The bounded hand-off of channel messages (ticker, trade, lifecycle, private) to the consumer.

Why: the reader must never wait on a slow consumer (the server would overflow and end the
subscription), and a message that does not fit must never vanish silently. The queue is bounded;
what does not fit is counted per message type and told to the consumer as one
``ChannelNotice(OVERFLOW)`` as soon as there is room for it, ahead of any newer message, so a
ledger knows to reconcile. Orderbook data never comes here: the stream applies it synchronously.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from kalshiflow.exchange.ws_models import ChannelNotice, NoticeKind, StreamEvent
from kalshiflow.exchange.ws_status import StreamMetrics


class ChannelQueue:
    def __init__(self, maxsize: int, metrics: StreamMetrics) -> None:
        self.queue: asyncio.Queue[StreamEvent] = asyncio.Queue(maxsize)
        self._metrics = metrics
        self._dropped: Counter[str] = Counter()

    def put(self, event: StreamEvent) -> None:
        """Queue ``event`` or count it as an overflow; never blocks."""
        if self._dropped and not self.flush_notice():
            self._count_drop(event)
            return
        try:
            self.queue.put_nowait(event)
            self._metrics.channel_messages += 1
        except asyncio.QueueFull:
            self._count_drop(event)

    def flush_notice(self) -> bool:
        """Queue the pending overflow notice if it and one more message fit; True if none pending."""
        if not self._dropped:
            return True
        if self.queue.maxsize - self.queue.qsize() < 2:
            return False
        detail = ", ".join(f"{name}={n}" for name, n in sorted(self._dropped.items()))
        self.queue.put_nowait(ChannelNotice(NoticeKind.OVERFLOW, None, sum(self._dropped.values()), detail))
        self._dropped.clear()
        return True

    def _count_drop(self, event: StreamEvent) -> None:
        self._metrics.queue_overflows += 1
        self._dropped[type(event).__name__] += 1
