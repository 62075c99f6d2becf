"""Market viability for opening orders: not closing soon, a usable book, a tight enough spread.

Opening a position only makes sense where it can also be closed: the market must stay open longer
than ``min_time_to_close_s`` (else the market-closing exit would undo it at once), the book must be
valid (never decide on a book with a known gap), two-sided when required, and the spread (the same
for YES and NO: 1 - best YES bid - best NO bid) at most ``max_spread_cents``.
"""

from __future__ import annotations

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.trader.config import RiskLimits
from kalshiflow.trader.risk.types import (
    OrderExposure,
    OrderIntent,
    RiskContext,
    RiskDecision,
    RiskReason,
    deny,
)

_PRICE_PER_CENT = PRICE_SCALE // 100


class MarketViability:
    name = "market_viability"
    short_desc = "market not closing soon, valid two-sided book, spread within limit"
    applies_to_closing = False

    def check(
        self, intent: OrderIntent, exposure: OrderExposure, ctx: RiskContext, limits: RiskLimits, now_ms: int
    ) -> RiskDecision | None:
        market = ctx.market
        if market is None:
            return deny(self.name, RiskReason.MARKET_UNKNOWN, f"no market data for {intent.ticker}")
        to_close_ms = market.close_time_ms - now_ms
        if to_close_ms <= limits.min_time_to_close_s * 1000:
            return deny(
                self.name,
                RiskReason.MARKET_CLOSING_SOON,
                f"closes in {max(to_close_ms, 0) // 1000}s <= {limits.min_time_to_close_s}s",
            )
        book = ctx.book
        if book is None or not book.valid:
            return deny(self.name, RiskReason.BOOK_INVALID, "no valid order book")
        yes_bid, no_bid = book.best_bid(OutcomeSide.YES), book.best_bid(OutcomeSide.NO)
        if yes_bid is None or no_bid is None:
            if limits.require_two_sided_book:
                return deny(self.name, RiskReason.BOOK_ONE_SIDED, "book has bids on one side only")
            return None
        spread = PRICE_SCALE - yes_bid - no_bid
        if spread > limits.max_spread_cents * _PRICE_PER_CENT:
            return deny(
                self.name,
                RiskReason.SPREAD_TOO_WIDE,
                f"spread {spread / _PRICE_PER_CENT:.2f}c > {limits.max_spread_cents}c",
            )
        return None
