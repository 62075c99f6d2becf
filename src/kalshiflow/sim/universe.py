"""The simulator's listed products: series, events and markets generated from a seed and a profile.

Each event belongs to an archetype of the market profile and is one family of markets on one
latent outcome (``market.outcome``): a strike ladder ("above k"), ranges that partition the line,
a mutually exclusive pair, or a single question. Tickers look like Kalshi's
(``KXHIGHNY-26NOV25QZK-B62``). Most markets trade on the whole-cent grid; a share use sub-cent
structures so that every client path meets them. Lifetimes come from the archetype, so closes,
determinations and settlements happen during a run; some events close before their outcome is
known (the outcome resolves, and the market is determined, later).

The outcome's units are chosen so that its total standard deviation over the event's life is 1;
strikes are placed where they give prices across the whole range.
"""

from __future__ import annotations

import itertools
import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.sim.market.outcome import NewsItem, OutcomeSpec, Payoff
from kalshiflow.sim.market.profile import Archetype, EventShape, MarketProfile
from kalshiflow.sim.state import SimEvent, SimMarket, SimSeries

# Weighted choice of grids: mostly whole cents, some sub-cent structures.
_GRIDS: tuple[tuple[str, int], ...] = (
    ("linear_cent", 70),
    ("tapered_deci_cent", 12),
    ("deci_cent", 8),
    ("center_whole_edge_half_cent", 5),
    ("center_half_edge_deci_cent", 5),
)
MS_PER_HOUR = 3_600_000
DISPLAY_UNITS = 10.0  # strike label units per outcome unit


@dataclass(frozen=True, slots=True)
class Listing:
    """One market as the engine lists it, and the interval of its event's outcome it pays on."""

    series: SimSeries
    event: SimEvent
    market: SimMarket
    payoff: Payoff


@dataclass(frozen=True, slots=True)
class ListedEvent:
    """One event: its archetype, its outcome process and its markets (in strike order)."""

    archetype: str
    outcome: OutcomeSpec
    listings: tuple[Listing, ...]


def generate_events(
    seed: int, n_markets: int, now_ms: int, profile: MarketProfile | None = None
) -> list[ListedEvent]:
    """Events holding at least ``n_markets`` active markets in total, deterministic in ``seed``."""
    profile = profile or MarketProfile()
    rng = random.Random(f"universe-{seed}")
    names = list(profile.archetypes)
    weights = [profile.archetypes[name].weight for name in names]
    events: list[ListedEvent] = []
    listed = 0
    while listed < n_markets:
        name = rng.choices(names, weights)[0]
        event = _event(rng, name, profile.archetypes[name], now_ms, n_markets - listed)
        events.append(event)
        listed += len(event.listings)
    return events


def generate_listings(
    seed: int, n_markets: int, now_ms: int, profile: MarketProfile | None = None
) -> list[Listing]:
    """Exactly ``n_markets`` markets (the last event may be a shorter ladder)."""
    listings = [
        listing for event in generate_events(seed, n_markets, now_ms, profile) for listing in event.listings
    ]
    return listings[:n_markets]


def _event(
    rng: random.Random, archetype_name: str, archetype: Archetype, now_ms: int, room: int
) -> ListedEvent:
    spec = rng.choice(archetype.series)
    series = SimSeries(spec.ticker, spec.title, spec.category, "daily", spec.fee_type, Fraction(1))
    life_h = math.exp(rng.uniform(math.log(archetype.life_h[0]), math.log(archetype.life_h[1])))
    close_ms = now_ms + round(life_h * MS_PER_HOUR)
    resolve_ms = close_ms
    if archetype.close_early_share > 0 and rng.random() < archetype.close_early_share:
        resolve_ms += round(rng.uniform(*archetype.close_early_h) * MS_PER_HOUR)
    outcome = _outcome(rng, archetype, now_ms, resolve_ms)
    date = datetime.fromtimestamp(close_ms / 1000, tz=UTC).strftime("%y%b%d").upper()
    code = "".join(chr(65 + rng.randrange(26)) for _ in range(3))
    event_ticker = f"{spec.ticker}-{date}{code}"
    shape = archetype.shape
    count = 2 if shape is EventShape.PAIR else rng.randint(*archetype.markets_per_event)
    if count > room:  # the run asked for fewer markets: a short ladder (any subset stays consistent)
        count, shape = room, EventShape.LADDER
    event = SimEvent(
        event_ticker,
        spec.ticker,
        f"{spec.title} on {date}",
        date,
        shape in (EventShape.RANGES, EventShape.PAIR),
        now_ms - 86_400_000,
        now_ms,
    )
    base = rng.randint(20, 80) * 10
    listings = tuple(
        Listing(series, event, _market(rng, event, title_suffix, payoff, close_ms, now_ms, base), payoff)
        for title_suffix, payoff in _payoffs(rng, shape, count)
    )
    return ListedEvent(archetype_name, outcome, listings)


