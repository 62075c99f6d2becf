"""Builders for exit-rule and risk tests: real ``OrderBook``s, market and position views."""

from __future__ import annotations

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.features.valuation import MarketView, PositionView
from kalshiflow.marketdata.book import OrderBook

GRID = PriceGrid.named("linear_cent")
NOW = 1_700_000_000_000
SIDES = (OutcomeSide.YES, OutcomeSide.NO)
DEPTH = Count.contracts(1000)


def p(text: str) -> Price:
    return Price.parse(text)


def usd(text: str) -> Money:
    return Money.parse(text)


def market(
    ticker: str = "MKT",
    *,
    status: MarketStatus = MarketStatus.ACTIVE,
    close_in_s: int = 86_400,
    grid: PriceGrid = GRID,
    fee_type: FeeType = FeeType.QUADRATIC,
    now_ms: int = NOW,
) -> MarketView:
    return MarketView(ticker, status, now_ms + close_in_s * 1000, grid, fee_type)


def book(
    yes_bid: str | None,
    no_bid: str | None,
    *,
    ticker: str = "MKT",
    grid: PriceGrid = GRID,
) -> OrderBook:
    """A valid book with one level per ladder (or an empty ladder for None)."""
    ob = OrderBook(ticker, grid)
    yes = [(int(p(yes_bid)), int(DEPTH))] if yes_bid is not None else []
    no = [(int(p(no_bid)), int(DEPTH))] if no_bid is not None else []
    assert ob.apply_snapshot(yes, no, NOW)
    return ob


def held_book(
    side: OutcomeSide, held_bid: str | None, other_bid: str | None, *, ticker: str = "MKT"
) -> OrderBook:
    """A book where the bid of ``side`` (the side held) is ``held_bid``."""
    if side is OutcomeSide.YES:
        return book(held_bid, other_bid, ticker=ticker)
    return book(other_bid, held_bid, ticker=ticker)


def position(
    side: OutcomeSide,
    contracts: int | str,
    cost: str,
    *,
    ticker: str = "MKT",
    opened_at_ms: int = NOW,
) -> PositionView:
    count = Count.contracts(contracts) if isinstance(contracts, int) else Count.parse(contracts)
    signed = count if side is OutcomeSide.YES else Count(-count)
    return PositionView(ticker, signed, usd(cost), opened_at_ms)
