"""The executor's vocabulary: what to place, what can happen to it, and what the executor answers.

These values are shared by everyone who asks for or watches orders (the closer, the open-order
keeper, the order-group manager, the core, the store's and the view's subscribers), so they live
apart from ``in_flight.OrderExecutor``, which is the behaviour: send, resolve, cancel, amend.
``CREATE_OUTCOMES`` is the policy for a failed create (STYLE "Ambiguity is policy"), as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Protocol

from kalshiflow.domain.orders import BookSide, TimeInForce
from kalshiflow.domain.units import Count, Price
from kalshiflow.domain.values import hot_value
from kalshiflow.exchange.errors import ErrorKind
from kalshiflow.exchange.models_orders import AmendResult, CancelResult, CreateOrderResult, NewOrder
from kalshiflow.exchange.models_portfolio import Order
from kalshiflow.trader.state.orders import OrderPurpose, OrderState


class ExecutionVenue(Protocol):
    """The slice of the REST client the executor uses (``KalshiRestClient`` satisfies it)."""

    async def place(self, order: NewOrder) -> CreateOrderResult: ...

    async def orders(self, *, ticker: str | None = None) -> list[Order]: ...

    async def order(self, order_id: str) -> Order: ...

    async def cancel_order(self, order_id: str) -> CancelResult: ...

    async def amend_order(
        self, order_id: str, ticker: str, side: BookSide, price: Price, total_count: Count
    ) -> AmendResult: ...


class ExecOutcome(StrEnum):
    PLACED = "placed"  # the exchange answered the create; the ledger holds its state
    REJECTED = "rejected"  # definitive refusal: nothing happened on the exchange
    UNKNOWN = "unknown"  # ambiguous: the order may exist; it stays in flight until a read resolves it
    RESOLVED = "resolved"  # a read found an order in flight and the ledger took the exchange's view
    NOT_FOUND = "not_found"  # a read missed an order in flight (one more consecutive miss)
    GAVE_UP = "gave_up"  # enough consecutive misses: the order is taken as never placed (rejected)
    CANCELED = "canceled"  # the cancel took effect
    ALREADY_GONE = "already_gone"  # nothing left to cancel/amend (filled, canceled); state re-read
    AMENDED = "amended"  # the amend took effect and the order was read back
    UNRESOLVED = "unresolved"  # could not act or read now (no order id yet, read failed); try later
    FAILED = "failed"  # a cancel or amend was refused; the order is unchanged


CREATE_OUTCOMES: Final[Mapping[ErrorKind, ExecOutcome]] = MappingProxyType(
    {
        ErrorKind.REJECTED: ExecOutcome.REJECTED,
        ErrorKind.NOT_FOUND: ExecOutcome.REJECTED,  # unknown market or order group
        ErrorKind.AUTH: ExecOutcome.REJECTED,
        ErrorKind.RATE_LIMITED: ExecOutcome.REJECTED,  # refused before processing, retries spent
        ErrorKind.AMBIGUOUS: ExecOutcome.UNKNOWN,
    }
)


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What to place. ``yes_price`` is the YES price (a bid buys YES, an ask buys NO).

    A ``CLOSE`` needs a ``close_reason`` and is always sent reduce-only; IOC is for aggressive closes.
    """

    ticker: str
    side: BookSide
    yes_price: Price
    count: Count
    purpose: OrderPurpose = OrderPurpose.OPEN
    close_reason: str | None = None
    reduce_only: bool = False
    order_group_id: str | None = None
    time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCELED
    post_only: bool = False

    def __post_init__(self) -> None:
        if self.purpose is OrderPurpose.EXTERNAL:
            raise ValueError("the trader never places EXTERNAL orders")
        if self.purpose is OrderPurpose.CLOSE and not self.close_reason:
            raise ValueError("a closing order needs a close_reason")

    @property
    def sends_reduce_only(self) -> bool:
        return self.reduce_only or self.purpose is OrderPurpose.CLOSE


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """One decision of the executor, as data for logs, tests, the dashboard and the group manager."""

    client_order_id: str
    outcome: ExecOutcome
    detail: str
    ts_ms: int
    state: OrderState | None = None  # the ledger state after the decision
    order_id: str | None = None
    error_code: str | None = None  # the exchange's error.code when it refused
    order_group_id: str | None = None


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    """Knobs of the executor.

    * ``client_order_id_prefix`` ("kf-"): marks our orders on a shared account.
    * ``not_found_misses_before_gone`` (3, reads): consecutive misses before an order in flight is
      taken as never placed (mirror of ``CalibrationConfig.not_found_misses_before_gone``).
    * ``stale_pending_s`` (10, seconds): a ``pending`` order this old that no send is waiting on
      (the process died between recording and sending, or mid-send) is resolved like ``unknown``.
    """

    client_order_id_prefix: str = "kf-"
    not_found_misses_before_gone: int = 3
    stale_pending_s: int = 10

    def __post_init__(self) -> None:
        if self.not_found_misses_before_gone < 1:
            raise ValueError("not_found_misses_before_gone must be >= 1")
        if self.stale_pending_s < 0:
            raise ValueError("stale_pending_s must be >= 0")
