"""Which orders the ledger knows, which of them are still in flight, and how much history is kept.

The ledger's money arithmetic asks this index for the live orders of a market (reservations, the
closing reason, the running totals) and hands it every finished order. Live orders are indexed by
market so a lookup is independent of how many orders the session has seen; finished ones are kept
up to ``history_limit`` (issue 8: memory grew ~4 KB per order) and then forgotten, oldest first.
"""

from __future__ import annotations

from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder


class OrderIndex:
    def __init__(self, history_limit: int) -> None:
        self.orders: dict[str, TrackedOrder] = {}  # by client_order_id
        self.by_order_id: dict[str, str] = {}  # order_id -> client_order_id
        self._history_limit = history_limit
        self._live: dict[str, dict[str, TrackedOrder]] = {}  # ticker -> client_order_id -> order
        self._finished: dict[str, None] = {}  # client_order_ids of terminal orders, oldest first

    def live(self, ticker: str | None = None) -> list[TrackedOrder]:
        """Orders still in flight, oldest first; finished orders leave the index the next time it is
        read (an order never comes back to life)."""
        if ticker is not None:
            return self._live_in(ticker)
        return [o for t in list(self._live) for o in self._live_in(t)]

    def _live_in(self, ticker: str) -> list[TrackedOrder]:
        index = self._live.get(ticker)
        if not index:
            return []
        live = [o for o in index.values() if o.is_live]
        if len(live) != len(index):
            for order in [o for o in index.values() if not o.is_live]:
                del index[order.client_order_id]
            if not index:
                del self._live[ticker]
        return live

    def track_live(self, order: TrackedOrder) -> None:
        self._live.setdefault(order.ticker, {})[order.client_order_id] = order

    def counts_as_live(self, order: TrackedOrder) -> bool:
        """Whether ``order`` is among the live orders ``live`` answers (live and indexed)."""
        return order.is_live and order.client_order_id in self._live.get(order.ticker, ())

    def by_exchange_id(self, order_id: str) -> TrackedOrder | None:
        cid = self.by_order_id.get(order_id)
        return None if cid is None else self.orders.get(cid)

    def retire(self, order: TrackedOrder) -> None:
        """A finished order becomes history; beyond ``history_limit`` the oldest is forgotten."""
        self._finished[order.client_order_id] = None
        while len(self._finished) > self._history_limit:
            oldest = next(iter(self._finished))
            del self._finished[oldest]
            gone = self.orders.pop(oldest, None)
            if (
                gone is not None
                and gone.order_id is not None
                and self.by_order_id.get(gone.order_id) == oldest
            ):
                del self.by_order_id[gone.order_id]

    def has_close(self, ticker: str) -> bool:
        """Whether a closing order is live in ``ticker`` (no list built: asked twice per decision)."""
        live = self._live.get(ticker)
        if not live:  # the common case (no order in flight here) builds no generator either
            return False
        return any(o.purpose is OrderPurpose.CLOSE and o.is_live for o in live.values())

    def live_closes(self) -> list[TrackedOrder]:
        """The live closing orders, in the order ``live()`` lists them (by market, oldest first).

        Why apart: the exit tick reads the closing orders every second, and ``live()`` built (and
        pruned) the list of every live order, the maker's resting quotes, to keep the few closes.
        """
        close = OrderPurpose.CLOSE
        return [
            o for index in self._live.values() for o in index.values() if o.purpose is close and o.is_live
        ]

    def closing_reason(self, ticker: str) -> str | None:
        """The reason of the live closing order in ``ticker``, if a close is under way."""
        for order in self._live.get(ticker, {}).values():
            if order.purpose is OrderPurpose.CLOSE and order.is_live:
                return order.close_reason
        return None
