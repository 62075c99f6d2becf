"""The actor keeps trading the other markets when one decision fails, and counts the failures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.models_market import Market, MarketStatus
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_models import OrderbookSnapshot
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.policy.base import Action, Decision
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Actor

GRID = PriceGrid.named("linear_cent")


def _market(ticker: str, now_ms: int) -> Market:
    zero = Price(0)
    return Market(
        ticker, "EV", MarketStatus.ACTIVE, now_ms - 1, now_ms + 86_400_000, GRID,
        zero, zero, zero, zero, Count(0), Count(0), zero, Count(0), Count(0), Count(0),
    )  # fmt: skip


@dataclass
class _PolicyThatFailsOn:
    """A real policy contract (Decision values), failing for one market to exercise isolation."""

    bad_first_feature: float
    name: str = "fails-on-one-market"

    def decide(self, observation: Sequence[float]) -> Decision:
        if observation[0] == self.bad_first_feature:
            raise RuntimeError("policy bug")
        return Decision(Action.HOLD, "no_signal")


async def test_a_failing_decision_is_counted_and_the_other_markets_are_still_decided() -> None:
    clock = ManualClock()
    books = BookStore(clock)
    now = clock.now_ms()
    markets = {t: _market(t, now) for t in ("BAD", "GOOD")}
    for ticker, bid in (("BAD", 4000), ("GOOD", 6000)):
        books.register(ticker, GRID)
        books.apply_snapshot(
            OrderbookSnapshot(1, 1, ticker, ((Price(bid), Count(500)),), ((Price(3000), Count(500)),))
        )
    rest = KalshiRestClient(
        "http://127.0.0.1:1/trade-api/v2", clock=clock
    )  # never called: the policy only holds
    core = TraderCore(rest, clock, books, markets)

    def observe(ticker: str, book: OrderBook) -> Sequence[float]:
        bid = book.best_bid(OutcomeSide.YES)
        return (float(bid or 0),)

    actor = Actor(books, core, _PolicyThatFailsOn(4000.0), observe, Count(100), clock, may_trade=lambda: True)
    assert await actor.drain() == 2
    assert actor.metrics.errors == 1
    assert actor.metrics.holds == 1
    assert actor.metrics.consecutive_errors == 0  # the last decision succeeded
    await rest.aclose()
