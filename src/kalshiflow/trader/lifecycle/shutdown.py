"""Stopping: cancel what rests, optionally flatten, and report exactly what happened.

Why it exists: a stop line that says "cancelled 1 orders" while the order still rests at the
exchange, or "flattened 3 positions" counting ones it skipped, is worse than none (issue 8). So:

* every cancel is resolved by reading the order back, with bounded retries
  (``OrderExecutor.cancel_confirmed``); what is still live at the end is named in the report and
  makes ``ok`` False (``kalshiflow run`` then exits non-zero);
* every position the account holds (the ledger adopts all of them at calibration) is either closed
  or listed as left open with a reason (``LeftReason``), whether or not it is one of the run's
  markets;
* the report is a value (``StopReport``); ``summary()`` is the one line the status history and the
  terminal show.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Money, display_dollars, held_contracts
from kalshiflow.textfmt import plural
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.execution.closing import CloseResult
from kalshiflow.trader.state.orders import OrderPurpose, OrderState

STOP_REASON = "stop"


class LeftReason(StrEnum):
    """Why a position was left open at stop."""

    FLATTEN_OFF = "flatten_on_stop is off"
    NOT_TRADED = "not one of this run's markets"
    NO_BID = "no bid to sell into"
    NOT_FILLED = "the closing order did not fill"
    CLOSE_FAILED = "the closing order failed"


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    ticker: str
    contracts: Count  # how many contracts the closing order took (positive)
    held_no: bool = False  # the closed holding was NO contracts (a bid closing it), else YES


@dataclass(frozen=True, slots=True)
class PositionLeft:
    ticker: str
    position: Count  # signed: + YES, - NO
    reason: LeftReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StopReport:
    cancelled: tuple[str, ...]  # client_order_ids the exchange confirms no longer resting
    still_live: tuple[str, ...]  # client_order_ids that may still rest (cancel not confirmed)
    closed: tuple[ClosedPosition, ...]
    left_open: tuple[PositionLeft, ...]
    realized_pnl: Money  # of this run, after fees
    unrealized_pnl: Money  # of the positions left open, at their exit prices
    # Orders in flight that no read found on the exchange (a create that never arrived, or not
    # visible yet): nothing rests under them, so they do not fail the stop; the next run resolves them.
    not_found: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.still_live

    def summary(self) -> str:
        """One line, e.g. ``cancelled 2 orders; closed 1 position (T1 3.00 contracts YES); left open
        1: T2 -2.00 (2.00 contracts NO; not one of this run's markets); P&L realized +$1.20,
        unrealized -$0.40``: counts with their units and side, as ``status`` writes positions."""
        parts = [f"cancelled {plural(len(self.cancelled), 'order')}"]
        if self.still_live:
            parts.append(f"{len(self.still_live)} still resting: {', '.join(self.still_live)}")
        if self.not_found:
            parts.append(
                f"{len(self.not_found)} in flight, not found on the exchange: {', '.join(self.not_found)}"
            )
        if self.closed:
            closed = ", ".join(
                f"{c.ticker} {held_contracts(-c.contracts if c.held_no else c.contracts)}"
                for c in self.closed
            )
            parts.append(f"closed {plural(len(self.closed), 'position')} ({closed})")
        if self.left_open:
            left = ", ".join(
                f"{p.ticker} {p.position.fp_str()} ({held_contracts(p.position)}; {p.reason})"
                for p in self.left_open
            )
            parts.append(f"left open {len(self.left_open)}: {left}")
        parts.append(f"P&L realized {_signed(self.realized_pnl)}, unrealized {_signed(self.unrealized_pnl)}")
        return "; ".join(parts)


async def cancel_resting(core: TraderCore, attempts: int) -> tuple[list[str], list[str], list[str]]:
    """Cancel every live order of ours, each confirmed by a read; returns the ids cancelled, still
    live, and in flight but not found on the exchange (no exchange id after the reads)."""
    cancelled: list[str] = []
    still_live: list[str] = []
    not_found: list[str] = []
    for order in list(core.ledger.live_orders()):
        if order.purpose is OrderPurpose.EXTERNAL:
            continue
        await core.executor.cancel_confirmed(order.client_order_id, attempts)
        if not order.is_live:
            cancelled.append(order.client_order_id)
        elif order.order_id is None:
            not_found.append(order.client_order_id)
        else:
            still_live.append(order.client_order_id)
    return cancelled, still_live, not_found


async def stop_trading(core: TraderCore, *, flatten: bool, cancel_attempts: int = 3) -> StopReport:
    """Reduce-only from now; cancel resting orders; flatten when asked; say what is left."""
    core.reduce_only = True
    cancelled, still_live, not_found = await cancel_resting(core, cancel_attempts)
    held = {p.ticker: p.position for p in core.ledger.open_positions()}
    closed: list[ClosedPosition] = []
    reasons: dict[str, PositionLeft] = {}
    if flatten:
        for result in await core.flatten(STOP_REASON):
            outcome = _close_outcome(core, result)
            if isinstance(outcome, ClosedPosition):
                closed.append(outcome)
            elif outcome is not None:
                reasons[outcome.ticker] = outcome
        more_cancelled, still_live, not_found = await cancel_resting(core, cancel_attempts)  # unfilled closes
        cancelled += more_cancelled
    # The fills of the closes may not have reached the ledger yet: what is left is what was held
    # minus what the closing orders took, per ticker.
    taken = {c.ticker: c.contracts for c in closed}
    left: list[PositionLeft] = []
    for ticker, position in held.items():
        remaining = abs(position) - taken.get(ticker, 0)
        if remaining <= 0:
            continue
        signed = Count(remaining if position > 0 else -remaining)
        known = reasons.get(ticker)
        if known is not None:
            left.append(PositionLeft(ticker, signed, known.reason, known.detail))
        elif ticker not in core.markets:
            left.append(PositionLeft(ticker, signed, LeftReason.NOT_TRADED))
        else:
            left.append(
                PositionLeft(ticker, signed, LeftReason.NOT_FILLED if flatten else LeftReason.FLATTEN_OFF)
            )
    pnl = core.pnl_view()
    realized = Money(sum(p.realized_pnl for p in core.ledger.positions.values()))
    return StopReport(
        cancelled=tuple(cancelled),
        still_live=tuple(still_live),
        closed=tuple(closed),
        left_open=tuple(sorted(left, key=lambda p: p.ticker)),
        realized_pnl=realized,
        unrealized_pnl=pnl.unrealized,
        not_found=tuple(not_found),
    )


def _close_outcome(core: TraderCore, result: CloseResult) -> ClosedPosition | PositionLeft | None:
    position = core.ledger.position(result.ticker).position
    if result.outcome == "skipped_flat":
        return None
    if result.outcome == "skipped_no_market":
        return PositionLeft(result.ticker, position, LeftReason.NOT_TRADED, result.detail)
    if result.outcome == "skipped_no_bid":
        return PositionLeft(result.ticker, position, LeftReason.NO_BID, result.detail)
    execution = result.execution
    order = None if execution is None else core.ledger.orders.get(execution.client_order_id)
    if order is None or order.state is OrderState.REJECTED:
        detail = result.detail or (execution.detail if execution is not None else "")
        return PositionLeft(result.ticker, position, LeftReason.CLOSE_FAILED, detail)
    if order.filled > 0:
        return ClosedPosition(result.ticker, order.filled, held_no=order.side is BookSide.BID)
    return PositionLeft(result.ticker, position, LeftReason.NOT_FILLED, order.detail)


def _signed(amount: Money) -> str:
    text = display_dollars(amount)
    return text if amount < 0 else f"+{text}"
