"""The market in process, driven by its own clock: no server, no sleeping, as fast as the CPU allows.

For training, evaluation, backtests, the realism report and the bench: ``HeadlessMarket`` holds an
engine and the market model on a ``ManualClock``; ``advance_to(t)`` / ``advance(seconds)`` run the
market to a simulated time. The market is the same one a server with the same seed serves, at any
``--speed`` (the model processes the same events at the same simulated times either way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from kalshiflow.clock import ManualClock
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.events import EngineEvent
from kalshiflow.sim.market.model import MarketModel
from kalshiflow.sim.market.profile import MarketProfile
from kalshiflow.sim.market_clock import MarketClock

DEFAULT_START_MS: Final = 1_790_000_000_000  # 2026-09-21 12:53 UTC; any fixed time reproduces a run


class HeadlessMarket:
    """An engine and its participants, advanced in simulated time by the caller."""

    def __init__(
        self,
        seed: int = 0,
        n_markets: int = 20,
        profile: MarketProfile | None = None,
        *,
        start_ms: int = DEFAULT_START_MS,
        keep_alive: bool = True,
        listener: Callable[[EngineEvent], None] | None = None,
    ) -> None:
        """``listener`` (optional) sees every engine event, the first listings and quotes included."""
        self.source = ManualClock(start_ms)
        self.clock = MarketClock(self.source)
        self.engine = Engine(self.clock, seed)
        if listener is not None:
            self.engine.add_listener(listener)
        self.model = MarketModel(
            self.engine, self.clock, seed, profile, keep_alive_markets=n_markets if keep_alive else None
        )
        self.start_ms = start_ms
        self.model.list_initial(n_markets, start_ms)
        self.model.advance_to(start_ms)

    def now_ms(self) -> int:
        return self.source.now_ms()

    def advance_to(self, target_ms: int) -> None:
        """Run the market to ``target_ms`` (simulated)."""
        if target_ms > self.source.now_ms():
            self.source.set_ms(target_ms)
        self.model.advance_to(target_ms)

    def advance(self, seconds: float) -> None:
        self.advance_to(self.source.now_ms() + round(seconds * 1000))
