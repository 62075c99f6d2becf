"""What a position is worth if it were closed now, and the small read-only views it is computed from.

ARCHITECTURE §6: for a position of q contracts the *exit price* is the best bid of the side held
(the YES bid for a +YES position, the NO bid -- the best of the NO ladder -- for a -NO position).
Closing sells into that bid as a taker, so

    unrealized = q x exit price - cost basis - estimated exit fee (taker, at the exit price)
    pnl%       = 100 x unrealized / cost basis       (cost basis includes the fees paid to open)

Everything is exact: money in ``Money`` units, pnl% as a ``Fraction`` (never a float), so a rule's
boundary (exactly +20%) is decided without rounding. No bid means nothing to exit into: the
valuation is ``None`` rather than a guess.

The views below are the inputs rules and risk checks read. They are deliberately small and frozen
so the ledger, the market store and tests can all produce them without this module depending on any
of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Protocol

from kalshiflow.domain.fees import FeeType, trade_fee
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import MONEY_PER_PRICE_COUNT, ZERO_MONEY, Count, Money, Price, notional
from kalshiflow.exchange.models_market import MarketStatus


class BookView(Protocol):
    """The part of ``marketdata.book.OrderBook`` that exits and risk checks read."""

    @property
    def valid(self) -> bool: ...

    def best_bid(self, side: OutcomeSide) -> Price | None: ...

    def best_ask(self, side: OutcomeSide) -> Price | None: ...


class OrderView(Protocol):
    """One of our orders as an observation reads it; the trader's tracked orders satisfy it.

    A protocol rather than the trader's class, so features (and training) never import the trader.
    """

    @property
    def side(self) -> BookSide: ...

    @property
    def yes_price(self) -> Price: ...

    @property
    def count(self) -> Count: ...

    @property
    def filled(self) -> Count: ...

    @property
    def created_ms(self) -> int: ...

    @property
    def is_live(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class PositionView:
    """One open position: signed ``position`` (+YES / -NO), cost basis including opening fees.

    ``entry_exit_price``: the exit price (best bid of the side held) when the position was opened,
    averaged over the fills that opened it; None when unknown (adopted or restored positions).
    """

    ticker: str
    position: Count
    cost_basis: Money
    opened_at_ms: int
    fees_paid: Money = ZERO_MONEY
    entry_exit_price: Price | None = None


@dataclass(frozen=True, slots=True)
class MarketView:
    """What exits and risk need to know about a market: lifecycle, grid and fee schedule."""

    ticker: str
    status: MarketStatus
    close_time_ms: int
    grid: PriceGrid
    fee_type: FeeType = FeeType.QUADRATIC
    fee_multiplier: Fraction = Fraction(1)

    @property
    def is_active(self) -> bool:
        return self.status is MarketStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class CashView:
    """Cash the trader can spend now (``available``) and cash held for resting buys (``reserved``)."""

    available: Money
    reserved: Money = ZERO_MONEY


@dataclass(frozen=True, slots=True)
class Valuation:
    """A position valued at its exit price; ``pnl_pct`` is None when the cost basis is not positive."""

    ticker: str
    side: OutcomeSide  # the side held, which a close sells
    count: Count  # contracts held (> 0)
    exit_price: Price  # best bid of the side held
    gross_proceeds: Money  # count x exit price
    exit_fee: Money  # estimated taker fee of selling count at exit price
    cost_basis: Money
    unrealized: Money  # gross proceeds - exit fee - cost basis
    pnl_pct: Fraction | None  # 100 x unrealized / cost basis, exact

    @property
    def net_proceeds(self) -> Money:
        """Cash a full close at the exit price would bring in, after its fee."""
        return Money(self.gross_proceeds - self.exit_fee)


def held_side(position: int) -> OutcomeSide | None:
    """YES for a positive position, NO for a negative one, None when flat."""
    if position > 0:
        return OutcomeSide.YES
    if position < 0:
        return OutcomeSide.NO
    return None


def exit_price(position: int, book: BookView) -> Price | None:
    """Best bid of the side held, or None (flat, invalid book, or an empty ladder)."""
    side = held_side(position)
    if side is None or not book.valid:
        return None
    return book.best_bid(side)


def taker_fee(fee_type: FeeType, multiplier: Fraction, price: int, count: int) -> Money:
    """``trade_fee`` of a taker fill, memoised: the same exact ``Money``, ~0.35 µs instead of ~10.

    The fee is a pure function of a handful of integers, but ``trade_fee`` computes it in
    ``Fraction`` arithmetic; the decision path asks for it three times per order (exposure, cash
    reserve, the ledger's reservation), always for the few (price, size) pairs a trader uses. The
    key holds the multiplier as its two integers because hashing a ``Fraction`` costs more than
    the lookup itself.
    """
    return _taker_fee(fee_type, multiplier.numerator, multiplier.denominator, int(price), int(count))


@lru_cache(maxsize=65_536)
def _taker_fee(fee_type: FeeType, numerator: int, denominator: int, price: int, count: int) -> Money:
    return trade_fee(fee_type, True, Price(price), Count(count), Fraction(numerator, denominator))


def estimated_exit_fee(market: MarketView, price: Price, count: Count) -> Money:
    """Taker fee of selling ``count`` at ``price``: a close crosses, so it pays the taker rate."""
    return taker_fee(market.fee_type, market.fee_multiplier, price, count)


def pnl_pct(unrealized: int, cost_basis: int) -> Fraction | None:
    """``100 x unrealized / cost basis`` exactly; None when the cost basis is zero or negative."""
    if cost_basis <= 0:
        return None
    return Fraction(100 * int(unrealized), int(cost_basis))


def value_position(position: PositionView, book: BookView, market: MarketView) -> Valuation | None:
    """Value ``position`` at the bid of its side; None when flat or there is no bid to exit into."""
    side = held_side(position.position)
    price = exit_price(position.position, book)
    if side is None or price is None:
        return None
    count = Count(abs(int(position.position)))
    gross = notional(price, count)
    fee = estimated_exit_fee(market, price, count)
    unrealized = Money(gross - fee - position.cost_basis)
    return Valuation(
        ticker=position.ticker,
        side=side,
        count=count,
        exit_price=price,
        gross_proceeds=gross,
        exit_fee=fee,
        cost_basis=position.cost_basis,
        unrealized=unrealized,
        pnl_pct=pnl_pct(unrealized, position.cost_basis),
    )


def unrealized_at_exit(position: PositionView, book: BookView, market: MarketView) -> int | None:
    """``value_position(...).unrealized`` alone, in $0.000001; None where that valuation is None.

    The same integers, without building the ``Valuation`` and its exact ``Fraction`` pnl%: the
    running unrealized total re-values a held market on every change of its book, and the kill
    switch reads only this sum.
    """
    price = exit_price(position.position, book)
    if price is None:
        return None
    count = abs(int(position.position))
    fee = taker_fee(market.fee_type, market.fee_multiplier, price, count)
    return int(price) * count * MONEY_PER_PRICE_COUNT - fee - position.cost_basis


def format_pct(value: Fraction | None) -> str:
    """``+20.00%`` style text for details and logs (rounded toward zero; display only)."""
    if value is None:
        return "n/a"
    hundredths = int(value * 100)  # truncates toward zero
    sign = "-" if value < 0 else "+"
    whole, frac = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{frac:02d}%"
