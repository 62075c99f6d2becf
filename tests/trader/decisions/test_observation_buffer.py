"""The observer reuses one feature buffer per market; whoever keeps an observation holds a copy.

Why: ``MarketObservation`` updates its vector in place (no allocation per call), so the list the
observer returns changes with the market's next observation. The actor records the observation in
its ``TraderAction`` (events, the store, the dashboard, backtest reports): a decision's recorded
observation must stay what the policy saw, not turn into a later one.
"""

from __future__ import annotations

from collections.abc import Sequence

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.models_market import Market, MarketStatus
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.features import SCHEMA_V1, ObservationScales
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.policy.base import Action, Decision
from kalshiflow.trader.core import TraderCore
from kalshiflow.trader.decisions.actor import Actor
from kalshiflow.trader.decisions.observer import MarketObserver

GRID = PriceGrid.named("linear_cent")
TICKER = "KXBUF"


def _market(now_ms: int) -> Market:
    zero = Price(0)
    return Market(
        TICKER, "EV", MarketStatus.ACTIVE, now_ms - 1, now_ms + 86_400_000, GRID,
        zero, zero, zero, zero, Count(0), Count(0), zero, Count(0), Count(0), Count(0),
    )  # fmt: skip


class _Hold:
    name = "hold"

    def __init__(self) -> None:
        self.seen: list[Sequence[float]] = []

    def decide(self, observation: Sequence[float]) -> Decision:
        self.seen.append(observation)
        return Decision(Action.HOLD, "no_signal")


async def test_a_recorded_observation_stays_what_the_policy_saw_when_the_buffer_moves_on() -> None:
    clock = ManualClock()
    books = BookStore(clock)
    books.register(TICKER, GRID)
    books.apply_snapshot(
        OrderbookSnapshot(1, 1, TICKER, ((Price(4000), Count(500)),), ((Price(5000), Count(500)),))
    )
    rest = KalshiRestClient("http://127.0.0.1:1/trade-api/v2", clock=clock)  # never called: holds
    core = TraderCore(rest, clock, books, {TICKER: _market(clock.now_ms())})
    observer = MarketObserver(core, ObservationScales(Money.dollars(1_000), Count.contracts(100)))
    policy = _Hold()
    actor = Actor(books, core, policy, observer.observe, Count(100), clock, may_trade=lambda: True)

    first = await actor.decide(TICKER, clock.now_ms())
    clock.set_ms(clock.now_ms() + 1_000)
    books.apply_delta(OrderbookDelta(1, 2, TICKER, OutcomeSide.YES, Price(4500), Count(700)))
    second = await actor.decide(TICKER, clock.now_ms())

    assert first is not None
    assert second is not None
    assert first.observation is not None
    assert second.observation is not None
    assert policy.seen[0] is policy.seen[1]  # the observer's buffer, reused in place
    yes_bid = SCHEMA_V1.index("yes_bid")
    assert first.observation[yes_bid] == 0.40  # what the policy saw then, not the buffer's 0.45 now
    assert second.observation[yes_bid] == 0.45
    assert list(second.observation) == list(policy.seen[1])
    await rest.aclose()
