"""The core's position views, valuations and risk context equal what per-call loops compute.

``PositionViews`` keeps each open position's ``PositionView`` and valuation current from the
ledger's events instead of rebuilding them on every decision, and the risk context reads the
ledger's running totals. Both must stay exactly what the per-call construction gave: the same
views in the same (ledger) order, the same unrealized P&L as the book moves, the same sums.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction

import pytest

from kalshiflow.clock import ManualClock
from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.events.ledger import FillData, SettlementData
from kalshiflow.exchange.models_market import Market, MarketStatus
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.features.valuation import (
    BookView,
    MarketView,
    PositionView,
    unrealized_at_exit,
    value_position,
)
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.state import position_views
from kalshiflow.trader.state.orders import OrderPurpose

GRID = PriceGrid.named("linear_cent")
TICKERS = ("A", "B", "C")


def market(ticker: str, now_ms: int) -> Market:
    zero = Price(0)
    return Market(
        ticker, "EV", MarketStatus.ACTIVE, now_ms - 1, now_ms + 86_400_000, GRID,
        zero, zero, zero, zero, Count(0), Count(0), zero, Count(0), Count(0), Count(0),
    )  # fmt: skip


def reference_views(core: TraderCore) -> list[tuple[str, PositionView]]:
    """``position_views()`` as it was built on every call before it was kept incrementally."""
    now = core.clock.now_ms()
    return [
        (
            p.ticker,
            PositionView(
                p.ticker,
                p.position,
                p.cost_basis,
                now if p.opened_at_ms is None else p.opened_at_ms,
                p.fees_paid,
                core.entries.reference(p.ticker),
            ),
        )
        for p in core.ledger.open_positions()
    ]


def reference_unrealized(core: TraderCore) -> int:
    total = 0
    for ticker, view in reference_views(core):
        book, market_view = core.books.book(ticker), core.market_views().get(ticker)
        if book is not None and market_view is not None:
            valuation = value_position(view, book, market_view)
            total += 0 if valuation is None else valuation.unrealized
    return total


def assert_like_the_loops(core: TraderCore) -> None:
    assert list(core.position_views().items()) == reference_views(core)
    ledger = core.ledger
    cost = sum(p.cost_basis for p in ledger.open_positions())
    unrealized = reference_unrealized(core)
    pnl = core.pnl_view()
    assert pnl.unrealized == unrealized
    assert pnl.equity == ledger.cash + sum(o.reserved for o in ledger.live_orders()) + cost + unrealized
    for ticker in TICKERS:
        ctx = core.risk_context(ticker)
        assert ctx.cost_held() == sum(v.cost_basis for v in ctx.positions.values() if v.position != 0)
        assert ctx.contracts_held() == sum(abs(v.position) for v in ctx.positions.values())
        opening = [o for o in ledger.live_orders() if o.purpose is OrderPurpose.OPEN]
        assert ctx.market_state.resting_open_contracts == sum(
            o.remaining for o in opening if o.ticker == ticker
        )
        assert ctx.total_resting_open_contracts == sum(o.remaining for o in opening)


def trader_on_books() -> tuple[ManualClock, BookStore, KalshiRestClient, TraderCore]:
    """A core with $1,000 over the markets' books (YES bid 40¢, NO bid 50¢); its REST client is never called."""
    clock = ManualClock()
    books = BookStore(clock)
    now = clock.now_ms()
    for ticker in TICKERS:
        books.register(ticker, GRID)
        books.apply_snapshot(
            OrderbookSnapshot(1, 1, ticker, ((Price(4_000), Count(500)),), ((Price(5_000), Count(500)),))
        )
    rest = KalshiRestClient("http://127.0.0.1:1/trade-api/v2", clock=clock)
    core = TraderCore(rest, clock, books, {t: market(t, now) for t in TICKERS})
    core.ledger.overwrite_cash(Money.dollars(1_000), now)
    return clock, books, rest, core


