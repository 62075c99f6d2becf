"""``compute_observation``: the one function that turns a market's state into a policy's input.

Live trading and training (which replays recorded or simulated sessions through the same books and
histories) both call this function, so a policy never sees an observation built differently from
the ones it learned on. The feature order, units, ranges and normalisations are ``SCHEMA_V1``
(``features.schema``); a schema with another hash is refused rather than silently mis-filled.

Exactness. Every input is an exact integer (``Price`` $0.0001, ``Count`` 0.01 contract, ``Money``
$0.000001, clock ms). Intermediate figures stay integers; each feature is converted to a float
once, at the end, because a neural network consumes floats. Nothing here feeds money back into the
ledger, so these floats never leak into accounting.

Invalid book convention: ``None``. An invalid book (awaiting a snapshot, integrity error) has no
trustworthy state, so there is no observation and the caller must not decide on the market (the
actor skips it until the next snapshot). A *valid* book with an empty ladder is still observable:
a missing YES bid counts as $0 with size 0 and a missing YES ask as $1 with size 0.

Every value is finite and clipped into its spec's ``[low, high]`` after normalisation.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OutcomeSide
from kalshiflow.domain.units import COUNT_SCALE, MONEY_SCALE, PRICE_SCALE, Count, Money
from kalshiflow.features.market_state import MarketHistory
from kalshiflow.features.schema import SCHEMA_V1, FeatureSchema, SchemaError
from kalshiflow.features.valuation import CashView, MarketView, OrderView, PositionView, value_position
from kalshiflow.marketdata.book import OrderBook

_YES: Final = OutcomeSide.YES
_NO: Final = OutcomeSide.NO
_BID: Final = BookSide.BID
_P: Final = float(PRICE_SCALE)
_P2: Final = 2.0 * PRICE_SCALE  # doubled mids and spreads -> dollars
_INV_LOG_DEPTH: Final = 1.0 / math.log1p(10_000)
_INV_LOG_DEPTH_ALL: Final = 1.0 / math.log1p(100_000)
_INV_LOG_LEVELS: Final = 1.0 / math.log1p(100)
_INV_LOG_RATE: Final = 1.0 / math.log1p(1_000)
_INV_LOG_HOUR: Final = 1.0 / math.log1p(3_600)
_INV_LOG_30D: Final = 1.0 / math.log1p(30 * 86_400)
_INV_LOG_7D: Final = 1.0 / math.log1p(7 * 86_400)
_INV_LOG_DAY: Final = 1.0 / math.log1p(86_400)
_INV_LOG_ORDERS: Final = 1.0 / math.log1p(20)
_LOWS: Final = SCHEMA_V1.lows
_HIGHS: Final = SCHEMA_V1.highs
_LEVELS: Final = (1, 3, 5, 10)
_WINDOWS_MS: Final = (10_000, 60_000, 300_000)


@dataclass(frozen=True, slots=True)
class ObservationScales:
    """The configured sizes that portfolio and order features are expressed relative to.

    They are part of how an observation is normalised, so a model manifest stores them next to the
    schema hash; a policy trained on a $1,000 bankroll sees the same numbers on a $10,000 one.
    """

    bankroll: Money
    max_position: Count

    def __post_init__(self) -> None:
        if self.bankroll <= 0:
            raise ValueError("bankroll must be positive")
        if self.max_position <= 0:
            raise ValueError("max_position must be positive")

    def to_dict(self) -> dict[str, str]:
        """Exact decimal strings for a model manifest (no float ever holds money)."""
        return {
            "bankroll_dollars": self.bankroll.dollars_str(6),
            "max_position_fp": self.max_position.fp_str(),
        }


def _log_ratio(value: float, inv_log_max: float) -> float:
    return math.log1p(value) * inv_log_max if value > 0 else 0.0


def _imbalance(bid: int, ask: int) -> float:
    total = bid + ask
    return (bid - ask) / total if total else 0.0


def _tick_and_steps(grid: PriceGrid, bid: int, ask: int) -> tuple[int, int]:
    """(smallest grid step at either touch, grid steps from bid to ask); exact."""
    tick = min(grid.min_step_at(bid), grid.min_step_at(ask))
    levels = grid.levels
    return tick, bisect_left(levels, ask) - bisect_left(levels, bid)


def _book_features(book: OrderBook, out: list[float]) -> tuple[int, int]:
    """Append the 26 book features; return the YES bid and ask (with the empty conventions)."""
    # Plain ints straight from the book: wrapping ~40 levels in Price/Count would be two thirds of
    # this function's cost on the decision path.
    yes_prices, yes_sizes, no_prices, no_sizes = book.raw_ladders()
    bid_prices = yes_prices[:-11:-1]  # best 10, best first
    no_top = no_prices[:-11:-1]
    bid_sizes = [yes_sizes[p] for p in bid_prices]
    ask_sizes = [no_sizes[p] for p in no_top]
    ask_prices = [PRICE_SCALE - p for p in no_top]
    b = bid_prices[0] if bid_prices else 0
    a = ask_prices[0] if ask_prices else PRICE_SCALE
    bs = bid_sizes[0] if bid_sizes else 0
    as_ = ask_sizes[0] if ask_sizes else 0
    mid_x2 = a + b
    micro = (b * as_ + a * bs) / (bs + as_) if bs + as_ else mid_x2 / 2
    tick, steps = _tick_and_steps(book.grid, b, a)
    out += (
        b / _P,
        a / _P,
        mid_x2 / _P2,
        micro / _P,
        (micro - mid_x2 / 2) / _P,
        (a - b) / _P,
        _log_ratio(steps, _INV_LOG_LEVELS),
        tick / 100.0,
    )
    cum_bid = list(accumulate(bid_sizes, initial=0)) + [sum(bid_sizes)] * (10 - len(bid_sizes))
    cum_ask = list(accumulate(ask_sizes, initial=0)) + [sum(ask_sizes)] * (10 - len(ask_sizes))
    for n in _LEVELS:
        out.append(_log_ratio(cum_bid[n] / COUNT_SCALE, _INV_LOG_DEPTH))
        out.append(_log_ratio(cum_ask[n] / COUNT_SCALE, _INV_LOG_DEPTH))
    out.append(_log_ratio(sum(yes_sizes.values()) / COUNT_SCALE, _INV_LOG_DEPTH_ALL))
    out.append(_log_ratio(sum(no_sizes.values()) / COUNT_SCALE, _INV_LOG_DEPTH_ALL))
    for n in _LEVELS:
        out.append(_imbalance(cum_bid[n], cum_ask[n]))
    out.append(_log_ratio(len(yes_prices), _INV_LOG_LEVELS))
    out.append(_log_ratio(len(no_prices), _INV_LOG_LEVELS))
    out.append(_vwap_gap(bid_prices[:5], bid_sizes[:5], b, 1))
    out.append(_vwap_gap(ask_prices[:5], ask_sizes[:5], a, -1))
    return b, a


def _vwap_gap(prices: list[int], sizes: list[int], best: int, sign: int) -> float:
    """sign x (best - size-weighted price of the levels) in dollars; 0 for an empty ladder."""
    size = sum(sizes)
    if not size:
        return 0.0
    notional = sum(p * s for p, s in zip(prices, sizes, strict=True))
    return sign * (best * size - notional) / (size * _P)


def _dynamics_features(history: MarketHistory, market: MarketView, now_ms: int, out: list[float]) -> None:
    """Append the 12 dynamics features; every window is measured on the injected clock."""
    for window in _WINDOWS_MS:
        out.append(history.mid_change_x2(now_ms, window) / _P2)
    for window in _WINDOWS_MS:
        out.append(math.sqrt(history.squared_moves_x4(now_ms, window)) / _P2)
    latest = history.latest_mid_x2()
    if latest is None:
        out.append(0.0)
    else:
        num, den = history.mean_mid_x2(now_ms, 300_000)
        out.append((latest * den - num) / (den * _P2))
    out.append(history.spread_change_x2(now_ms, 60_000) / _P2)
    out.append(_log_ratio(history.updates_in(now_ms, 10_000) / 10.0, _INV_LOG_RATE))
    out.append(_log_ratio(history.updates_in(now_ms, 60_000) / 60.0, _INV_LOG_RATE))
    last = history.last_update_ms
    out.append(1.0 if last is None else _log_ratio((now_ms - last) / 1000.0, _INV_LOG_HOUR))
    out.append(_log_ratio((market.close_time_ms - now_ms) / 1000.0, _INV_LOG_30D))


def _portfolio_features(
    book: OrderBook,
    market: MarketView,
    position: PositionView | None,
    cash: CashView,
    now_ms: int,
    scales: ObservationScales,
    out: list[float],
) -> None:
    """Append the 8 portfolio features (cash, exposure, position, unrealized P&L, age)."""
    bankroll = int(scales.bankroll)
    out.append(int(cash.available) / bankroll)
    out.append(int(cash.reserved) / bankroll)
    held = 0 if position is None else int(position.position)
    if position is None or held == 0:
        out += (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return
    cost = int(position.cost_basis)
    valuation = value_position(position, book, market)
    unrealized = -cost if valuation is None else int(valuation.unrealized)  # no bid: worth $0
    out += (
        held / int(scales.max_position),
        cost / bankroll,
        cost * COUNT_SCALE / (abs(held) * MONEY_SCALE),  # $/contract of the side held
        unrealized / cost if cost > 0 else 0.0,
        unrealized / bankroll,
        _log_ratio((now_ms - position.opened_at_ms) / 1000.0, _INV_LOG_7D),
    )


def _order_features(
    orders: Sequence[OrderView],
    yes_bid: int,
    yes_ask: int,
    now_ms: int,
    max_position: int,
    out: list[float],
) -> None:
    """Append the 6 order features: own buy size and queue distance per side, count, oldest age."""
    size = {True: 0, False: 0}
    best: dict[bool, int | None] = {True: None, False: None}
    live = 0
    oldest: int | None = None
    for order in orders:
        if not order.is_live:
            continue
        live += 1
        is_yes = order.side is _BID
        size[is_yes] += max(int(order.count) - int(order.filled), 0)
        own = int(order.yes_price) if is_yes else PRICE_SCALE - int(order.yes_price)
        current = best[is_yes]
        if current is None or own > current:
            best[is_yes] = own
        if oldest is None or order.created_ms < oldest:
            oldest = order.created_ms
    touch = {True: yes_bid, False: PRICE_SCALE - yes_ask}  # best YES bid, best NO bid
    for is_yes in (True, False):
        own_best = best[is_yes]
        out.append(size[is_yes] / max_position)
        out.append(1.0 if own_best is None else (touch[is_yes] - own_best) / _P)
    out.append(_log_ratio(live, _INV_LOG_ORDERS))
    out.append(0.0 if oldest is None else _log_ratio((now_ms - oldest) / 1000.0, _INV_LOG_DAY))


def compute_observation(
    schema: FeatureSchema,
    book: OrderBook,
    history: MarketHistory,
    market: MarketView,
    position: PositionView | None,
    cash: CashView,
    resting_orders: Sequence[OrderView],
    now_ms: int,
    normalisation: ObservationScales,
) -> tuple[float, ...] | None:
    """The ``schema`` observation of one market, or ``None`` when its book is invalid.

    ``history`` must have been fed this market's book changes (``MarketHistory.record``);
    ``resting_orders`` are this market's orders (non-live ones are ignored); ``now_ms`` is the
    injected clock's time. Raises ``SchemaError`` for any schema other than v1.
    """
    if schema is not SCHEMA_V1 and schema.hash != SCHEMA_V1.hash:
        raise SchemaError(f"compute_observation implements schema v1 {SCHEMA_V1.hash}, not {schema.hash}")
    if not book.valid:
        return None
    out: list[float] = []
    yes_bid, yes_ask = _book_features(book, out)
    _dynamics_features(history, market, now_ms, out)
    _portfolio_features(book, market, position, cash, now_ms, normalisation, out)
    _order_features(resting_orders, yes_bid, yes_ask, now_ms, int(normalisation.max_position), out)
    return tuple(
        lo if not value >= lo else hi if value > hi else value  # NaN -> low: never non-finite
        for value, lo, hi in zip(out, _LOWS, _HIGHS, strict=True)
    )
