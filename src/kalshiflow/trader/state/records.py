"""The ledger's own records: a position as the ledger keeps it, and the trade ids already booked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from kalshiflow.domain.units import ZERO_COUNT, ZERO_MONEY, Count, Money
from kalshiflow.events.ledger import PositionSnapshot


class TradeIds(AbstractSet[str]):
    """The trade ids seen, for idempotent booking: a set that forgets its oldest beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._ids: dict[str, None] = {}

    def __contains__(self, trade_id: object) -> bool:
        return trade_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def add(self, trade_id: str) -> None:
        self._ids[trade_id] = None
        if len(self._ids) > self._limit:
            del self._ids[next(iter(self._ids))]

    def update(self, trade_ids: Iterable[str]) -> None:
        for trade_id in trade_ids:
            self.add(trade_id)


@dataclass(slots=True)
class PositionRecord:
    ticker: str
    position: Count = ZERO_COUNT  # signed: + YES, - NO
    cost_basis: Money = ZERO_MONEY  # of the open position, fees to open it included
    exposure: Money = ZERO_MONEY  # the same without fees: Kalshi's market_exposure, for reconciliation
    realized_pnl: Money = ZERO_MONEY  # after fees
    fees_paid: Money = ZERO_MONEY
    opened_at_ms: int | None = None
    last_fill_ms: int | None = None

    @property
    def is_open(self) -> bool:
        return self.position != 0

    def snapshot(self, closing_reason: str | None = None) -> PositionSnapshot:
        return PositionSnapshot(
            self.ticker,
            self.position,
            self.cost_basis,
            self.exposure,
            self.realized_pnl,
            self.fees_paid,
            self.opened_at_ms,
            self.last_fill_ms,
            closing_reason,
        )
