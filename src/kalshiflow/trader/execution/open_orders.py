"""Which resting opening orders to cancel: too old, or left behind by the book.

Why: an opening limit order that missed is a stale bet -- it fills only when the market comes back
to it, typically when that is bad news for it (adverse selection), and it holds cash meanwhile. So an
opening order lives at most ``ttl_s``, and one whose price is more than ``max_behind_ticks`` behind
the touch of its side is cancelled; the policy re-decides at the new touch on the next book change
(cancel and re-price, never amend blindly). A pure function over plain values.

A cancel that leaves the order live (the exchange answered 404 to the DELETE and to the read-back,
or refused) would fail the same way on the next tick: ``CancelBackoff`` spaces the tries of each
order out, doubling the wait per failure, until a calibration settles the order.

"Behind the touch": a YES-book bid (buying YES) is behind when the best YES bid is above it; a
YES-book ask (buying NO, i.e. a NO bid at 1 - p) when the best YES ask is below it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.features.valuation import BookView
from kalshiflow.trader.config import OpenOrdersConfig
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder


class StaleReason(StrEnum):
    EXPIRED = "expired"
    BEHIND_TOUCH = "behind_touch"


@dataclass(frozen=True, slots=True)
class StaleOrder:
    client_order_id: str
    ticker: str
    reason: StaleReason
    detail: str


def stale_open_orders(
    orders: Iterable[TrackedOrder],
    books: Mapping[str, BookView],
    grids: Mapping[str, PriceGrid],
    now_ms: int,
    config: OpenOrdersConfig,
) -> list[StaleOrder]:
    stale: list[StaleOrder] = []
    for order in orders:
        if order.purpose is not OrderPurpose.OPEN or order.order_id is None or not order.is_live:
            continue
        age_ms = now_ms - (order.sent_ms or order.created_ms)
        if age_ms >= config.ttl_s * 1000:
            stale.append(
                StaleOrder(order.client_order_id, order.ticker, StaleReason.EXPIRED, f"{age_ms}ms old")
            )
            continue
        book, grid = books.get(order.ticker), grids.get(order.ticker)
        if book is None or grid is None or not book.valid:
            continue
        price = int(order.yes_price)
        if order.side is BookSide.BID:
            touch = book.best_bid(OutcomeSide.YES)
            behind = 0 if touch is None else int(touch) - price
        else:
            touch = book.best_ask(OutcomeSide.YES)
            behind = 0 if touch is None else price - int(touch)
        limit = config.max_behind_ticks * int(grid.min_step_at(price))
        if behind > limit:
            detail = f"{behind / 100:.2f}¢ behind the touch"
            stale.append(StaleOrder(order.client_order_id, order.ticker, StaleReason.BEHIND_TOUCH, detail))
    return stale


@dataclass(slots=True)
class CancelBackoff:
    """When each stale order's cancel may be tried again after failures (``first_ms`` doubling up to
    ``max_ms``); an order whose cancel has not failed is always due."""

    first_ms: int = 1_000
    max_ms: int = 60_000
    _failures: dict[str, tuple[int, int]] = field(default_factory=dict)  # cid -> (failures, next try)

    def due(self, client_order_id: str, now_ms: int) -> bool:
        entry = self._failures.get(client_order_id)
        return entry is None or now_ms >= entry[1]

    def failures(self, client_order_id: str) -> int:
        """Failed cancels of this order so far (0: the next one is its first try)."""
        entry = self._failures.get(client_order_id)
        return 0 if entry is None else entry[0]

    def failed(self, client_order_id: str, now_ms: int) -> int:
        """Record one more failed cancel; returns the wait in ms before the next try."""
        failures = self._failures.get(client_order_id, (0, 0))[0] + 1
        wait_ms = min(self.max_ms, self.first_ms << min(failures - 1, 30))
        self._failures[client_order_id] = (failures, now_ms + wait_ms)
        return wait_ms

    def forget_settled(self, is_live: Callable[[str], bool]) -> None:
        """Forget orders no longer live (cancelled, filled or settled by a calibration)."""
        for cid in [c for c in self._failures if not is_live(c)]:
            del self._failures[cid]
