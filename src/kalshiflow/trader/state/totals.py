"""Running totals over the ledger: cash held back, resting opening contracts, cost and size held.

Why: the risk gate runs before every order and reads these sums; computed per call they were
loops over every live order and every position (with a dict built per call), the largest step of
the decision path. Here each live order and each position contributes a *part*, remembered from
the last time it was counted; a change replaces the old part by the new one, so a sum moves by the
difference and costs O(1) however many orders or positions there are. Everything is an exact
integer; ``tests/trader/state/test_totals.py`` checks the sums against the plain loops over
randomized ledger histories.

The ledger counts an order after every change to it and a position after every change to it; an
order that is no longer live, or a flat position, contributes nothing but its realized P&L.
"""

from __future__ import annotations

from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder
from kalshiflow.trader.state.records import PositionRecord

_NO_PART = (0, 0)


class LedgerTotals:
    """``reserved``: cash held back by live orders ($0.000001). ``open_contracts``: remaining size
    of live opening orders (0.01 contract), in total and per market. ``held_cost`` / ``held_contracts``:
    cost basis and ``|position|`` summed over open positions. ``realized``: realized P&L of every
    position record, after fees."""

    __slots__ = (
        "_orders",
        "_positions",
        "held_contracts",
        "held_cost",
        "open_contracts",
        "open_contracts_in",
        "realized",
        "reserved",
    )

    def __init__(self) -> None:
        self.reserved = 0
        self.open_contracts = 0
        self.open_contracts_in: dict[str, int] = {}
        self.held_cost = 0
        self.held_contracts = 0
        self.realized = 0
        self._orders: dict[str, tuple[int, int]] = {}  # client_order_id -> (reserved, open remaining)
        self._positions: dict[str, tuple[int, int, int]] = {}  # ticker -> (cost, |position|, realized)

    def count_order(self, order: TrackedOrder, live: bool) -> None:
        """Take ``order``'s current part (nothing once it is not ``live``)."""
        cid = order.client_order_id
        old_reserved, old_open = self._orders.pop(cid, _NO_PART)
        reserved = int(order.reserved) if live else 0
        opening = int(order.remaining) if live and order.purpose is OrderPurpose.OPEN else 0
        self.reserved += reserved - old_reserved
        if opening != old_open:
            self.open_contracts += opening - old_open
            per_market = self.open_contracts_in
            left = per_market.get(order.ticker, 0) + opening - old_open
            if left:
                per_market[order.ticker] = left
            else:
                per_market.pop(order.ticker, None)
        if reserved or opening:  # a finished order leaves no entry behind
            self._orders[cid] = (reserved, opening)

    def count_position(self, pos: PositionRecord) -> None:
        """Take ``pos``'s current part: cost and size while open, realized P&L always."""
        held = int(pos.position)
        part = (
            (int(pos.cost_basis), abs(held), int(pos.realized_pnl)) if held else (0, 0, int(pos.realized_pnl))
        )
        old = self._positions.get(pos.ticker, (0, 0, 0))
        self._positions[pos.ticker] = part
        self.held_cost += part[0] - old[0]
        self.held_contracts += part[1] - old[1]
        self.realized += part[2] - old[2]
