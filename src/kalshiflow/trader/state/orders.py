"""Orders as the trader tracks them: keyed by ``client_order_id``, with an explicit state machine.

An order exists locally *before* it is sent (``pending``), so a crash between sending and hearing
back never loses track of it. A definitive answer moves it on; a timeout, 5xx or disconnect moves it
to ``unknown``, where it stays until a read resolves it -- it is never assumed rejected and never
re-sent. Only several consecutive "not found" reads (the read path lags the write path) make an
unknown order ``rejected``.

States: pending -> resting | partially_filled | filled | canceled | rejected | unknown;
resting -> partially_filled | filled | canceled | unknown; partially_filled -> filled | canceled |
unknown; unknown -> any state a read can show. filled, canceled and rejected are terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import ZERO_COUNT, ZERO_MONEY, Count, Money, Price
from kalshiflow.events.ledger import LIVE as LIVE
from kalshiflow.events.ledger import TERMINAL as TERMINAL
from kalshiflow.events.ledger import OrderPurpose as OrderPurpose
from kalshiflow.events.ledger import OrderSnapshot
from kalshiflow.events.ledger import OrderState as OrderState

_AFTER_SEND = frozenset(
    {
        OrderState.RESTING,
        OrderState.PARTIALLY_FILLED,
        OrderState.FILLED,
        OrderState.CANCELED,
        OrderState.REJECTED,
        OrderState.UNKNOWN,
    }
)

TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.PENDING: _AFTER_SEND,
    OrderState.RESTING: frozenset(
        {OrderState.PARTIALLY_FILLED, OrderState.FILLED, OrderState.CANCELED, OrderState.UNKNOWN}
    ),
    OrderState.PARTIALLY_FILLED: frozenset(
        {OrderState.PARTIALLY_FILLED, OrderState.FILLED, OrderState.CANCELED, OrderState.UNKNOWN}
    ),
    OrderState.UNKNOWN: _AFTER_SEND - {OrderState.UNKNOWN},
    OrderState.FILLED: frozenset(),
    OrderState.CANCELED: frozenset(),
    OrderState.REJECTED: frozenset(),
}


class IllegalOrderTransition(RuntimeError):
    """A state change the table forbids: a bug, never an exchange condition."""


@dataclass(slots=True)
class TrackedOrder:
    client_order_id: str
    ticker: str
    side: BookSide
    yes_price: Price
    count: Count
    purpose: OrderPurpose
    created_ms: int
    state: OrderState = OrderState.PENDING
    order_id: str | None = None
    filled: Count = ZERO_COUNT
    remaining: Count = ZERO_COUNT
    close_reason: str | None = None
    reduce_only: bool = False
    order_group_id: str | None = None
    updated_ms: int = 0
    sent_ms: int | None = None
    not_found_reads: int = 0
    detail: str = ""  # last rejection or ambiguity reason
    fees: Money = ZERO_MONEY
    booked: Count = ZERO_COUNT  # sum of this order's fills booked by the ledger (by trade_id)
    reserved: Money = ZERO_MONEY  # estimated cash the exchange holds back for this order
    trade_ids: list[str] = field(default_factory=list)

    @property
    def is_live(self) -> bool:
        return self.state in LIVE

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    def snapshot(self) -> OrderSnapshot:
        """This order as a frozen value, for the bus (subscribers never see a live record)."""
        return OrderSnapshot(
            self.client_order_id,
            self.ticker,
            self.side,
            self.yes_price,
            self.count,
            self.purpose,
            self.created_ms,
            self.state,
            self.order_id,
            self.filled,
            self.remaining,
            self.close_reason,
            self.reduce_only,
            self.order_group_id,
            self.updated_ms,
            self.detail,
            self.fees,
            self.reserved,
        )

    def move(self, state: OrderState, now_ms: int, detail: str = "") -> bool:
        """Apply a state change; returns False when it is a no-op. Illegal changes raise."""
        if state is self.state and state is not OrderState.PARTIALLY_FILLED:
            return False
        if state not in TRANSITIONS[self.state]:
            raise IllegalOrderTransition(f"{self.client_order_id}: {self.state} -> {state}")
        self.state = state
        self.updated_ms = now_ms
        if detail:
            self.detail = detail
        return True
