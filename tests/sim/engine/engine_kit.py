"""Shared builders for the in-process engine tests: markets by hand, orders in a side's own terms.

Orders are described by the outcome they buy: ``BookSide.BID`` buys YES at a YES price,
``BookSide.ASK`` buys NO at a NO price (V2 YES price ``1 - price``). Written this way, one test body
covers both legs, and ``OPPOSITE_PRICE`` of a price is what the other side pays to cross it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from kalshiflow.clock import ManualClock
from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import PRICE_SCALE, Count, Money, Price
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import Engine, OrderRequest, OrderResult
from kalshiflow.sim.state import SimEvent, SimMarket, SimOrder, SimSeries

T0 = 1_790_000_000_000
HOUR_MS = 3_600_000
TICKER = "KXTEST-26JAN01-T50"
GTC = TimeInForce.GOOD_TILL_CANCELED
IOC = TimeInForce.IMMEDIATE_OR_CANCEL
FOK = TimeInForce.FILL_OR_KILL
TAKER_AT_CROSS = SelfTradePrevention.TAKER_AT_CROSS
MAKER = SelfTradePrevention.MAKER
BID = BookSide.BID
ASK = BookSide.ASK
DOLLAR_PER_COUNT_UNIT = PRICE_SCALE  # $1 x 0.01 contract = $0.01 = 10_000 Money


def price(text: str) -> int:
    return int(Price.parse(text))


def count(text: str) -> int:
    return int(Count.parse(text))


def dollars(text: str) -> int:
    return int(Money.parse(text))


def yes_price(side: BookSide, own_price: int) -> int:
    """The V2 YES price of an order on ``side`` that pays ``own_price`` for its outcome."""
    return own_price if side is BookSide.BID else PRICE_SCALE - own_price


def make_market(
    engine: Engine,
    ticker: str = TICKER,
    *,
    grid: str = "linear_cent",
    fee_type: FeeType = FeeType.QUADRATIC,
    fee_multiplier: Fraction = Fraction(1),
    close_in_ms: int = HOUR_MS,
) -> SimMarket:
    now = engine.clock.now_ms()
    series_ticker = ticker.split("-")[0] + ("M" if fee_type is FeeType.QUADRATIC_WITH_MAKER_FEES else "")
    series = SimSeries(series_ticker, "Test series", fee_type=fee_type, fee_multiplier=fee_multiplier)
    event = SimEvent(f"{ticker}-EV", series.ticker, "Test event")
    market = SimMarket(
        ticker=ticker,
        event_ticker=event.event_ticker,
        market_id=f"id-{ticker}",
        title="Test market",
        yes_sub_title="Yes",
        no_sub_title="No",
        grid=PriceGrid.named(grid),
        open_ms=now - 1_000,
        close_ms=now + close_in_ms,
        created_ms=now - 2_000,
        settlement_timer_s=60,
    )
    engine.add_market(series, event, market)
    return market


def make_engine(
    *,
    grid: str = "linear_cent",
    fee_type: FeeType = FeeType.QUADRATIC,
    fee_multiplier: Fraction = Fraction(1),
    accounts: tuple[str, ...] = ("alice", "bob", "carol"),
    balance: int = 1_000 * 1_000_000,
    balance_precision: int = 100,
    tickers: tuple[str, ...] = (TICKER,),
) -> tuple[Engine, ManualClock]:
    """An engine at ``T0`` with active markets and funded accounts."""
    clock = ManualClock(T0)
    engine = Engine(clock, seed=7)
    for ticker in tickers:
        make_market(engine, ticker, grid=grid, fee_type=fee_type, fee_multiplier=fee_multiplier)
    for account_id in accounts:
        engine.add_account(account_id, balance, balance_precision)
    lifecycle.advance(engine, clock.now_ms())
    return engine, clock


def request(
    side: BookSide,
    own_price: int,
    size: int,
    *,
    ticker: str = TICKER,
    tif: TimeInForce = GTC,
    stp: SelfTradePrevention = TAKER_AT_CROSS,
    **extra: Any,
) -> OrderRequest:
    return OrderRequest(
        ticker=ticker,
        side=side,
        yes_price=yes_price(side, own_price),
        count=size,
        time_in_force=tif,
        self_trade_prevention=stp,
        **extra,
    )


def place(
    engine: Engine,
    account_id: str,
    side: BookSide,
    own_price: int,
    size: int,
    **kwargs: Any,
) -> OrderResult:
    """Create an order that buys ``side``'s outcome at ``own_price``."""
    return engine.create_order(account_id, request(side, own_price, size, **kwargs))


def cross_price(own_price: int) -> int:
    """What the opposite side pays when it trades with an order at ``own_price``."""
    return PRICE_SCALE - own_price


def ladder_of(engine: Engine, side: BookSide, ticker: str = TICKER) -> list[tuple[int, int]]:
    """Aggregate levels (own price, size) of the ladder ``side`` rests on, best first."""
    book = engine.books[ticker]
    ladder = book.yes if side is BookSide.BID else book.no
    return list(ladder.descending())


def position(engine: Engine, account_id: str, ticker: str = TICKER) -> int:
    pos = engine.accounts[account_id].positions.get(ticker)
    return 0 if pos is None else pos.position


def signed(side: BookSide, size: int) -> int:
    """The position change of buying ``size`` of ``side``'s outcome."""
    return size if side is BookSide.BID else -size


@dataclass(frozen=True)
class OrderView:
    status: str
    yes_price: int
    remaining: int
    filled: int
    reserved: int
    priority: int
    client_order_id: str


def _order_view(order: SimOrder) -> OrderView:
    return OrderView(
        str(order.status),
        order.yes_price,
        order.remaining_count,
        order.fill_count,
        order.reserved,
        order.priority,
        order.client_order_id,
    )


def snapshot(engine: Engine) -> dict[str, object]:
    """Everything a rejected request must leave as it was."""
    books = {}
    for ticker, book in engine.books.items():
        books[ticker] = tuple(
            tuple(
                (p, lvl.total, tuple(o.order_id for _, o in lvl.queue if o.is_resting))
                for p, lvl in sorted(ladder.levels.items())
            )
            for ladder in (book.yes, book.no)
        )
    return {
        "balances": {a: acc.balance for a, acc in engine.accounts.items()},
        "positions": {
            a: {t: p.copy() for t, p in acc.positions.items()} for a, acc in engine.accounts.items()
        },
        "client_ids": {a: frozenset(acc.client_order_ids) for a, acc in engine.accounts.items()},
        "order_ids": {a: tuple(acc.order_ids) for a, acc in engine.accounts.items()},
        "fills": {a: len(acc.fills) for a, acc in engine.accounts.items()},
        "orders": {oid: _order_view(o) for oid, o in engine.orders.items()},
        "books": books,
        "groups": {
            g.group_id: (g.triggered, g.contracts_limit, g.window_total, frozenset(g.order_ids))
            for g in engine.groups.values()
        },
        "fees": engine.fees_collected,
        "deposits": engine.deposits,
        "trades": len(engine.trades),
        "markets": {
            t: (m.status, m.volume, m.open_interest, m.last_price) for t, m in engine.markets.items()
        },
    }
