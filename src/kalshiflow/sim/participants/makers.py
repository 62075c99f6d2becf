"""Market makers: ladders of resting quotes around the fair probability.

A maker is one exchange account quoting several markets. In each market it shows ``levels`` bids
below and asks above its *center* (fair value shifted against its inventory), the inside level
``half_spread`` away from the center and rounded outward onto the market's grid, deeper levels
``level_gap`` apart with sizes growing with depth. It re-quotes (amend in place, or cancel and
replace) when fair value moved by ``requote_move``, when it traded, when one of its orders is gone,
or when its refresh timer ran out, but never sooner than ``latency_ms`` after its last quote, so
stale quotes exist for a moment after news, as on a real exchange.

Invariants: a maker never bids at or above its center nor offers at or below it, so its own quotes
never cross; when quotes move up it moves its asks first (down: bids first), so a re-quote never
meets its own resting order; self-trade prevention (``taker_at_cross``) is the backstop. Rejections
by the exchange (not enough cash, market just closed) skip the quote; they are not errors.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.state import SimMarket

MAX_LEVEL_CONTRACTS = 5_000
KEEP_SIZE_TOLERANCE = 0.35  # an order within ±35% of the nominal size is left alone (keeps priority)


@dataclass(frozen=True, slots=True)
class MakerParams:
    """How one maker quotes one market (prices in $0.0001, sizes in contracts)."""

    half_spread: int
    level_gap: int
    levels: int
    base_contracts: float
    size_growth: float
    fractional: bool
    requote_move: int
    latency_ms: int
    refresh_ms: int
    skew_per_contract: float  # center shift in $0.0001 per contract of inventory
    max_position_contracts: int

    @classmethod
    def draw(cls, rng: random.Random, grid: PriceGrid) -> MakerParams:
        sub_cent = grid.min_step_at(5000) < 100
        return cls(
            half_spread=rng.choice((50, 60, 80, 100, 100, 150, 200)),
            level_gap=rng.choice((50, 100)) if sub_cent else rng.choice((100, 100, 100, 200)),
            levels=rng.randint(3, 6),
            base_contracts=10 ** rng.uniform(1.0, 2.6),
            size_growth=rng.uniform(1.3, 2.0),
            fractional=rng.random() < 0.15,
            requote_move=rng.choice((50, 80, 100, 150)),
            latency_ms=rng.randint(200, 2_000),
            refresh_ms=rng.randint(20_000, 120_000),
            skew_per_contract=rng.uniform(0.05, 0.3),
            max_position_contracts=rng.randint(2_000, 10_000),
        )


@dataclass(frozen=True, slots=True)
class Quote:
    side: BookSide
    level: int
    yes_price: int
    count: int


@dataclass(slots=True)
class _QuoteState:
    fair_price: int
    quoted_ms: int
    position: int


class MarketMaker:
    """One maker account and the orders it keeps on each market it quotes."""

    def __init__(self, engine: Engine, account_id: str, rng: random.Random) -> None:
        self.engine = engine
        self.account_id = account_id
        self.rng = rng
        self._orders: dict[str, dict[tuple[BookSide, int], str]] = {}
        self._state: dict[str, _QuoteState] = {}

    def forget(self, ticker: str) -> None:
        """Drop bookkeeping of a market that no longer trades (the exchange cancelled its orders)."""
        self._orders.pop(ticker, None)
        self._state.pop(ticker, None)

    def act(self, market: SimMarket, params: MakerParams, fair: float, now_ms: int) -> None:
        """Re-quote ``market`` if something warrants it and latency allows."""
        fair_price = round(fair * PRICE_SCALE)
        position = self._position(market.ticker)
        state = self._state.get(market.ticker)
        if state is not None:
            if now_ms - state.quoted_ms < params.latency_ms:
                return
            if not self._needs_requote(market.ticker, params, state, fair_price, position, now_ms):
                return
        previous = state.fair_price if state is not None else fair_price
        quotes = self.desired_quotes(market.grid, params, fair_price, position)
        first = BookSide.ASK if fair_price >= previous else BookSide.BID
        for side in (first, first.opposite):
            self._apply(market.ticker, side, [q for q in quotes if q.side is side], params)
        self._state[market.ticker] = _QuoteState(fair_price, now_ms, self._position(market.ticker))

    def _needs_requote(
        self,
        ticker: str,
        params: MakerParams,
        state: _QuoteState,
        fair_price: int,
        position: int,
        now_ms: int,
    ) -> bool:
        if abs(fair_price - state.fair_price) >= params.requote_move:
            return True
        if position != state.position or now_ms - state.quoted_ms >= params.refresh_ms:
            return True
        orders = self.engine.orders
        return any(not orders[oid].is_resting for oid in self._orders.get(ticker, {}).values())

    def desired_quotes(
        self, grid: PriceGrid, params: MakerParams, fair_price: int, position: int
    ) -> list[Quote]:
        """The ladder this maker wants to show, given fair value and its position (0.01 contracts)."""
        contracts_held = position / COUNT_SCALE
        center = fair_price - params.skew_per_contract * contracts_held
        quotes: list[Quote] = []
        if contracts_held < params.max_position_contracts:
            quotes += self._ladder(grid, params, BookSide.BID, center)
        if contracts_held > -params.max_position_contracts:
            quotes += self._ladder(grid, params, BookSide.ASK, center)
        return quotes

    def _ladder(self, grid: PriceGrid, params: MakerParams, side: BookSide, center: float) -> list[Quote]:
        tradable = grid.tradable
        quotes: list[Quote] = []
        price: int | None = None
        for level in range(params.levels):
            offset = params.half_spread + level * params.level_gap
            if side is BookSide.BID:
                raw = int(center - offset)
                if raw < tradable[0]:
                    break
                candidate: int | None = grid.nearest(raw, "down")
                if price is not None and candidate is not None and candidate >= price:
                    candidate = grid.step_down(price)
                if candidate is None or candidate >= center:
                    break
            else:
                raw = int(center + offset) + 1
                if raw > tradable[-1]:
                    break
                candidate = grid.nearest(raw, "up")
                if price is not None and candidate is not None and candidate <= price:
                    candidate = grid.step_up(price)
                if candidate is None or candidate <= center:
                    break
            price = candidate
            quotes.append(Quote(side, level, price, self._size(params, level)))
        return quotes

    def _size(self, params: MakerParams, level: int) -> int:
        contracts = min(float(MAX_LEVEL_CONTRACTS), params.base_contracts * params.size_growth**level)
        if params.fractional:
            return max(1, round(contracts * COUNT_SCALE))
        return max(1, round(contracts)) * COUNT_SCALE

    def _apply(self, ticker: str, side: BookSide, wanted: list[Quote], params: MakerParams) -> None:
        """Move this side's resting orders to ``wanted``: keep, amend, create, or cancel."""
        orders = self._orders.setdefault(ticker, {})
        levels = {key[1] for key in orders if key[0] is side} | {q.level for q in wanted}
        by_level = {q.level: q for q in wanted}
        for level in sorted(levels):
            key = (side, level)
            order_id = orders.get(key)
            order = self.engine.orders.get(order_id) if order_id is not None else None
            live = order is not None and order.is_resting
            quote = by_level.get(level)
            try:
                if quote is None:
                    if live:
                        self.engine.cancel_order(self.account_id, str(order_id))
                    orders.pop(key, None)
                elif not live or order is None:
                    orders[key] = self._create(ticker, quote)
                elif not _close_enough(order.yes_price, quote, _price_slack(level, params)) or not (
                    abs(order.remaining_count - quote.count) <= KEEP_SIZE_TOLERANCE * quote.count
                ):
                    self.engine.amend_order(
                        self.account_id,
                        order.order_id,
                        ticker,
                        side,
                        quote.yes_price,
                        order.fill_count + self._jittered(quote.count),
                    )
            except ExchangeError:
                orders.pop(key, None)
                if live and order is not None and order.is_resting:
                    self._cancel_quietly(order.order_id)

    def _jittered(self, count: int) -> int:
        """The size actually shown: the nominal size ±20%, so levels do not look machine-made."""
        jittered = round(count * self.rng.uniform(0.8, 1.2))
        whole = count % COUNT_SCALE == 0
        return max(COUNT_SCALE, jittered - jittered % COUNT_SCALE) if whole else max(1, jittered)

    def _create(self, ticker: str, quote: Quote) -> str:
        request = OrderRequest(
            ticker=ticker,
            side=quote.side,
            yes_price=quote.yes_price,
            count=self._jittered(quote.count),
            time_in_force=TimeInForce.GOOD_TILL_CANCELED,
            self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
        )
        return self.engine.create_order(self.account_id, request).order.order_id

    def _cancel_quietly(self, order_id: str) -> None:
        try:
            self.engine.cancel_order(self.account_id, order_id)
        except ExchangeError:
            return

    def _position(self, ticker: str) -> int:
        pos = self.engine.accounts[self.account_id].positions.get(ticker)
        return pos.position if pos is not None else 0


def _price_slack(level: int, params: MakerParams) -> int:
    """How far a resting order may sit from its wanted price before it is moved.

    Real makers leave resting orders alone through small moves (fewer messages, and they keep
    their queue priority). Level ``i`` tolerates ``half_spread/2 + i·level_gap`` (less one tick), which
    is less than its distance to the center, so a kept bid stays below the new center and can never
    meet the maker's own re-priced asks.
    """
    return params.half_spread // 2 + level * params.level_gap - 1


def _close_enough(price: int, quote: Quote, slack: int) -> bool:
    return abs(price - quote.yes_price) <= slack
