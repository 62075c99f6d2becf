"""Harness for the synthetic market: an engine on a manual clock with listings and participants,
stepped by hand (no server, no sleeps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kalshiflow.clock import ManualClock
from kalshiflow.domain.units import PRICE_SCALE, notional
from kalshiflow.sim.engine import Engine
from kalshiflow.sim.events import BookDelta, EngineEvent, TradeEvent
from kalshiflow.sim.participants import Participants, ParticipantsConfig, SimScheduler
from kalshiflow.sim.universe import generate_listings

START_MS = 1_790_000_000_000


@dataclass
class Market:
    """A stepped simulation and everything it emitted."""

    clock: ManualClock
    engine: Engine
    participants: Participants
    scheduler: SimScheduler
    events: list[EngineEvent] = field(default_factory=list)

    def run(self, seconds: float, step_s: float = 1.0, check: Callable[[Market], None] | None = None) -> None:
        for _ in range(round(seconds / step_s)):
            self.clock.advance(step_s)
            self.scheduler.step()
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
    config: ParticipantsConfig | None = None,
    keep_alive: bool = False,
    close_in_s: float | None = None,
) -> Market:
    clock = ManualClock(START_MS)
    engine = Engine(clock, seed)
    for listing in generate_listings(seed, n_markets, clock.now_ms()):
        if close_in_s is not None:
            listing.market.close_ms = START_MS + round(close_in_s * 1000)
        engine.add_market(listing.series, listing.event, listing.market)
    participants = Participants(engine, seed, config)
    scheduler = SimScheduler(
        engine,
        participants,
        seed=seed,
        keep_alive_markets=n_markets if keep_alive else None,
        determine_delay_s=participants.config.determine_delay_s,
    )
    market = Market(clock, engine, participants, scheduler)
    engine.add_listener(market.events.append)
    scheduler.step()
    return market


def money_in_system(engine: Engine) -> int:
    """Balances + cash reserved by resting orders + fees + $1 escrowed per open YES/NO pair."""
    balances = sum(a.balance for a in engine.accounts.values())
    reserved = sum(o.reserved for o in engine.orders.values() if o.is_resting)
    long_yes = sum(
        p.position for a in engine.accounts.values() for p in a.positions.values() if p.position > 0
    )
    return balances + reserved + engine.fees_collected + notional(PRICE_SCALE, long_yes)
