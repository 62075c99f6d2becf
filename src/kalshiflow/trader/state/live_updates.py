"""Stream messages and exchange reads turned into ledger calls, so the ledger moves in real time.

Why it exists: the ledger must not know the exchange's message types, and the stream must not know
the ledger. This module is the adapter between them, and the one place that maps exchange views
(``FillMessage``, REST ``Fill``, ``UserOrderUpdate``, REST ``Order``) onto ledger calls:

* a fill (WS or REST) becomes a ``FillData`` and goes to ``Ledger.apply_fill``, which books each
  ``trade_id`` once -- so a fill delivered by both the ``fill`` channel and a REST read counts once;
* an order view goes to ``Ledger.on_exchange_order`` (status: resting / executed / canceled; the
  stream's ``unknown`` status carries no information and is ignored);
* a ``market_positions`` update is only *compared* with the ledger: a difference is reported as a
  ``PositionMismatch`` value, never written. It may be transient (the position message can precede
  the fill message), and overwriting is reconciliation's job, which knows what is newer;
* an ``order_group_updates`` message is forwarded to the order-group manager, an
  ``event_fee_update`` (``market_lifecycle_v2``) to the fee schedule;
* a ``ChannelNotice`` (reconnect, gap, overflow, terminal error) means messages may be lost: it
  raises ``needs_resync`` and reports a ``ResyncNeeded`` value; reconciliation clears it. A notice
  about ``market_lifecycle_v2`` alone is only logged: the ledger reads nothing from it, and a fee
  push lost there is recovered by the next calibration's fee-change reads, so it must not stop
  new exposure.

Every handler is synchronous (no await), so each message is applied atomically.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from kalshiflow.clock import Clock
from kalshiflow.domain.orders import OrderStatus
from kalshiflow.domain.units import Count
from kalshiflow.exchange.models_portfolio import Fill, Order
from kalshiflow.exchange.ws_models import (
    ChannelNotice,
    EventFeeUpdate,
    FillMessage,
    MarketPositionUpdate,
    OrderGroupUpdate,
    StreamEvent,
    UserOrderUpdate,
    WsOrderStatus,
)
from kalshiflow.trader.state.ledger import FillData, Ledger
from kalshiflow.trader.state.orders import TrackedOrder

log = logging.getLogger(__name__)

LIFECYCLE_CHANNEL: Final = "market_lifecycle_v2"  # subscribed for ``event_fee_update`` only

RECENT_LIMIT: Final = 100  # resync notices and position mismatches kept in memory

# Exchange order status -> the status word ``Ledger.on_exchange_order`` understands.
REST_STATUS: Final = {
    OrderStatus.RESTING: "resting",
    OrderStatus.EXECUTED: "executed",
    OrderStatus.CANCELED: "canceled",
}
WS_STATUS: Final = {
    WsOrderStatus.RESTING: "resting",
    WsOrderStatus.EXECUTED: "executed",
    WsOrderStatus.CANCELED: "canceled",
}


@dataclass(frozen=True, slots=True)
class PositionMismatch:
    """The exchange's position differs from the ledger's (positions signed: + YES, - NO)."""

    ticker: str
    exchange_position: Count
    ledger_position: Count
    ts_ms: int

    @property
    def difference(self) -> Count:
        return Count(self.exchange_position - self.ledger_position)


@dataclass(frozen=True, slots=True)
class ResyncNeeded:
    """Channel data may be missing: reconciliation must run before the ledger is trusted again."""

    reason: str  # the NoticeKind value
    channel: str | None
    count: int
    detail: str
    ts_ms: int


def fill_from_ws(msg: FillMessage) -> FillData:
    return FillData(
        trade_id=msg.trade_id,
        order_id=msg.order_id,
        ticker=msg.ticker,
        side=msg.book_side,
        yes_price=msg.yes_price,
        count=msg.count,
        is_taker=msg.is_taker,
        fee=msg.fee,
        ts_ms=msg.ts_ms,
        client_order_id=msg.client_order_id,
        post_position=msg.post_position,
        source="ws",
    )


def fill_from_rest(fill: Fill) -> FillData:
    """A REST fill (it carries no ``client_order_id``: the ledger links it by ``order_id``)."""
    return FillData(
        trade_id=fill.trade_id,
        order_id=fill.order_id,
        ticker=fill.ticker,
        side=fill.book_side,
        yes_price=fill.yes_price,
        count=fill.count,
        is_taker=fill.is_taker,
        fee=fill.fee,
        ts_ms=fill.ts_ms,
        source="rest",
    )


def apply_order_view(ledger: Ledger, order: Order, now_ms: int) -> TrackedOrder:
    """The exchange's view of one order (a REST read) applied to the ledger."""
    return ledger.on_exchange_order(
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        ticker=order.ticker,
        side=order.book_side,
        yes_price=order.yes_price,
        status=REST_STATUS[order.status],
        filled=order.fill_count,
        remaining=order.remaining_count,
        initial=order.initial_count,
        now_ms=now_ms,
        order_group_id=order.order_group_id,
        created_ms=order.created_ms,
    )