def fill(n: int, ticker: str, side: BookSide, price: int, count: int, ts_ms: int) -> FillData:
    return FillData(f"tr-{n}", f"o-{n}", ticker, side, Price(price), Count(count), True, Money(10_000), ts_ms)


async def test_views_valuations_and_sums_follow_fills_books_settlements_and_entries() -> None:
    clock, books, rest, core = trader_on_books()
    now = clock.now_ms()
    assert_like_the_loops(core)
    core.ledger.apply_fill(fill(1, "B", BookSide.BID, 5_000, 1_000, now))  # +YES in B
    core.ledger.apply_fill(fill(2, "A", BookSide.ASK, 4_000, 300, now))  # -NO in A
    assert_like_the_loops(core)
    await asyncio.sleep(0)  # the core's fill consumer runs: entry references move
    assert core.entries.reference("B") is not None
    assert_like_the_loops(core)
    books.apply_delta(OrderbookDelta(1, 2, "B", OutcomeSide.YES, Price(4_500), Count(100)))  # exit price up
    assert_like_the_loops(core)
    books.apply_delta(OrderbookDelta(1, 3, "A", OutcomeSide.NO, Price(5_000), Count(-500)))  # no NO bid left
    assert_like_the_loops(core)
    clock.advance(5)
    core.ledger.apply_fill(fill(3, "B", BookSide.ASK, 4_500, 1_000, clock.now_ms()))  # B closed
    core.ledger.apply_fill(fill(4, "C", BookSide.BID, 4_500, 200, clock.now_ms()))
    assert_like_the_loops(core)
    core.ledger.apply_fill(fill(5, "B", BookSide.BID, 5_000, 100, clock.now_ms()))  # B reopened: ledger order
    await asyncio.sleep(0)
    assert_like_the_loops(core)
    core.ledger.apply_settlement(SettlementData("C", "yes", Money(2_000_000), clock.now_ms()))
    core.ledger.overwrite_position("A", Count(-700), Money(4_000_000), clock.now_ms())
    assert_like_the_loops(core)
    assert [t for t, _ in core.position_views().items()] == ["B", "A"]
    await rest.aclose()


@pytest.mark.parametrize("side", [OutcomeSide.YES, OutcomeSide.NO])
async def test_book_change_behind_the_exit_price_revalues_nothing(
    side: OutcomeSide, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a move of the exit price (or of the view or the fees) re-values a held position."""
    valued: list[str] = []

    def counting(view: PositionView, book: BookView, market_view: MarketView) -> int | None:
        valued.append(view.ticker)
        return unrealized_at_exit(view, book, market_view)

    monkeypatch.setattr(position_views, "unrealized_at_exit", counting)
    clock, books, rest, core = trader_on_books()
    now = clock.now_ms()
    book_side = BookSide.BID if side is OutcomeSide.YES else BookSide.ASK
    core.ledger.apply_fill(fill(1, "B", book_side, 4_000 if side is OutcomeSide.YES else 5_000, 1_000, now))
    await asyncio.sleep(0)
    assert_like_the_loops(core)
    valued.clear()
    best = 4_000 if side is OutcomeSide.YES else 5_000
    seq = 2
    for change in (Count(100), Count(-50)):  # behind the touch, then the touch's size: same price
        for price in (best - 300, best):
            books.apply_delta(OrderbookDelta(1, seq, "B", side, Price(price), change))
            seq += 1
            assert_like_the_loops(core)
    assert valued == []
    books.apply_delta(OrderbookDelta(1, seq, "B", side, Price(best + 100), Count(100)))  # exit price up
    assert_like_the_loops(core)
    assert valued == ["B"]
    core.fees.set("B", FeeType.QUADRATIC, Fraction(2))  # the market views are rebuilt: fees may differ
    assert_like_the_loops(core)
    assert valued == ["B", "B"]
    await rest.aclose()
