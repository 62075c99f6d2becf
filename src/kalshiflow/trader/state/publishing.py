"""How the ledger tells the rest of the trader what changed: frozen values on the bus.

Subscribers never see a live record: every event carries a snapshot taken at the change. An event
whose snapshot costs something (an order's, a position's) is not even built when nobody subscribed
to its type; cash changes are always published (they are cheap and the store follows them).
"""

from __future__ import annotations

from collections.abc import Callable

from kalshiflow.domain.units import Money
from kalshiflow.events.bus import EventBus
from kalshiflow.events.ledger import CashCause, CashChanged, OrderChanged, OrderSnapshot, PositionChanged
from kalshiflow.trader.state.orders import TrackedOrder
from kalshiflow.trader.state.records import PositionRecord


class LedgerPublisher:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    def publish(self, event: object) -> None:
        self.bus.publish(event)

    def order_changed(self, order: TrackedOrder, ts_ms: int) -> OrderSnapshot | None:
        """Publish ``order``'s snapshot; returns it (None when nobody listens and none was built),
        so a caller that needs the same frozen value (the executor's journal) does not build it twice."""
        if self.bus.has_subscribers(OrderChanged):
            snapshot = order.snapshot()
            self.bus.publish(OrderChanged(snapshot, ts_ms))
            return snapshot
        return None

    def position_changed(
        self, pos: PositionRecord, closing_reason: Callable[[str], str | None], ts_ms: int
    ) -> None:
        """``closing_reason(ticker)`` is asked only when somebody listens (it scans live orders)."""
        if self.bus.has_subscribers(PositionChanged):
            self.bus.publish(PositionChanged(pos.snapshot(closing_reason(pos.ticker)), ts_ms))

    def cash_changed(self, cash: Money, ts_ms: int, cause: CashCause) -> None:
        self.bus.publish(CashChanged(cash, ts_ms, cause))
