"""What the trader publishes beside its ledger: decisions, risk denials, lifecycle, calibration,
initialization, stream health, book changes and the queue positions of its resting orders.

Defined once, here, for every consumer (store, terminal view, logs, metrics, dashboard); the JSON
Schema of each is generated from these classes (``events.schema``). All values are frozen; money and
prices carry their exact unit types (``Money`` $0.000001, ``Price`` $0.0001, ``Count`` 0.01).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.domain.values import hot_value


class TraderState(StrEnum):
    INITIALIZING = "initializing"
    TRADING = "trading"
    CALIBRATING = "calibrating"
    PAUSED = "paused"
    STOPPING = "stopping"
    STOPPED = "stopped"  # written last by a clean stop: ``status`` tells it from a crash


def trading_since_after(entered: TraderState, at_ms: int, trading_since_ms: int | None) -> int | None:
    """The start of the stretch of trading once ``entered`` is entered at ``at_ms``: a calibration
    keeps it (trading -> calibrating -> trading is one stretch), trading starts one when there is
    none, any other state (paused, initializing, stopping) ends it."""
    if entered is TraderState.TRADING:
        return at_ms if trading_since_ms is None else trading_since_ms
    if entered is TraderState.CALIBRATING:
        return trading_since_ms
    return None


def shown_since(state: TraderState, since_ms: int, trading_since_ms: int | None) -> int:
    """Since when the operator is told the trader is in ``state``: ``trading_since_ms`` for trading,
    else the entry into the state. Here, beside the states, so that the lifecycle (page, terminal
    view) and the store's reader (``status``) apply one rule."""
    return trading_since_ms if state is TraderState.TRADING and trading_since_ms is not None else since_ms


class CalibrationStep(StrEnum):
    SYNCING_STATE = "syncing state"
    CLOSING_POSITIONS = "closing positions"
    MONITORING_MARKETS = "monitoring markets"
    CASH_RECOVERY = "cash recovery"


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One line of the status console: a transition, a calibration sub-step or a note.

    ``status`` is the console's text ("calibrating -> syncing state"); ``state`` the machine's state
    and ``step`` the calibration sub-step when there is one.
    """

    ts_ms: int
    status: str
    result_text: str
    duration_ms: int | None  # how long the step took, when it is a finished step
    previous_status_ms: int | None  # how long the previous status lasted
    state: TraderState = TraderState.INITIALIZING
    previous_state: TraderState | None = None
    step: CalibrationStep | None = None

    def console_line(self) -> str:
        stamp = datetime.fromtimestamp(self.ts_ms / 1000, tz=UTC).strftime("%I:%M:%S %p")
        duration = ""
        if self.duration_ms is not None:  # integer rounding (half up), so the page writes the same text
            tenths = (self.duration_ms + 50) // 100
            duration = f" ({tenths // 10}.{tenths % 10}s)"
        return f"{stamp}  {self.status:<36} {self.result_text}{duration}"


class ActionResult(StrEnum):
    """What became of one decision."""

    HOLD = "hold"
    PLACED = "placed"
    REJECTED = "rejected"
    UNKNOWN = "unknown"  # sent; the outcome is not known yet (resolved by a read)
    DENIED = "denied"  # refused by a risk check (``denied_by`` says which reason)
    NO_PRICE = "no_price"
    DISCARDED_STALE = "discarded_stale"  # overtaken while the policy ran; never sent
    GROUP_TRIGGERED = "group_triggered"  # the order group's limit is hit; nothing sent
    PAPER = "paper"  # paper mode: decided, priced and recorded; never sent


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class TraderAction:
    """One decision (the ``trader_action`` event): market, action, price, size, what became of it."""

    ts_ms: int
    ticker: str
    action: str  # HOLD, BUY_YES, SELL_YES, BUY_NO, SELL_NO
    price: Price | None
    size: Count
    reason: str  # the policy's reason code and detail
    result: ActionResult
    observation: tuple[float, ...] | None = None  # the schema's features, in its order
    client_order_id: str | None = None
    decision_lag_ms: int = 0
    denied_by: str | None = None  # the risk reason code when ``result`` is DENIED
    detail: str = ""

    @property
    def result_text(self) -> str:
        """``denied:<reason>`` for denials, the result's value otherwise (logs and the view)."""
        return f"denied:{self.denied_by}" if self.result is ActionResult.DENIED else self.result.value


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class RiskDenied:
    """An order the risk gate refused, with the check and its reason code."""

    ts_ms: int
    ticker: str
    reason: str  # RiskReason value
    check: str
    detail: str


@dataclass(frozen=True, slots=True)
class CalibrationStepResult:
    name: str
    duration_ms: float  # wall time
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class DriftRecord:
    """One correction reconciliation made; sizes in contracts (``count_e2``) and money (``money_e6``)."""

    kind: str
    ticker: str | None
    detail: str
    count_e2: int | None
    money_e6: int | None
    is_drift: bool


@dataclass(frozen=True, slots=True)
class CalibrationCompleted:
    """One calibration pass (the ``calibration`` event), as the store and the dashboard keep it."""

    started_ms: int
    duration_ms: int
    ok: bool
    failure_reason: str
    summary: str
    rest_calls: int
    cash_after: Money
    cash_drift_e6: int
    steps: tuple[CalibrationStepResult, ...]
    drift: tuple[DriftRecord, ...]
    reason: str = "scheduled"  # what asked for it: startup, scheduled, a trigger


class InitStepState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class InitializationStep:
    """One item of the startup checklist changed state (the ``initialization`` event)."""

    step: str
    state: InitStepState
    detail: str
    started_ms: int | None
    finished_ms: int | None


@dataclass(frozen=True, slots=True)
class StreamHealth:
    """The market-data stream's health (the ``stream`` event): connection, gaps, resyncs."""

    ts_ms: int
    connected: bool
    gaps: int
    resyncs: int
    invalid_books: int
    detail: str = ""


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class BookChanged:
    """A market's book changed (a snapshot, a delta or an invalidation), with its YES touch then.

    The touch travels with the event so a subscriber reading it later (the observation's rolling
    history) sees the book as it was at this change, not as it is when it gets round to it.
    """

    ticker: str
    ts_ms: int
    valid: bool
    yes_bid: Price | None
    yes_ask: Price | None


@dataclass(frozen=True, slots=True)
class QueuePositionChanged:
    """Where a resting order of ours stands in its price level's queue (the ``queue_position``
    event), published when the exchange's answer differs from the last one.

    ``ahead`` is what the exchange reports (``queue_position_fp``): the contracts at the order's
    price that fill before it under price-time priority. It only shrinks while the order rests at
    that price (fills and cancels ahead); 0 means the next taker at that price fills this order.
    """

    ts_ms: int  # the trader's clock when the answer was read
    client_order_id: str
    order_id: str
    ticker: str
    ahead: Count


TRADER_EVENT_TYPES: tuple[type, ...] = (
    StatusEntry,
    TraderAction,
    RiskDenied,
    CalibrationCompleted,
    InitializationStep,
    StreamHealth,
    BookChanged,
    QueuePositionChanged,
)
