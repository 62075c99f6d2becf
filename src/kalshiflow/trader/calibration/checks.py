"""Step 2 of calibration: pure checks over the synced ledger, markets and books.

Three questions decide whether the trader may open new exposure after a calibration: are the markets
it watches tradable (active, not closing soon, a two-sided book), is the portfolio healthy (every
position has a bid to exit into, no closing order has hung too long), and is there cash (available
cash covers the reserve and the next trade). Each answer is a frozen ``Finding`` with a reason code;
nothing here does I/O, so tests call these functions directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from kalshiflow.domain.fees import FeeType, trade_fee
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Money, Price, notional
from kalshiflow.exchange.models_market import Market, Orderbook
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.trader.state.ledger import PositionRecord
from kalshiflow.trader.state.orders import OrderPurpose, TrackedOrder


class FindingCode(StrEnum):
    VIABLE = "viable"
    MARKET_UNKNOWN = "market_unknown"
    NOT_ACTIVE = "not_active"
    CLOSING_SOON = "closing_soon"
    ONE_SIDED_BOOK = "one_sided_book"
    NO_EXIT_BID = "no_exit_bid"
    CLOSE_ORDER_STUCK = "close_order_stuck"
    CASH_BELOW_RESERVE = "cash_below_reserve"
    CASH_BELOW_NEXT_TRADE = "cash_below_next_trade"
    CASH_OK = "cash_ok"


@dataclass(frozen=True, slots=True)
class Finding:
    code: FindingCode
    ticker: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.code in (FindingCode.VIABLE, FindingCode.CASH_OK)


@dataclass(frozen=True, slots=True)
class TopOfBook:
    """Best YES and NO bids: all the checks need (a YES ask is 1 - the NO bid)."""

    yes_bid: Price | None
    no_bid: Price | None

    @property
    def two_sided(self) -> bool:
        return self.yes_bid is not None and self.no_bid is not None

    def exit_bid(self, position: int) -> Price | None:
        """The bid a position sells into: YES bid for +YES, NO bid for -NO."""
        return self.yes_bid if position > 0 else self.no_bid

    @classmethod
    def of_store_book(cls, book: OrderBook) -> TopOfBook:
        return cls(book.best_bid(OutcomeSide.YES), book.best_bid(OutcomeSide.NO))

    @classmethod
    def of_rest_book(cls, book: Orderbook) -> TopOfBook:
        return cls(book.best_yes_bid, book.best_no_bid)


_RESERVE = Money.dollars(100)
_NEXT_TRADE_CONTRACTS = Count.contracts(10)
_NEXT_TRADE_PRICE = Price.parse("1.0000")


@dataclass(frozen=True, slots=True)
class CheckLimits:
    """Thresholds of the checks (a local stand-in until ``CalibrationConfig`` carries them).

    * ``min_time_to_close_s`` (900 s): a market closing sooner is not viable for opening.
    * ``closing_order_max_age_s`` (300 s): a closing order older than this is stuck.
    * ``cash_reserve`` ($100): available cash must stay at or above this.
    * ``next_trade_contracts`` (10 contracts) at ``next_trade_price`` ($1.00 YES, the worst case):
      the next trade's cost plus taker fee must fit above the reserve.
    """

    min_time_to_close_s: int = 900
    closing_order_max_age_s: int = 300
    cash_reserve: Money = _RESERVE
    next_trade_contracts: Count = _NEXT_TRADE_CONTRACTS
    next_trade_price: Price = _NEXT_TRADE_PRICE

    @property
    def next_trade_cost(self) -> Money:
        fee = trade_fee(FeeType.QUADRATIC, True, self.next_trade_price, self.next_trade_contracts)
        return Money(notional(self.next_trade_price, self.next_trade_contracts) + fee)


def market_viability(
    tickers: Iterable[str],
    markets: Mapping[str, Market],
    books: Mapping[str, TopOfBook],
    now_ms: int,
    limits: CheckLimits,
) -> tuple[Finding, ...]:
    findings = []
    for ticker in tickers:
        market, book = markets.get(ticker), books.get(ticker)
        if market is None:
            findings.append(Finding(FindingCode.MARKET_UNKNOWN, ticker, "no such market"))
        elif not market.is_active:
            findings.append(Finding(FindingCode.NOT_ACTIVE, ticker, f"status {market.status}"))
        elif market.close_time_ms - now_ms < limits.min_time_to_close_s * 1000:
            left_s = (market.close_time_ms - now_ms) // 1000
            findings.append(Finding(FindingCode.CLOSING_SOON, ticker, f"closes in {left_s}s"))
        elif book is None or not book.two_sided:
            findings.append(Finding(FindingCode.ONE_SIDED_BOOK, ticker, "needs both a YES and a NO bid"))
        else:
            findings.append(Finding(FindingCode.VIABLE, ticker))
    return tuple(findings)


def portfolio_health(
    positions: Iterable[PositionRecord],
    orders: Iterable[TrackedOrder],
    books: Mapping[str, TopOfBook],
    now_ms: int,
    limits: CheckLimits,
) -> tuple[Finding, ...]:
    """Problems only: a position with nothing to exit into, a closing order that has hung too long."""
    findings = []
    for pos in positions:
        book = books.get(pos.ticker)
        if pos.position != 0 and (book is None or book.exit_bid(pos.position) is None):
            side = "YES" if pos.position > 0 else "NO"
            findings.append(Finding(FindingCode.NO_EXIT_BID, pos.ticker, f"no {side} bid to sell into"))
    for order in orders:
        if order.purpose is not OrderPurpose.CLOSE or not order.is_live:
            continue
        age_s = (now_ms - (order.sent_ms or order.created_ms)) // 1000
        if age_s > limits.closing_order_max_age_s:
            findings.append(
                Finding(
                    FindingCode.CLOSE_ORDER_STUCK,
                    order.ticker,
                    f"{order.client_order_id} unfilled for {age_s}s ({order.close_reason or 'close'})",
                )
            )
    return tuple(findings)


def cash_flow(cash: Money, limits: CheckLimits) -> Finding:
    if cash < limits.cash_reserve:
        return Finding(
            FindingCode.CASH_BELOW_RESERVE,
            detail=f"cash {cash.dollars_str(2)} < reserve {limits.cash_reserve.dollars_str(2)}",
        )
    needed = Money(limits.cash_reserve + limits.next_trade_cost)
    if cash < needed:
        return Finding(
            FindingCode.CASH_BELOW_NEXT_TRADE,
            detail=f"cash {cash.dollars_str(2)} < reserve + next trade {needed.dollars_str(2)}",
        )
    return Finding(FindingCode.CASH_OK, detail=f"cash {cash.dollars_str(2)}, needed {needed.dollars_str(2)}")