def apply_rest_fills(ledger: Ledger, fills: list[Fill]) -> int:
    """Book REST fills oldest first; returns how many were new (the rest were already booked)."""
    return sum(ledger.apply_fill(fill_from_rest(f)) for f in sorted(fills, key=lambda f: f.ts_ms))


class LiveUpdates:
    """Applies stream events to the ledger; reports mismatches and resync needs as values."""

    def __init__(
        self,
        ledger: Ledger,
        clock: Clock,
        *,
        on_group_update: Callable[[OrderGroupUpdate], None] | None = None,
        on_fee_update: Callable[[EventFeeUpdate], None] | None = None,
        on_resync: Callable[[ResyncNeeded], None] | None = None,
        on_mismatch: Callable[[PositionMismatch], None] | None = None,
    ) -> None:
        self._ledger = ledger
        self._clock = clock
        self._on_group_update = on_group_update
        self._on_fee_update = on_fee_update
        self._on_resync = on_resync
        self._on_mismatch = on_mismatch
        self.needs_resync = False
        # The latest ones only (bounded memory; counts and the log keep the whole story).
        self.resyncs: deque[ResyncNeeded] = deque(maxlen=RECENT_LIMIT)
        self.mismatches: deque[PositionMismatch] = deque(maxlen=RECENT_LIMIT)
        self.fills_booked = 0
        self.fills_duplicate = 0

    def handle(self, event: StreamEvent) -> None:
        """Apply one stream event (synchronous, atomic). Channels the ledger ignores are skipped."""
        if isinstance(event, FillMessage):
            if self._ledger.apply_fill(fill_from_ws(event)):
                self.fills_booked += 1
            else:
                self.fills_duplicate += 1
        elif isinstance(event, UserOrderUpdate):
            self._order_update(event)
        elif isinstance(event, MarketPositionUpdate):
            self._position_update(event)
        elif isinstance(event, OrderGroupUpdate):
            if self._on_group_update is not None:
                self._on_group_update(event)
        elif isinstance(event, EventFeeUpdate):
            if self._on_fee_update is not None:
                self._on_fee_update(event)
        elif isinstance(event, ChannelNotice):
            self._notice(event)

    async def run(self, events: asyncio.Queue[StreamEvent]) -> None:
        """Consume a stream's event queue until cancelled."""
        while True:
            self.handle(await events.get())

    def clear_resync(self) -> None:
        """Reconciliation has run: the ledger is trusted again."""
        self.needs_resync = False

    def _order_update(self, msg: UserOrderUpdate) -> None:
        status = WS_STATUS.get(msg.status)
        if status is None:
            log.info("live.order_status_unknown order_id=%s", msg.order_id)
            return
        self._ledger.on_exchange_order(
            order_id=msg.order_id,
            client_order_id=msg.client_order_id,
            ticker=msg.ticker,
            side=msg.book_side,
            yes_price=msg.yes_price,
            status=status,
            filled=msg.fill_count,
            remaining=msg.remaining_count,
            initial=msg.initial_count,
            now_ms=msg.last_updated_ts_ms or self._clock.now_ms(),
            order_group_id=msg.order_group_id,
            created_ms=msg.created_ts_ms,
        )

    def _position_update(self, msg: MarketPositionUpdate) -> None:
        ours = self._ledger.position(msg.ticker).position
        if ours == msg.position:
            return
        mismatch = PositionMismatch(msg.ticker, msg.position, ours, self._clock.now_ms())
        self.mismatches.append(mismatch)
        if self._on_mismatch is not None:
            self._on_mismatch(mismatch)

    def _notice(self, notice: ChannelNotice) -> None:
        if notice.channel == LIFECYCLE_CHANNEL:
            log.warning(
                "live.lifecycle_notice kind=%s count=%d (fee changes are read again at the next calibration)",
                notice.kind.value,
                notice.count,
            )
            return
        resync = ResyncNeeded(
            notice.kind.value, notice.channel, notice.count, notice.detail, self._clock.now_ms()
        )
        self.needs_resync = True
        self.resyncs.append(resync)
        log.warning(
            "live.resync_needed reason=%s channel=%s count=%d", resync.reason, notice.channel, notice.count
        )
        if self._on_resync is not None:
            self._on_resync(resync)
