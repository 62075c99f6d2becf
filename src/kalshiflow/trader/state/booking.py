"""Booking a fill or a settlement into the ledger's positions and cash, exactly.

These are ``Ledger``'s own steps (``Ledger.apply_fill``, ``note_fill``, ``apply_settlement`` call
them; they use its internals as its methods would), kept apart from its order state machine because they are the money arithmetic of a position:
the netting of a fill against the held side, the fee split between the part that closes and the part
that opens, the reservation a fill releases, and a settlement's revenue realizing the cost basis. Each
is one synchronous change of the ledger (no awaits), as every ledger method is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kalshiflow.domain.netting import net_fill
from kalshiflow.domain.units import ZERO_MONEY, Count, Money
from kalshiflow.events.ledger import CashCause, FillBooked, FillData, SettlementBooked, SettlementData
from kalshiflow.trader.state.orders import TrackedOrder
from kalshiflow.trader.state.records import PositionRecord
from kalshiflow.trader.state.reservations import fill_need, release_for_fill

if TYPE_CHECKING:
    from kalshiflow.trader.state.ledger import Ledger

MAX_UNMATCHED_ORDERS = 1_000  # order ids whose historical fills wait for their order to be linked


def _first_sight(ledger: Ledger, fill: FillData) -> bool:
    """Remember the fill by its ``trade_id``; False when it was seen before (a replayed message)."""
    if fill.trade_id in ledger.trade_ids:
        return False
    ledger.trade_ids.add(fill.trade_id)
    ledger.fills.append(fill)
    return True


def _order_of(ledger: Ledger, fill: FillData, *, link: bool) -> TrackedOrder | None:
    """The fill's order: by exchange order id, else by ``client_order_id`` (then, with ``link``,
    linked to that exchange id: a fill can arrive before the create's answer)."""
    order = ledger.order_by_exchange_id(fill.order_id)
    if order is None and fill.client_order_id:
        order = ledger.orders.get(fill.client_order_id)
        if order is not None and link:
            ledger._link(order, fill.order_id)
    return order


def remaining_after(order: TrackedOrder, filled: Count) -> Count:
    """What is left of ``order`` once ``filled`` contracts of it have filled: its remainder less the
    fills not yet counted -- not ``count - filled``, which forgets a decrease (the exchange keeps
    the initial count of a decreased order, so that difference overstates the remainder)."""
    return Count(max(0, order.remaining - max(0, filled - order.filled)))


def book_fill(ledger: Ledger, fill: FillData) -> bool:
    """Book one execution; returns False when this ``trade_id`` was already booked."""
    if not _first_sight(ledger, fill):
        return False
    order = _order_of(ledger, fill, link=True)
    pos = ledger.positions.setdefault(fill.ticker, PositionRecord(fill.ticker))
    release = ZERO_MONEY
    if order is not None:
        # Before the first answer about the order, what this fill needs from its hold is noted: the
        # hold is re-taken then, less these needs, as the exchange took them (``arrival``).
        if order.client_order_id in ledger._unseen_holds:  # computed only for an order awaiting it
            need = fill_need(order, pos.position, fill.count, ledger._fee_terms_of)
            ledger._unseen_holds.note_need(order.client_order_id, need)
        release = release_for_fill(order, pos.position, fill.count, ledger._fee_terms_of)
        order.reserved = Money(order.reserved - release)
    result = net_fill(pos.position, pos.cost_basis, fill.side, fill.yes_price, fill.count)
    exposure = net_fill(pos.position, pos.exposure, fill.side, fill.yes_price, fill.count).cost
    fee_on_close = fill.fee * result.closed // fill.count if fill.count else 0
    fee_on_open = fill.fee - fee_on_close
    was_flat = pos.position == 0
    pos.position = Count(result.position)
    pos.cost_basis = Money(result.cost + fee_on_open)
    pos.exposure = Money(exposure)
    pos.realized_pnl = Money(pos.realized_pnl + result.realized - fee_on_close)
    pos.fees_paid = Money(pos.fees_paid + fill.fee)
    pos.last_fill_ms = fill.ts_ms
    if pos.position == 0:
        pos.opened_at_ms = None
    elif was_flat or (result.closed and result.opened):
        pos.opened_at_ms = fill.ts_ms  # a new position (or a flip) starts its hold clock
    ledger.cash = Money(ledger.cash + release + result.cash_change - fill.fee)
    if order is not None:
        order.trade_ids.append(fill.trade_id)
        order.fees = Money(order.fees + fill.fee)
        # ``filled`` may already count this fill (a create answer or an order read can report it
        # before the fill message arrives): the booked fills are a lower bound, not an increment.
        order.booked = Count(order.booked + fill.count)
        filled = Count(max(order.filled, order.booked))
        ledger._progress(order, filled, remaining_after(order, filled), fill.ts_ms)
    ledger._publish(FillBooked(fill, None if order is None else order.snapshot()))
    ledger._position_changed(pos, fill.ts_ms)
    ledger._cash_changed(fill.ts_ms, CashCause.FILL)
    return True


def note_historical_fill(ledger: Ledger, fill: FillData) -> bool:
    """Record a fill that happened before this ledger's first sync, without booking it.

    Its effect is already in the balance and positions the first sync takes from the exchange,
    so cash and positions are not touched; but the order it belongs to (restored from the store)
    learns it filled, and the fill is announced (``FillBooked(historical=True)``) so the store
    writes it. A fill of an order id not linked yet is announced at once (without its order) and
    applied to its order once that is linked (a read resolving an order in flight). Returns
    False when this ``trade_id`` was already seen.
    """
    if not _first_sight(ledger, fill):
        return False
    order = _order_of(ledger, fill, link=False)
    if order is None:
        # Stored now (the account's fill, even if its order is not known yet: a previous run may
        # have finished that order before it died); the order learns it once it is linked.
        ledger._publish(FillBooked(fill, None, historical=True))
        waiting = ledger._unmatched.setdefault(fill.order_id, [])
        if len(ledger._unmatched) <= MAX_UNMATCHED_ORDERS:
            waiting.append(fill)
        else:
            del ledger._unmatched[fill.order_id]
        return True
    ledger._link(order, fill.order_id)
    note_on_order(ledger, order, fill)
    return True


def note_on_order(ledger: Ledger, order: TrackedOrder, fill: FillData) -> None:
    """A historical fill applied to its order: progress and fees, announced for the store."""
    order.trade_ids.append(fill.trade_id)
    order.fees = Money(order.fees + fill.fee)
    order.booked = Count(order.booked + fill.count)
    filled = Count(max(order.filled, order.booked))
    ledger._progress(order, filled, remaining_after(order, filled), fill.ts_ms)
    ledger._publish(FillBooked(fill, order.snapshot(), historical=True))


def book_settlement(ledger: Ledger, settlement: SettlementData) -> None:
    # The record stays (flat): its realized P&L counts toward the day's P&L and the kill switch.
    pos = ledger.positions.get(settlement.ticker)
    ledger.settlements.append(settlement)
    if pos is not None:
        pos.realized_pnl = Money(pos.realized_pnl + settlement.revenue - pos.cost_basis)
        pos.position, pos.cost_basis, pos.opened_at_ms = Count(0), Money(0), None
        pos.exposure = Money(0)
        ledger._position_changed(pos, settlement.settled_ms)
    ledger.cash = Money(ledger.cash + settlement.revenue)
    ledger._publish(SettlementBooked(settlement))
    ledger._cash_changed(settlement.settled_ms, CashCause.SETTLEMENT)
