"""Step 1 of calibration, the synchronous half: apply one exchange snapshot to the ledger atomically.

``apply_snapshot`` has no ``await``: the event loop cannot interleave a WebSocket fill between two
of its corrections, so the ledger moves from one consistent state to the next (ARCHITECTURE §3).
The exchange wins; every correction becomes a ``DriftEvent``.

The "newer than the snapshot" rule. ``requested_ms`` is the clock reading taken just before the
first read was sent. A ticker is **hot** -- its position and its orders are left alone this pass --
when any of these holds:

1. a REST fill in it has ``ts_ms > requested_ms`` (that fill is not booked now either);
2. the exchange's position in it has ``last_updated_ms > requested_ms``;
3. an exchange resting order in it was created or last updated after ``requested_ms``;
4. the ledger changed anything in it while the reads were in flight (a live fill, order or position
   event seen by the listener ``Reconciler`` installs for the duration of the reads).

Fills and settlements with a time ``<= requested_ms`` are always booked (idempotent by trade id /
by ticker and time), fills and settlements after it are left for the next pass. A local live order
the resting-orders read does not show is left alone when it was created or changed locally after
``requested_ms - read_lag_grace_ms`` (the read path lags the write path) and not after ``now_ms``:
a time in the future of the trader's clock (an order a previous run stored under a faster simulator
clock, ``run --speed``) is no evidence of a recent change, and waiting for the clock to catch up
would leave a phantom order holding cash and the stale-order check cancelling it. Otherwise:

* an acknowledged order (resting / partially filled) has left the book without fills to explain
  it: cancelled outside the trader;
* a pending / unknown order with no fills counts one "not found" read (``Ledger.on_not_found``),
  and is rejected only after ``misses_to_give_up`` passes -- unless a fill in its ticker belongs to
  an order id the ledger does not know (it may be that order's fill), which skips the count.

Cash is overwritten only when no ticker is hot and the ledger's cash did not change during the
reads; the target is the exchange's available balance minus what the ledger still reserves for
live orders the exchange does not show yet (so an in-flight create that later rests or is rejected
moves cash exactly once).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kalshiflow.domain.units import Count, Money
from kalshiflow.exchange.models_portfolio import Balance, Fill, MarketPosition, Order, Settlement
from kalshiflow.trader.calibration.drift import DriftEvent, DriftKind
from kalshiflow.trader.state.ledger import Ledger, SettlementData
from kalshiflow.trader.state.live_updates import fill_from_rest
from kalshiflow.trader.state.orders import OrderState, TrackedOrder


@dataclass(frozen=True, slots=True)
class ExchangeSnapshot:
    """What the reads returned, with the time they were requested."""

    requested_ms: int
    balance: Balance
    positions: tuple[MarketPosition, ...]
    resting_orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    settlements: tuple[Settlement, ...]


@dataclass(slots=True)
class LedgerActivity:
    """What the ledger did while the reads were in flight (filled by a ledger listener)."""

    tickers: set[str] = field(default_factory=set)
    cash_changed: bool = False


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    misses_to_give_up: int
    read_lag_grace_ms: int
    baseline: bool  # first pass of a fresh ledger: history is already in the balance, only mark it seen
    # The ledger never took the exchange's cash yet: what the first overwrite of cash and positions
    # changes is the baseline being taken, not disagreement (``DriftKind.INITIAL_SYNC``).
    first_sync: bool = False


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    events: tuple[DriftEvent, ...]
    hot_tickers: frozenset[str]
    deferred_fills: int
    deferred_settlements: int
    cash_deferred: bool
    newest_fill_ms: int | None  # watermarks of what was booked or marked seen
    newest_settlement_ms: int | None
    fills_marked_seen: int


SettlementKey = tuple[str, int]


def hot_tickers(snap: ExchangeSnapshot, activity: LedgerActivity) -> set[str]:
    """Tickers with activity newer than the snapshot request (rules 1-4 of the module docstring)."""
    t0 = snap.requested_ms
    hot = set(activity.tickers)
    hot.update(f.ticker for f in snap.fills if f.ts_ms > t0)
    hot.update(p.ticker for p in snap.positions if (p.last_updated_ms or 0) > t0)
    hot.update(
        o.ticker for o in snap.resting_orders if (o.created_ms or 0) > t0 or (o.last_update_ms or 0) > t0
    )
    return hot


def apply_snapshot(
    ledger: Ledger,
    snap: ExchangeSnapshot,
    activity: LedgerActivity,
    policy: SyncPolicy,
    seen_settlements: set[SettlementKey],
    now_ms: int,
) -> SyncOutcome:
    """Book what the ledger missed and overwrite what differs; returns every correction made."""
    events: list[DriftEvent] = []
    hot = hot_tickers(snap, activity)
    t0 = snap.requested_ms
    due_fills = sorted((f for f in snap.fills if f.ts_ms <= t0), key=lambda f: (f.ts_ms, f.trade_id))
    due_settlements = sorted((s for s in snap.settlements if s.settled_ms <= t0), key=lambda s: s.settled_ms)
    if policy.baseline:
        # Already in the balance and positions; recorded on the orders restored from the store (so
        # an order that filled while the trader was down is not "cancelled outside") and stored.
        for fill in due_fills:
            ledger.note_fill(fill_from_rest(fill))
        seen_settlements.update((s.ticker, s.settled_ms) for s in due_settlements)
    else:
        events += _book_fills(ledger, due_fills)
        events += _book_settlements(ledger, due_settlements, seen_settlements)
    resting = {o.order_id: o for o in snap.resting_orders}
    events += _sync_resting(ledger, resting, hot, now_ms)
    unlinked = {f.ticker for f in snap.fills if ledger.order_by_exchange_id(f.order_id) is None}
    events += _sync_missing(ledger, resting, hot, unlinked, policy, t0, now_ms)
    events += _sync_positions(ledger, snap.positions, hot, now_ms, policy.first_sync)
    cash_deferred = bool(hot) or activity.cash_changed
    if not cash_deferred:
        events += _sync_cash(ledger, snap.balance, resting, now_ms, policy.first_sync)
    return SyncOutcome(
        events=tuple(events),
        hot_tickers=frozenset(hot),
        deferred_fills=sum(1 for f in snap.fills if f.ts_ms > t0),
        deferred_settlements=sum(1 for s in snap.settlements if s.settled_ms > t0),
        cash_deferred=cash_deferred,
        newest_fill_ms=max((f.ts_ms for f in due_fills), default=None),
        newest_settlement_ms=max((s.settled_ms for s in due_settlements), default=None),
        fills_marked_seen=len(due_fills) if policy.baseline else 0,
    )


def _book_fills(ledger: Ledger, fills: list[Fill]) -> list[DriftEvent]:
    events = []
    for fill in fills:
        if not ledger.apply_fill(fill_from_rest(fill)):
            continue  # already booked from the fill channel
        sign = 1 if fill.book_side.value == "bid" else -1
        events.append(
            DriftEvent(
                DriftKind.MISSED_FILL,
                fill.ticker,
                contracts=Count(sign * fill.count),
                money=Money(-fill.fee),
                after=f"{fill.book_side} {fill.count.fp_str()} @ {fill.yes_price.dollars_str()}",
                detail="fill seen only through REST; booked",
                ref=fill.trade_id,
            )
        )
    return events


def _book_settlements(
    ledger: Ledger, settlements: list[Settlement], seen: set[SettlementKey]
) -> list[DriftEvent]:
    events = []
    for s in settlements:
        key = (s.ticker, s.settled_ms)
        if key in seen:
            continue
        seen.add(key)
        before = ledger.position(s.ticker)
        held, cost = before.position, before.cost_basis
        ledger.apply_settlement(SettlementData(s.ticker, s.market_result, s.revenue, s.settled_ms))
        events.append(
            DriftEvent(
                DriftKind.SETTLEMENT,
                s.ticker,
                contracts=Count(-held),
                money=s.revenue,
                before=f"{held.fp_str()} contracts, cost {cost.dollars_str(6)}",
                after=f"settled {s.market_result}, revenue {s.revenue.dollars_str(6)}",
                detail=f"realized {Money(s.revenue - cost).dollars_str(6)} after fees",
            )
        )
    return events


def _describe(order: TrackedOrder) -> str:
    return (
        f"{order.state} {order.side} {order.yes_price.dollars_str()} "
        f"filled {order.filled.fp_str()}/{order.count.fp_str()}"
    )


def _sync_resting(ledger: Ledger, resting: dict[str, Order], hot: set[str], now_ms: int) -> list[DriftEvent]:
    events = []
    for ex in resting.values():
        if ex.ticker in hot:
            continue
        local = ledger.order_by_exchange_id(ex.order_id)
        if local is None and ex.client_order_id:
            local = ledger.orders.get(ex.client_order_id)
        if local is not None and local.is_terminal:
            continue  # a terminal local order cannot rest again; its ticker will show the drift
        before = None if local is None else _describe(local)
        was_in_flight = local is not None and local.state in (OrderState.PENDING, OrderState.UNKNOWN)
        if local is not None and not was_in_flight and _same(local, ex):
            continue
        cash_before = ledger.cash
        order = ledger.on_exchange_order(
            order_id=ex.order_id,
            client_order_id=ex.client_order_id,
            ticker=ex.ticker,
            side=ex.book_side,
            yes_price=ex.yes_price,
            status=ex.status.value,
            filled=ex.fill_count,
            remaining=ex.remaining_count,
            initial=ex.initial_count,
            now_ms=now_ms,
            order_group_id=ex.order_group_id,
            created_ms=ex.created_ms,
        )
        if local is None and ledger.is_own(ex.client_order_id):
            kind, detail = DriftKind.ORDER_RESOLVED, "order of ours (client_order_id prefix) found resting"
        elif local is None:
            kind, detail = DriftKind.EXTERNAL_ORDER, "resting order placed outside the trader; adopted"
        elif was_in_flight:
            kind, detail = DriftKind.ORDER_RESOLVED, "in-flight order found resting"
        else:
            kind, detail = DriftKind.ORDER_CHANGED, "order changed outside the trader's view"
        events.append(
            DriftEvent(
                kind,
                ex.ticker,
                contracts=ex.remaining_count,
                money=Money(ledger.cash - cash_before),
                before=before or "",
                after=_describe(order),
                detail=detail,
                ref=ex.order_id,
            )
        )
    return events


def _same(local: TrackedOrder, ex: Order) -> bool:
    return (
        local.yes_price == ex.yes_price
        and local.count == ex.initial_count
        and local.filled == ex.fill_count
        and local.remaining == ex.remaining_count
        and local.state in (OrderState.RESTING, OrderState.PARTIALLY_FILLED)
    )


def _sync_missing(
    ledger: Ledger,
    resting: dict[str, Order],
    hot: set[str],
    unlinked_fill_tickers: set[str],
    policy: SyncPolicy,
    t0: int,
    now_ms: int,
) -> list[DriftEvent]:
    events = []
    settled_before = t0 - policy.read_lag_grace_ms
    for order in ledger.live_orders():
        if order.order_id is not None and order.order_id in resting:
            continue
        if order.ticker in hot or settled_before < max(order.created_ms, order.updated_ms) <= now_ms:
            continue
        if order.state in (OrderState.RESTING, OrderState.PARTIALLY_FILLED):
            events.append(_canceled_outside(ledger, order, now_ms))
        elif order.filled == 0 and order.ticker not in unlinked_fill_tickers:
            events += _count_miss(ledger, order, policy.misses_to_give_up, now_ms)
    return events


def _canceled_outside(ledger: Ledger, order: TrackedOrder, now_ms: int) -> DriftEvent:
    before, cash_before, remaining = _describe(order), ledger.cash, order.remaining
    ledger.on_canceled(order.client_order_id, now_ms)
    return DriftEvent(
        DriftKind.ORDER_CANCELED_OUTSIDE,
        order.ticker,
        contracts=Count(-remaining),
        money=Money(ledger.cash - cash_before),
        before=before,
        after=_describe(order),
        detail="no longer resting and no fill explains it: cancelled outside the trader",
        ref=order.order_id or order.client_order_id,
    )


def _count_miss(ledger: Ledger, order: TrackedOrder, misses: int, now_ms: int) -> list[DriftEvent]:
    before, cash_before = _describe(order), ledger.cash
    ledger.on_not_found(order.client_order_id, now_ms, misses)
    if order.state is not OrderState.REJECTED:
        return []
    return [
        DriftEvent(
            DriftKind.ORDER_GONE,
            order.ticker,
            contracts=Count(-order.count),
            money=Money(ledger.cash - cash_before),
            before=before,
            after=_describe(order),
            detail=order.detail,
            ref=order.client_order_id,
        )
    ]


def _sync_positions(
    ledger: Ledger, positions: tuple[MarketPosition, ...], hot: set[str], now_ms: int, first_sync: bool
) -> list[DriftEvent]:
    events = []
    exchange = {p.ticker: p for p in positions}
    tickers = {t for t, p in exchange.items() if p.position != 0}
    tickers.update(p.ticker for p in ledger.open_positions())
    for ticker in sorted(tickers - hot):
        ex = exchange.get(ticker)
        ex_pos = ex.position if ex is not None else Count(0)
        ex_exposure = ex.market_exposure if ex is not None else Money(0)
        local = ledger.position(ticker)
        old_pos, old_exposure, old_fees = local.position, local.exposure, local.cost_basis - local.exposure
        if old_pos == ex_pos and old_exposure == ex_exposure:
            continue
        before = f"{old_pos.fp_str()} cost {old_exposure.dollars_str(6)}"
        fee_part = _kept_fee_part(old_pos, old_fees, ex_pos)
        ledger.overwrite_position(ticker, ex_pos, Money(ex_exposure + fee_part), now_ms, exposure=ex_exposure)
        events.append(
            DriftEvent(
                DriftKind.INITIAL_SYNC if first_sync else DriftKind.POSITION,
                ticker,
                contracts=Count(ex_pos - old_pos),
                money=Money(ex_exposure - old_exposure),
                before=before,
                after=f"{ex_pos.fp_str()} cost {ex_exposure.dollars_str(6)}",
                detail="position differs from the exchange; overwritten (cost is fee-free exposure)",
            )
        )
    return events


def _kept_fee_part(old_position: int, old_fees: int, new_position: int) -> int:
    """Opening fees carried into the overwritten cost basis: pro rata if the side is unchanged, else 0.

    The exchange reports cost without fees, so fees of an adopted position are unknown; keeping the
    ledger's share for a same-side position keeps P&L figures after fees where we know them.
    """
    if old_position == 0 or new_position == 0 or (old_position > 0) != (new_position > 0):
        return 0
    return old_fees * min(abs(new_position), abs(old_position)) // abs(old_position)


def _sync_cash(
    ledger: Ledger, balance: Balance, resting: dict[str, Order], now_ms: int, first_sync: bool
) -> list[DriftEvent]:
    unseen_reserved = sum(
        o.reserved for o in ledger.live_orders() if o.order_id is None or o.order_id not in resting
    )
    target = Money(balance.balance - unseen_reserved)
    before = ledger.cash
    drift = ledger.overwrite_cash(target, now_ms)
    if drift == 0:
        return []
    return [
        DriftEvent(
            DriftKind.INITIAL_SYNC if first_sync else DriftKind.CASH,
            "",
            money=drift,
            before=before.dollars_str(6),
            after=target.dollars_str(6),
            detail=f"exchange balance {balance.balance.dollars_str(6)}, in-flight reserved "
            f"{Money(unseen_reserved).dollars_str(6)}",
        )
    ]
