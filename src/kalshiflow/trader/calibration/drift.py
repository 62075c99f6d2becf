"""Drift: every correction reconciliation makes to the ledger, as a small frozen value with a reason.

Reconciliation never fixes the ledger silently. Each difference it finds between the exchange and
the ledger becomes one ``DriftEvent`` carrying its size (contracts and money, signed as
*exchange minus ledger*), the value before and after, and a human-readable detail. The store, the
status console and the tests read the same values (STYLE: decisions are data).

Some corrections are not the ledger being wrong but the ledger learning something it could not have
known (a settlement, an in-flight order resolved). Those are still recorded, but ``is_drift`` is
False so drift totals only count real disagreements.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from kalshiflow.domain.units import ZERO_COUNT, ZERO_MONEY, Count, Money


class DriftKind(StrEnum):
    CASH = "cash"  # available cash differed from the estimate
    POSITION = "position"  # net contracts or fee-free cost differed
    EXTERNAL_ORDER = "external_order"  # a resting order the trader did not place, now adopted
    ORDER_CHANGED = "order_changed"  # an order of ours was amended or filled outside our view
    ORDER_CANCELED_OUTSIDE = "order_canceled_outside"  # ours, no longer resting, no fills to explain it
    MISSED_FILL = "missed_fill"  # a fill only REST showed; booked now
    SETTLEMENT = "settlement"  # a settlement booked (news, not disagreement)
    ORDER_RESOLVED = "order_resolved"  # a pending/unknown order found on the exchange (news)
    ORDER_GONE = "order_gone"  # a pending/unknown order not found after N reads: rejected
    INITIAL_SYNC = "initial_sync"  # the first sync of a fresh ledger took the exchange's cash/position


# Kinds that mean "the ledger had learned something the exchange knew first" rather than "it was wrong".
NEWS_KINDS: frozenset[DriftKind] = frozenset(
    {DriftKind.SETTLEMENT, DriftKind.ORDER_RESOLVED, DriftKind.INITIAL_SYNC}
)


@dataclass(frozen=True, slots=True)
class DriftEvent:
    """One correction. ``contracts`` and ``money`` are signed exchange-minus-ledger sizes."""

    kind: DriftKind
    ticker: str
    contracts: Count = ZERO_COUNT
    money: Money = ZERO_MONEY
    before: str = ""
    after: str = ""
    detail: str = ""
    ref: str = ""  # order id, client_order_id or trade id the correction is about

    @property
    def is_drift(self) -> bool:
        return self.kind not in NEWS_KINDS

    @property
    def count_e2(self) -> int:
        """``contracts`` as the store's column (0.01 contract units)."""
        return int(self.contracts)

    @property
    def money_e6(self) -> int:
        """``money`` as the store's column ($0.000001 units)."""
        return int(self.money)


@dataclass(frozen=True, slots=True)
class DriftTotals:
    """Sums over one pass: what the status line and the dashboard show."""

    cash: Money  # signed cash correction (exchange minus estimate)
    position_contracts: Count  # sum of |contract differences| over positions
    position_cost: Money  # sum of |fee-free cost differences| over positions
    missed_fills: int
    external_orders: int
    orders_canceled_outside: int
    settlements: int
    by_kind: tuple[tuple[DriftKind, int], ...]

    @property
    def is_zero(self) -> bool:
        return all(count == 0 for kind, count in self.by_kind if kind not in NEWS_KINDS)

    @classmethod
    def of(cls, events: Iterable[DriftEvent]) -> DriftTotals:
        items = list(events)
        counts = Counter(e.kind for e in items)
        positions = [e for e in items if e.kind is DriftKind.POSITION]
        return cls(
            cash=Money(sum(e.money for e in items if e.kind is DriftKind.CASH)),
            position_contracts=Count(sum(abs(e.contracts) for e in positions)),
            position_cost=Money(sum(abs(e.money) for e in positions)),
            missed_fills=counts[DriftKind.MISSED_FILL],
            external_orders=counts[DriftKind.EXTERNAL_ORDER],
            orders_canceled_outside=counts[DriftKind.ORDER_CANCELED_OUTSIDE],
            settlements=counts[DriftKind.SETTLEMENT],
            by_kind=tuple(sorted(counts.items())),
        )


# How the console names each kind's corrections, singular and plural. The baseline of a fresh ledger
# is not listed (it is not a correction), nor cash (the line shows the cash drift in dollars).
_CONSOLE_NAMES: dict[DriftKind, tuple[str, str]] = {
    DriftKind.POSITION: ("position overwritten", "positions overwritten"),
    DriftKind.EXTERNAL_ORDER: ("external order adopted", "external orders adopted"),
    DriftKind.ORDER_CHANGED: ("order changed outside", "orders changed outside"),
    DriftKind.ORDER_CANCELED_OUTSIDE: ("order cancelled outside", "orders cancelled outside"),
    DriftKind.MISSED_FILL: ("missed fill booked", "missed fills booked"),
    DriftKind.SETTLEMENT: ("settlement booked", "settlements booked"),
    DriftKind.ORDER_RESOLVED: ("order in flight resolved", "orders in flight resolved"),
    DriftKind.ORDER_GONE: ("order in flight not found, given up", "orders in flight not found, given up"),
}


def describe_corrections(events: Iterable[DriftEvent]) -> str:
    """``"7 corrections: 6 orders cancelled outside, 1 missed fill booked"``, or "" when there are
    none: the console says what a calibration changed, not only the cash drift."""
    counts = Counter(e.kind for e in events if e.kind in _CONSOLE_NAMES)
    if not counts:
        return ""
    total = sum(counts.values())
    parts = [
        f"{n} {_CONSOLE_NAMES[kind][n != 1]}" for kind, n in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    return f"{total} {'correction' if total == 1 else 'corrections'}: {', '.join(parts)}"
