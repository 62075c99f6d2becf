"""What an order's market looked like when the order reached the exchange, from the ledger's books.

The exchange fixes an order's hold on arrival (``reservations``); the ledger re-takes it at the
first answer about the order, when more may have happened since. ``market_at`` undoes that: the
fills booked with a time after the arrival, and the order's own fills, are taken out of the
position; and the contracts other orders on the order's side filled since are counted as still
resting then (they claimed closing room). Fills are scanned newest first and the scan stops at the
first one older than the arrival, so it costs a few steps, not the whole history. Cancels since the
arrival are not undone (the ledger keeps no time of them that it could compare with the exchange's).
"""

from __future__ import annotations

from collections.abc import Reversible

from kalshiflow.domain.orders import BookSide
from kalshiflow.events.ledger import FillData
from kalshiflow.trader.state.orders import TrackedOrder


def market_at(
    order: TrackedOrder, position: int, fills: Reversible[FillData], at_ms: int | None
) -> tuple[int, int]:
    """``(position, claimed)`` in ``order``'s market on its arrival at ``at_ms`` (None: now, less
    only its own fills), from the ``position`` now and the ledger's ``fills`` (oldest first)."""
    own = set(order.trade_ids)
    claimed = 0
    for fill in reversed(fills):
        if not own and (at_ms is None or fill.ts_ms < at_ms):
            break
        if fill.ticker != order.ticker:
            continue
        later = at_ms is not None and fill.ts_ms > at_ms
        if fill.trade_id in own or later:
            position -= fill.count if fill.side is BookSide.BID else -fill.count
            if later and fill.trade_id not in own and fill.side is order.side:
                claimed += fill.count
            own.discard(fill.trade_id)
    return position, claimed


class UnseenHolds:
    """Orders whose hold is still the estimate made before the send, each with what its own fills
    booked so far needed from the hold (the exchange took those needs off its hold fill by fill)."""

    def __init__(self) -> None:
        self._needed: dict[str, int] = {}

    def track(self, client_order_id: str) -> None:
        self._needed[client_order_id] = 0

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._needed

    def note_need(self, client_order_id: str, need: int) -> None:
        if client_order_id in self._needed:
            self._needed[client_order_id] += need

    def take(self, client_order_id: str) -> int | None:
        """Stop tracking; what the order's fills needed (None: not tracked)."""
        return self._needed.pop(client_order_id, None)

    def __len__(self) -> int:
        return len(self._needed)