def _outcome(rng: random.Random, archetype: Archetype, now_ms: int, resolve_ms: int) -> OutcomeSpec:
    total_h = (resolve_ms - now_ms) / MS_PER_HOUR
    n_news = _poisson(rng, archetype.news_per_h * total_h)
    news_share = archetype.news_share if n_news else 0.0
    news = tuple(
        sorted(
            (
                NewsItem(
                    now_ms + round(rng.uniform(0.05, 0.98) * (resolve_ms - now_ms)),
                    math.sqrt(news_share / n_news),
                )
                for _ in range(n_news)
            ),
            key=lambda item: item.at_ms,
        )
    )
    sigma = math.sqrt((1.0 - news_share) / total_h)
    return OutcomeSpec(x0=0.0, sigma_per_sqrt_h=sigma, start_ms=now_ms, resolve_ms=resolve_ms, news=news)


def _payoffs(rng: random.Random, shape: EventShape, count: int) -> list[tuple[str, Payoff]]:
    if shape is EventShape.PAIR:
        edge = rng.gauss(0.0, 0.7)  # who is favoured
        return [("A", Payoff(edge, None)), ("B", Payoff(None, edge))]
    if shape is EventShape.SINGLE:
        strike = rng.gauss(0.0, 1.0)
        return [("T", Payoff(strike, None))]
    step = rng.uniform(1.2, 2.4) / max(1, count - 1) if count > 1 else 1.0
    centre = rng.gauss(0.0, 0.4)
    if shape is EventShape.LADDER:
        strikes = [centre + (i - (count - 1) / 2) * step for i in range(count)]
        return [("T", Payoff(k, None)) for k in strikes]
    edges = [centre + (i - (count - 2) / 2) * step for i in range(count - 1)]
    payoffs = [("B", Payoff(None, edges[0]))]
    payoffs += [("B", Payoff(lo, hi)) for lo, hi in itertools.pairwise(edges)]
    payoffs.append(("T", Payoff(edges[-1], None)))
    return payoffs


def _market(
    rng: random.Random, event: SimEvent, kind: str, payoff: Payoff, close_ms: int, now_ms: int, base: int
) -> SimMarket:
    def label(x: float | None) -> int:
        return base + round((x or 0.0) * DISPLAY_UNITS * 10)

    if kind in ("A", "B"):
        strike = label(payoff.lower if kind == "A" else payoff.upper)
        suffix, title, yes, no, rule, strike_type = (
            f"{kind}{strike}",
            f"Side {kind} wins?",
            f"Side {kind}",
            f"Side {'B' if kind == 'A' else 'A'}",
            f"Resolves Yes if side {kind} wins.",
            "custom",
        )
        floor, cap = None, None
    elif payoff.lower is not None and payoff.upper is not None:
        lo, hi = label(payoff.lower), label(payoff.upper)
        suffix, title, yes, no = f"B{lo}", f"Between {lo} and {hi}?", f"{lo} to {hi}", f"Not {lo} to {hi}"
        rule, strike_type, floor, cap = (
            f"Resolves Yes if the value is above {lo} and at most {hi}.",
            "between",
            lo,
            hi,
        )
    elif payoff.lower is not None:
        k = label(payoff.lower)
        suffix, title, yes, no = f"T{k}", f"Above {k}?", f"Above {k}", f"{k} or below"
        rule, strike_type, floor, cap = f"Resolves Yes if the value is above {k}.", "greater", k, None
    else:
        k = label(payoff.upper)
        suffix, title, yes, no = f"T{k}L", f"{k} or below?", f"{k} or below", f"Above {k}"
        rule, strike_type, floor, cap = f"Resolves Yes if the value is at most {k}.", "less_or_equal", None, k
    return SimMarket(
        ticker=f"{event.event_ticker}-{suffix}",
        event_ticker=event.event_ticker,
        market_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        title=title,
        yes_sub_title=yes,
        no_sub_title=no,
        grid=PriceGrid.named(_pick_grid(rng)),
        open_ms=now_ms - 3_600_000,
        close_ms=close_ms,
        created_ms=now_ms - 86_400_000,
        settlement_timer_s=60,
        rules_primary=rule,
        strike_type=strike_type,
        floor_strike=None if floor is None else float(floor),
        cap_strike=None if cap is None else float(cap),
        updated_ms=now_ms,
    )


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _pick_grid(rng: random.Random) -> str:
    names = [name for name, _ in _GRIDS]
    weights = [weight for _, weight in _GRIDS]
    return rng.choices(names, weights)[0]
