"""The account's features of the incremental observation: cash, the position held, own orders.

``incremental.MarketObservation`` keeps the book and its dynamics current per delta; these 14
features (``CASH`` to the end of ``ORDERS``) read the trader's views instead -- cash and the
position change on fills and orders, not on book deltas -- and each group waits for its own inputs
to change (the position's valuation, exact ``Fraction`` fee arithmetic, also for the touch price
of the side held). Values are ``compute_observation``'s, bit for bit (the golden parity tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import COUNT_SCALE, MONEY_SCALE, PRICE_SCALE
from kalshiflow.features.compute import _INV_LOG_7D, _INV_LOG_DAY, _INV_LOG_ORDERS, _P, ObservationScales
from kalshiflow.features.observation_slots import AGE, CASH, ORDERS, POSITION, log_ratio, put_log, store
from kalshiflow.features.valuation import CashView, MarketView, OrderView, PositionView, unrealized_at_exit
from kalshiflow.marketdata.book import OrderBook

_BID: Final = BookSide.BID
_NO_ORDERS: Final = (0.0, 1.0, 0.0, 1.0, 0.0, 0.0)  # what ``_orders`` gives for none live
_FLAT: Final = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


class AccountFeatures:
    """Writes the account's groups into a market's observation ``values``, each when its inputs moved."""

    __slots__ = ("_cash", "_no_orders_stored", "_position", "_position_key", "values")

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.reset()

    def reset(self) -> None:
        """Forget every cached input: the next call rewrites every group."""
        self._cash: CashView | None = None
        self._position: PositionView | None = None
        self._position_key: tuple[object, ...] | None = None
        self._no_orders_stored = False  # the constant no-orders group is already in place

    def update(
        self,
        book: OrderBook,
        market: MarketView,
        position: PositionView | None,
        cash: CashView,
        resting_orders: Sequence[OrderView],
        yes_bid: int,
        yes_ask: int,
        now_ms: int,
        clock_moved: bool,
        scales: ObservationScales,
    ) -> None:
        self._portfolio(book, market, position, cash, yes_bid, yes_ask, now_ms, clock_moved, scales)
        if resting_orders:
            self._orders(resting_orders, yes_bid, yes_ask, now_ms, int(scales.max_position))
            self._no_orders_stored = False
        elif not self._no_orders_stored:  # constant values: written once, not per call
            store(self.values, ORDERS, _NO_ORDERS)
            self._no_orders_stored = True

    # ------------------------------------------------------------------ portfolio (8 features)
    def _portfolio(
        self,
        book: OrderBook,
        market: MarketView,
        position: PositionView | None,
        cash: CashView,
        yes_bid: int,
        yes_ask: int,
        now_ms: int,
        clock_moved: bool,
        scales: ObservationScales,
    ) -> None:
        if cash is not self._cash:  # the trader reuses its view while cash and reservations stand
            self._cash = cash
            bankroll = int(scales.bankroll)
            store(self.values, CASH, (int(cash.available) / bankroll, int(cash.reserved) / bankroll))
        if position is None or position.position == 0:
            if self._position_key != ():
                self._position_key = ()
                self._position = None
                store(self.values, POSITION, _FLAT)
            return
        # The valuation reads the position, the fee schedule (the market view) and the exit price
        # (the touch price of the side held: the YES bid, or the YES ask = 1 - the NO bid); its fee is
        # exact Fraction arithmetic, by far the dearest input here, so it waits for one to change.
        held = int(position.position)
        key = (position, market, yes_bid if held > 0 else yes_ask)
        if key != self._position_key:
            self._position_key = key
            bankroll = int(scales.bankroll)
            cost = int(position.cost_basis)
            at_exit = unrealized_at_exit(position, book, market)
            unrealized = -cost if at_exit is None else int(at_exit)  # no bid: worth $0
            store(
                self.values,
                POSITION,
                (
                    held / int(scales.max_position),
                    cost / bankroll,
                    cost * COUNT_SCALE / (abs(held) * MONEY_SCALE),  # $/contract of the side held
                    unrealized / cost if cost > 0 else 0.0,
                    unrealized / bankroll,
                ),
            )
        if clock_moved or position is not self._position:
            self._position = position
            put_log(self.values, AGE, (now_ms - position.opened_at_ms) / 1000.0, _INV_LOG_7D)

    # ------------------------------------------------------------------ orders (6 features)
    def _orders(
        self, orders: Sequence[OrderView], yes_bid: int, yes_ask: int, now_ms: int, max_position: int
    ) -> None:
        """Own buy size and queue distance per side, live count, oldest age (``compute._order_features``).

        Orders are mutable (fills, state changes), so this group is recomputed on every call that has
        any; plain locals instead of the reference's per-side dicts keep that cheap.
        """
        yes_size = no_size = live = 0
        yes_best: int | None = None
        no_best: int | None = None
        oldest: int | None = None
        for order in orders:
            if not order.is_live:
                continue
            live += 1
            remaining = max(int(order.count) - int(order.filled), 0)
            if order.side is _BID:
                yes_size += remaining
                own = int(order.yes_price)
                if yes_best is None or own > yes_best:
                    yes_best = own
            else:
                no_size += remaining
                own = PRICE_SCALE - int(order.yes_price)
                if no_best is None or own > no_best:
                    no_best = own
            if oldest is None or order.created_ms < oldest:
                oldest = order.created_ms
        store(
            self.values,
            ORDERS,
            (
                yes_size / max_position,
                1.0 if yes_best is None else (yes_bid - yes_best) / _P,
                no_size / max_position,
                1.0 if no_best is None else (PRICE_SCALE - yes_ask - no_best) / _P,
                log_ratio(live, _INV_LOG_ORDERS),
                0.0 if oldest is None else log_ratio((now_ms - oldest) / 1000.0, _INV_LOG_DAY),
            ),
        )
