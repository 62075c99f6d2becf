"""The market model's bookkeeping: events, markets and the makers quoting them.

Plain mutable records owned by ``MarketModel``; the engine's own records (orders, books, accounts)
stay in the engine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import IntEnum

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.settlement import MarketResult
from kalshiflow.sim.market.outcome import EventOutcome, Payoff
from kalshiflow.sim.market.profile import Archetype
from kalshiflow.sim.state import SimMarket


class Kind(IntEnum):
    """What a scheduled model event does (ties at one time run in scheduling order)."""

    CLOSE = 0
    RESOLVE = 1
    DETERMINE = 2
    SETTLE = 3
    NEWS = 4
    MAKER = 5
    INFORMED = 6
    TAKER = 7


@dataclass(slots=True)
class MakerSlot:
    """One maker account quoting one market, and how it quotes it."""

    account: int  # index into MarketModel.maker_accounts
    half_cents: float
    levels: int
    gap_cents: int
    size_contracts: float
    requote_s: float
    news_lag_ms: int
    one_side: BookSide | None
    orders: dict[tuple[BookSide, int], str] = field(default_factory=dict)
    version: int = 0
    heard_news_ms: int | None = None
    last_quoted: list[tuple[BookSide, int]] | None = None  # (side, price) of the last quotes shown


@dataclass(slots=True)
class EventState:
    ticker: str
    archetype: str
    outcome: EventOutcome
    markets: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MarketState:
    market: SimMarket
    payoff: Payoff
    event: EventState
    archetype: Archetype
    rng: random.Random
    listed_ms: int
    makers: list[MakerSlot] = field(default_factory=list)
    deep_orders: list[str] = field(default_factory=list)  # the deep-book account's resting orders
    q: float = 0.5  # true probability at the last model event on this market
    last_news_ms: int | None = None
    public_news_ms: int | None = None  # last ``MarketModel.shock``: news everyone heard at once
    taker_version: int = 0
    informed_version: int = 0


@dataclass(frozen=True, slots=True)
class MarketOutcome:
    """How a market ended: the result, the true probability at its close, its archetype."""

    result: MarketResult
    probability_at_close: float
    archetype: str
    resolved_ms: int
