"""Takers: the order flow that trades against the makers' quotes.

* ``NoiseTaker`` sends immediate-or-cancel orders of random size and direction at the touch
  (sometimes a level or two through it), at Poisson times. It is the uninformed flow that gives
  makers their spread and the tape its trades.
* ``InformedTaker`` knows the fair value. When the book offers YES below fair (or bids above fair)
  by more than its edge, it takes the mispriced size with an IOC limited at fair ∓ edge. Right
  after a news jump, before makers re-quote, this is what moves the book to the new price.

Both go through ``Engine.create_order`` with V2 semantics: ``bid`` buys YES at a YES price, ``ask``
sells YES (buys NO) at a YES price. Exchange rejections are skipped, not raised.
"""

from __future__ import annotations

import math
import random

from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE
from kalshiflow.sim.book import Book
from kalshiflow.sim.engine import Engine, OrderRequest
from kalshiflow.sim.errors import ExchangeError
from kalshiflow.sim.state import SimMarket

MAX_NOISE_CONTRACTS = 2_000
MAX_INFORMED_CONTRACTS = 1_500


def _ioc(engine: Engine, account_id: str, ticker: str, side: BookSide, yes_price: int, count: int) -> None:
    request = OrderRequest(
        ticker=ticker,
        side=side,
        yes_price=yes_price,
        count=count,
        time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
        self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
    )
    try:
        engine.create_order(account_id, request)
    except ExchangeError:
        return


class NoiseTaker:
    def __init__(self, engine: Engine, account_id: str, rng: random.Random) -> None:
        self.engine = engine
        self.account_id = account_id
        self.rng = rng

    def trade(self, market: SimMarket, book: Book) -> None:
        """One random IOC order at (or slightly through) the touch."""
        rng = self.rng
        side = BookSide.BID if rng.random() < 0.5 else BookSide.ASK
        contracts = min(MAX_NOISE_CONTRACTS, math.exp(rng.gauss(math.log(12.0), 1.2)))
        if rng.random() < 0.15:
            count = max(1, round(contracts * COUNT_SCALE))
        else:
            count = max(1, round(contracts)) * COUNT_SCALE
        through = 0 if rng.random() < 0.8 else rng.randint(1, 2)
        if side is BookSide.BID:
            best_no = book.best_no_bid()
            if best_no is None:
                return
            price = market.grid.step_up(PRICE_SCALE - best_no, through) if through else PRICE_SCALE - best_no
        else:
            best_yes = book.best_yes_bid()
            if best_yes is None:
                return
            price = market.grid.step_down(best_yes, through) if through else best_yes
        if price is None:
            return
        _ioc(self.engine, self.account_id, market.ticker, side, price, count)


class InformedTaker:
    def __init__(self, engine: Engine, account_id: str, rng: random.Random, edge: int) -> None:
        self.engine = engine
        self.account_id = account_id
        self.rng = rng
        self.edge = edge

    def trade(self, market: SimMarket, book: Book, fair: float) -> bool:
        """Take mispriced liquidity, if any; True when an order was sent."""
        fair_price = fair * PRICE_SCALE
        best_no = book.best_no_bid()
        if best_no is not None and PRICE_SCALE - best_no <= fair_price - self.edge:
            limit = market.grid.nearest(int(fair_price - self.edge), "down")
            self._take(market, BookSide.BID, limit, (fair_price - (PRICE_SCALE - best_no)) / PRICE_SCALE)
            return True
        best_yes = book.best_yes_bid()
        if best_yes is not None and best_yes >= fair_price + self.edge:
            limit = market.grid.nearest(int(fair_price + self.edge) + 1, "up")
            self._take(market, BookSide.ASK, limit, (best_yes - fair_price) / PRICE_SCALE)
            return True
        return False

    def _take(self, market: SimMarket, side: BookSide, limit: int, mispricing: float) -> None:
        # Size grows with the mispricing: ~100 contracts per 5¢ of edge, jittered.
        contracts = min(MAX_INFORMED_CONTRACTS, 2_000.0 * mispricing * self.rng.uniform(0.5, 1.5))
        count = max(1, round(contracts)) * COUNT_SCALE
        _ioc(self.engine, self.account_id, market.ticker, side, limit, count)
