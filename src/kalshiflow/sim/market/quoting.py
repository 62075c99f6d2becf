"""Placing makers' wishes on the engine: amend in place, never cross another account's quotes.

A maker's ladder moves by amending its resting orders (one order per side and level, kept for the
market's life), so a long run does not pile up millions of order records, and unchanged levels keep
their queue priority. Before an order moves, its price is clamped one tick inside the best price of
*other* accounts on the opposite side, so makers never take each other's quotes (they are makers,
as on Kalshi where they send post-only orders). When prices rise the asks move first, when they fall
the bids, so a maker's own orders never meet either.

``deep_orders`` draws the deep book of a market once, at listing: large resting orders far from the
touch with heavy-tailed sizes and, in some markets, 1¢ lottery bids on both legs (CAPOPM's KXINXY
ladders show both).
"""

from __future__ import annotations

import math
import random
from operator import itemgetter

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide, OrderStatus, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.market.agents import CENT, Quote
from kalshiflow.sim.market.profile import Archetype
from kalshiflow.sim.state import SimMarket, SimOrder

SIZE_SLACK = 0.35  # a resting order within ±35% of the wanted size is left alone (keeps priority)
LAZY_INSIDE_CENTS = 1  # the inside quote may rest this far behind the price its maker wants
DEEP_DISTANCE_CENTS = 8
_LEVEL = itemgetter(1)  # Quote.level, as a C-level sort key


def apply_quotes(
    engine: Engine,
    account_id: str,
    market: SimMarket,
    orders: dict[tuple[BookSide, int], str],
    quotes: list[Quote],
    cap_bid: int | None = None,
    floor_ask: int | None = None,
) -> None:
    """Make ``orders`` (this maker's resting orders on ``market``) show ``quotes``, bidding at most
    ``cap_bid`` and offering at least ``floor_ask`` (bounds from the event's other markets)."""
    ticker = market.ticker
    wanted = {q[:2] for q in quotes}  # (side, level) of each quote
    for key in [k for k in orders if k not in wanted]:
        _cancel(engine, account_id, orders.pop(key))
    bid = BookSide.BID
    bids = sorted([q for q in quotes if q.side is bid], key=_LEVEL)
    asks = sorted([q for q in quotes if q.side is not bid], key=_LEVEL)
    rising = _rising(engine, orders, bids, asks)
    others_ask, others_bid = (
        _others_best(engine, market, orders) if _may_cross(engine, ticker, bids, asks) else (None, None)
    )
    grid, all_orders = market.grid, engine.orders
    for side_quotes in (asks, bids) if rising else (bids, asks):
        taken: set[int] = set()
        for quote in side_quotes:
            price: int | None = quote.yes_price
            if quote.side is bid:
                if others_ask is not None and quote.yes_price >= others_ask:
                    step = grid.step_down(others_ask)
                    price = None if step is None else int(step)
                if price is not None and cap_bid is not None and price > cap_bid:
                    price = int(grid.nearest(cap_bid, "down"))
            else:
                if others_bid is not None and quote.yes_price <= others_bid:
                    step = grid.step_up(others_bid)
                    price = None if step is None else int(step)
                if price is not None and floor_ask is not None and price < floor_ask:
                    price = int(grid.nearest(floor_ask, "up"))
            if price is None or price in taken:
                old = orders.pop((quote.side, quote.level), None)
                if old is not None:
                    _cancel(engine, account_id, old)
                continue
            taken.add(price)
            order_id = orders.get((quote.side, quote.level))
            order = all_orders.get(order_id) if order_id is not None else None
            if order is not None and not order.is_resting:
                order = None
            # Most levels already rest close enough to their quote: decide that here, without a call.
            if (
                order is None
                or _moves(order.yes_price, price, quote)
                or abs(order.remaining_count - quote.size) > SIZE_SLACK * quote.size
            ):
                _place(engine, account_id, ticker, orders, quote, price, order)


def _rising(
    engine: Engine, orders: dict[tuple[BookSide, int], str], bids: list[Quote], asks: list[Quote]
) -> bool:
    for quote in (*bids[:1], *asks[:1]):
        order_id = orders.get((quote.side, quote.level))
        order = engine.orders.get(order_id) if order_id is not None else None
        if order is not None and order.is_resting:
            return quote.yes_price >= order.yes_price
    return True


def _may_cross(engine: Engine, ticker: str, bids: list[Quote], asks: list[Quote]) -> bool:
    """Whether a quote reaches the book's best opposite price, anyone's (this maker's included).

    Only then can it reach the best of *other* accounts (never better than the book's), so only
    then is ``_others_best`` needed: most re-quotes sit behind the touch and skip that scan of
    the maker's orders. Both read the book before any order moves, so the clamps are the same."""
    book = engine.books[ticker]
    best_no, best_yes = book.no.best(), book.yes.best()
    if bids and best_no is not None and max([q.yes_price for q in bids]) >= PRICE_SCALE - best_no:
        return True
    return bool(asks) and best_yes is not None and min([q.yes_price for q in asks]) <= best_yes


