"""Harness for the simulated market: a headless market (engine + model on a manual clock), stepped
by hand (no server, no sleeps), and everything it emitted."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from kalshiflow.domain.units import PRICE_SCALE, notional
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.events import BookDelta, EngineEvent, TradeEvent
from kalshiflow.sim.market.headless import DEFAULT_START_MS, HeadlessMarket
from kalshiflow.sim.market.model import MarketModel
from kalshiflow.sim.market.profile import MarketProfile

START_MS = DEFAULT_START_MS


def fixed_life_profile(hours: float, base: MarketProfile | None = None) -> MarketProfile:
    """Every archetype's markets live exactly ``hours`` and resolve at their close."""
    base = base or MarketProfile()
    archetypes = {
        name: dataclasses.replace(a, life_h=(hours, hours), close_early_share=0.0)
        for name, a in base.archetypes.items()
    }
    return dataclasses.replace(base, archetypes=archetypes)


def liquid_profile() -> MarketProfile:
    """Only the liquid archetype (ladders of finance markets), quoted by two makers with
    one or two levels each: tight books to trade in and out of, with no more book changes per
    market than the default mix (a trader session at --speed 150 has to keep up with them)."""
    base = MarketProfile()
    finance = dataclasses.replace(base.archetypes["finance"], makers=(2, 2), levels=(1, 2), requote_s=60.0)
    return dataclasses.replace(base, archetypes={"finance": finance})


def busy_profile() -> MarketProfile:
    """Liquid ladders only, quoted by several makers who re-quote every few seconds, and brisk
    taker flow: for tests that need every book to move every few simulated seconds."""
    base = MarketProfile()
    finance = dataclasses.replace(
        base.archetypes["finance"],
        weight=1.0,
        makers=(3, 4),
        requote_s=4.0,
        one_sided_share=0.0,
        taker_per_min=8.0,
        informed_per_min=2.0,
    )
    return dataclasses.replace(base, archetypes={"finance": finance})


@dataclass
class Market:
    """A stepped simulation and everything it emitted."""

    headless: HeadlessMarket
    events: list[EngineEvent] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        return self.headless.engine

    @property
    def model(self) -> MarketModel:
        return self.headless.model

    def run(self, seconds: float, step_s: float = 1.0, check: Callable[[Market], None] | None = None) -> None:
        end = self.headless.now_ms() + round(seconds * 1000)
        while self.headless.now_ms() < end:
            self.headless.advance_to(min(end, self.headless.now_ms() + round(step_s * 1000)))
            if check is not None:
                check(self)

    def trace(self) -> list[tuple[object, ...]]:
        """Public market-data events as plain tuples (comparable across runs)."""
        rows: list[tuple[object, ...]] = []
        for event in self.events:
            if isinstance(event, BookDelta):
                rows.append(("delta", event.ticker, event.side, event.price, event.delta, event.ts_ms))
            elif isinstance(event, TradeEvent):
                rows.append(
                    ("trade", event.ticker, event.yes_price, event.count, event.taker_book_side, event.ts_ms)
                )
        return rows

    def books(self) -> dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]]:
        return {t: (b.yes.ascending(), b.no.ascending()) for t, b in self.engine.books.items()}


def build_market(
    seed: int = 0,
    n_markets: int = 12,
    profile: MarketProfile | None = None,
    keep_alive: bool = False,
    close_in_s: float | None = None,
) -> Market:
    if close_in_s is not None:
        profile = fixed_life_profile(close_in_s / 3600, profile)
    events: list[EngineEvent] = []
    headless = HeadlessMarket(seed, n_markets, profile, keep_alive=keep_alive, listener=events.append)
    return Market(headless, events)


def money_in_system(engine: Engine) -> int:
    """Balances + cash reserved by resting orders + fees + $1 escrowed per open YES/NO pair."""
    balances = sum(a.balance for a in engine.accounts.values())
    reserved = sum(o.reserved for o in engine.orders.values() if o.is_resting)
    long_yes = sum(
        p.position for a in engine.accounts.values() for p in a.positions.values() if p.position > 0
    )
    return balances + reserved + engine.fees_collected + notional(PRICE_SCALE, long_yes)
