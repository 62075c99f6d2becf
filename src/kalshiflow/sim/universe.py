"""The simulator's listed products: series, events and markets generated from a seed.

Tickers look like Kalshi's (``KXHIGHNY-26NOV25-T60``): a series, an event per date, a few strike
markets per event. Most markets trade on the whole-cent grid; a share use sub-cent structures so
that every client path meets them. Close times are spread from under an hour to days away so
that closes, determinations and settlements happen during a run (sooner with a fast clock).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.sim.state import SimEvent, SimMarket, SimSeries

_SERIES: tuple[tuple[str, str, str, FeeType], ...] = (
    ("KXHIGHNY", "Highest temperature in NYC", "Climate and Weather", FeeType.QUADRATIC),
    ("KXBTCD", "Bitcoin price at close", "Crypto", FeeType.QUADRATIC_WITH_MAKER_FEES),
    ("KXINXD", "S&P 500 daily range", "Financials", FeeType.FLAT),
    ("KXFEDRATE", "Fed funds target rate", "Economics", FeeType.QUADRATIC),
    ("KXNBAGAME", "NBA game winner", "Sports", FeeType.QUADRATIC_WITH_MAKER_FEES),
    ("KXCPIYOY", "CPI year over year", "Economics", FeeType.QUADRATIC),
)

# Weighted choice of grids: mostly whole cents, some sub-cent structures.
_GRIDS: tuple[tuple[str, int], ...] = (
    ("linear_cent", 70),
    ("tapered_deci_cent", 12),
    ("deci_cent", 8),
    ("center_whole_edge_half_cent", 5),
    ("center_half_edge_deci_cent", 5),
)

MARKETS_PER_EVENT = 4


@dataclass(frozen=True, slots=True)
class Listing:
    series: SimSeries
    event: SimEvent
    market: SimMarket


def generate_listings(seed: int, n_markets: int, now_ms: int) -> list[Listing]:
    """``n_markets`` active markets (open since before ``now_ms``), deterministic in ``seed``."""
    rng = random.Random(f"universe-{seed}")
    listings: list[Listing] = []
    event_no = 0
    while len(listings) < n_markets:
        code, title, category, fee_type = _SERIES[event_no % len(_SERIES)]
        series = SimSeries(code, title, category, "daily", fee_type, Fraction(1))
        close_ms = now_ms + _close_offset_ms(rng)
        date = datetime.fromtimestamp(close_ms / 1000, tz=UTC).strftime("%y%b%d").upper()
        event_ticker = f"{code}-{date}{chr(65 + event_no // len(_SERIES) % 26)}"
        event = SimEvent(event_ticker, code, f"{title} on {date}", date, False, now_ms - 86_400_000, now_ms)
        base = rng.randint(20, 80)
        for k in range(min(MARKETS_PER_EVENT, n_markets - len(listings))):
            strike = base + 5 * k
            grid = PriceGrid.named(_pick_grid(rng))
            market = SimMarket(
                ticker=f"{event_ticker}-T{strike}",
                event_ticker=event_ticker,
                market_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                title=f"{title} above {strike}?",
                yes_sub_title=f"Above {strike}",
                no_sub_title=f"{strike} or below",
                grid=grid,
                open_ms=now_ms - 3_600_000,
                close_ms=close_ms,
                created_ms=now_ms - 86_400_000,
                settlement_timer_s=60,
                rules_primary=f"Resolves Yes if the value is above {strike}.",
                strike_type="greater",
                floor_strike=float(strike),
                updated_ms=now_ms,
            )
            listings.append(Listing(series, event, market))
        event_no += 1
    return listings


def _close_offset_ms(rng: random.Random) -> int:
    hours = rng.choice((0.75, 2, 6, 24, 72, 168))
    return int(hours * 3_600_000) + rng.randint(0, 600_000)


def _pick_grid(rng: random.Random) -> str:
    names = [name for name, _ in _GRIDS]
    weights = [weight for _, weight in _GRIDS]
    return rng.choices(names, weights)[0]