def _others_best(
    engine: Engine, market: SimMarket, orders: dict[tuple[BookSide, int], str]
) -> tuple[int | None, int | None]:
    """(best YES ask, best YES bid) of every *other* account (this maker's own orders left out)."""
    own_asks: dict[int, int] = {}  # NO-ladder price -> this maker's size there
    own_bids: dict[int, int] = {}  # YES-ladder price -> this maker's size there
    all_orders = engine.orders
    resting, ask = OrderStatus.RESTING, BookSide.ASK
    for (side, _), order_id in orders.items():
        order = all_orders.get(order_id)
        if order is not None and order.status is resting:
            if side is ask:
                price = PRICE_SCALE - order.yes_price
                own_asks[price] = own_asks.get(price, 0) + order.remaining_count
            else:
                price = order.yes_price
                own_bids[price] = own_bids.get(price, 0) + order.remaining_count
    book = engine.books[market.ticker]
    best_ask: int | None = None
    levels = book.no.levels
    for no_price in reversed(book.no.prices):
        if levels[no_price].total > own_asks.get(no_price, 0):
            best_ask = PRICE_SCALE - no_price
            break
    best_bid: int | None = None
    levels = book.yes.levels
    for yes_price in reversed(book.yes.prices):
        if levels[yes_price].total > own_bids.get(yes_price, 0):
            best_bid = yes_price
            break
    return best_ask, best_bid


def _place(
    engine: Engine,
    account_id: str,
    ticker: str,
    orders: dict[tuple[BookSide, int], str],
    quote: Quote,
    price: int,
    order: SimOrder | None,
) -> None:
    """Show ``quote`` at ``price``: a new order, or ``order`` (this maker's, resting) amended there."""
    key = (quote.side, quote.level)
    try:
        if order is None:
            request = OrderRequest(
                ticker=ticker,
                side=quote.side,
                yes_price=price,
                count=quote.size,
                time_in_force=TimeInForce.GOOD_TILL_CANCELED,
                self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
            )
            orders[key] = engine.create_order(account_id, request).order.order_id
        else:
            engine.amend_own_resting(order, price, order.fill_count + quote.size)
    except ExchangeError:
        old = orders.pop(key, None)
        if old is not None:
            _cancel(engine, account_id, old)


def _moves(resting: int, wanted: int, quote: Quote) -> bool:
    """Whether a resting order at ``resting`` must move to ``wanted``. Deeper levels stay put through
    moves of up to their level in cents; the inside level stays one cent *behind* its wanted price
    (less aggressive: it never rests where its owner would not quote) rather than chase every tick.
    Fewer messages, queue priority kept -- and the engine's amend is most of the market's cost."""
    if quote.level > 0:
        return abs(resting - wanted) > quote.level * CENT
    behind = wanted - resting if quote.side is BookSide.BID else resting - wanted
    return not 0 <= behind <= LAZY_INSIDE_CENTS * CENT


def _cancel(engine: Engine, account_id: str, order_id: str) -> None:
    order = engine.orders.get(order_id)
    if order is None or not order.is_resting:
        return
    try:
        engine.cancel_order(account_id, order_id)
    except ExchangeError:
        return


def deep_orders(
    rng: random.Random, archetype: Archetype, grid: PriceGrid, q: float
) -> list[tuple[BookSide, int, int]]:
    """(side, YES price, contracts) of a market's deep resting orders, far from the true price."""
    fair_cents = q * 100
    placed: list[tuple[BookSide, int, int]] = []
    for _ in range(rng.randint(*archetype.deep_orders)):
        contracts = round(math.exp(rng.uniform(math.log(5), math.log(100_000))))
        if rng.random() < 0.5:
            high = fair_cents - DEEP_DISTANCE_CENTS
            if high >= 1:
                cents = rng.uniform(1, high)
                placed.append((BookSide.BID, int(grid.nearest(round(cents * CENT), "down")), contracts))
        else:
            low = fair_cents + DEEP_DISTANCE_CENTS
            if low <= 99:
                cents = rng.uniform(low, 99)
                placed.append((BookSide.ASK, int(grid.nearest(round(cents * CENT), "up")), contracts))
    if rng.random() < archetype.lottery_share:
        lo, hi = int(grid.tradable[0]), int(grid.tradable[-1])
        if fair_cents > DEEP_DISTANCE_CENTS:
            placed.append(
                (BookSide.BID, lo, round(math.exp(rng.uniform(math.log(1_000), math.log(2_000_000)))))
            )
        if fair_cents < 100 - DEEP_DISTANCE_CENTS:
            placed.append(
                (BookSide.ASK, hi, round(math.exp(rng.uniform(math.log(1_000), math.log(2_000_000)))))
            )
    return placed
