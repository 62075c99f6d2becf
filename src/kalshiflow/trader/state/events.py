"""What the ledger reports after each change, for the store, the dashboard and tests.

Listeners observe; they never decide. The values point at live records, so a listener that keeps
one must copy what it needs at the time it is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kalshiflow.domain.units import Money

if TYPE_CHECKING:
    from kalshiflow.trader.state.ledger import FillData, PositionRecord, SettlementData
    from kalshiflow.trader.state.orders import TrackedOrder


@dataclass(frozen=True, slots=True)
class OrderChanged:
    order: TrackedOrder
    ts_ms: int


@dataclass(frozen=True, slots=True)
class FillBooked:
    fill: FillData
    order: TrackedOrder | None  # None: a fill of an order this trader does not know (yet)


@dataclass(frozen=True, slots=True)
class PositionChanged:
    position: PositionRecord
    ts_ms: int


@dataclass(frozen=True, slots=True)
class CashChanged:
    cash: Money
    ts_ms: int
    cause: str  # fill, settlement, reconciliation


@dataclass(frozen=True, slots=True)
class SettlementBooked:
    settlement: SettlementData


LedgerEvent = OrderChanged | FillBooked | PositionChanged | CashChanged | SettlementBooked
