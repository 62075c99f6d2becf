"""The market profile: every knob of the simulated market, with defaults matched to real Kalshi.

A run is described completely by (seed, profile). The profile has one ``CrowdConfig`` (how the
participants behave everywhere) and one ``Archetype`` per kind of market (how liquid and active it
is, how its events are shaped, when it is quiet). ``load_profile(path)`` reads a TOML file that
overrides any field; an unknown section or key, or a value of the wrong type, is an error naming it.

```toml
[crowd]
yes_optimism = 0.3                  # any CrowdConfig field

[archetypes.finance]                # finance, sports, weather, politics, long_dated
weight = 3.0                        # any Archetype field
life_h = [0.25, 1.0]
```

Defaults (and why) are documented on each field; the figures they were tuned against are in
``../shared/market-data/`` (Becker: calibration, maker/taker returns, trade sizes; himagna16:
spreads and quote states of liquid crypto ladders; CAPOPM: full-depth KXINXY ladders).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from kalshiflow.domain.fees import FeeType

_T = TypeVar("_T")


class EventShape(StrEnum):
    """How an event's markets carve up its outcome: a strike ladder, ranges, or a yes/no pair."""

    LADDER = "ladder"  # "above k" for several k: nested, consistent
    RANGES = "ranges"  # "between a and b": a partition, sums to one (plus open-ended tails)
    PAIR = "pair"  # two mutually exclusive sides ("A wins" / "B wins")
    SINGLE = "single"  # one yes/no question


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    ticker: str
    title: str
    category: str
    fee_type: FeeType


@dataclass(frozen=True, slots=True)
class Archetype:
    """One kind of market. Ranges are ``(low, high)``, drawn uniformly (log-uniformly for sizes).

    * ``weight``: share of listed events (relative to the other archetypes).
    * ``series``: the series its events are listed under.
    * ``shape``, ``markets_per_event``: event structure.
    * ``life_h``: hours from listing to close.
    * ``close_early_share``, ``close_early_h``: share of events whose markets close *before* the
      outcome is known, and how much earlier (the outcome is settled at resolution).
    * ``news_per_h``, ``news_share``: scheduled news releases per hour of life, and the share of
      the outcome's total variance that arrives as news (the rest diffuses).
    * ``makers``: how many maker accounts quote each market.
    * ``half_spread_cents``: a maker's base half-spread; ``vol_spread``: extra half-spread, in
      cents, per unit of the market's price volatility (largest near 50¢).
    * ``levels``: levels per side a maker shows; ``level_size``: contracts at the inside level.
    * ``requote_s``: mean sim seconds between a maker's routine re-quotes.
    * ``one_sided_share``: chance a maker quotes only one side of a market. Thin archetypes
      (weather, politics) are quoted by one or two mostly one-sided makers with little deep book,
      so their books are two-sided about as rarely as himagna16's (38% of snapshots).
    * ``taker_per_min``, ``informed_per_min``: uninformed and informed taker arrivals per market.
    * ``deep_orders``: resting orders far from the touch per market; ``lottery_share``: chance a
      market carries 1–2¢ lottery bids on both legs.
    * ``quiet_hours``: (from, to) hour of day (UTC) when activity drops to ``quiet_factor``.
    """

    weight: float
    series: tuple[SeriesSpec, ...]
    shape: EventShape
    markets_per_event: tuple[int, int]
    life_h: tuple[float, float]
    close_early_share: float
    close_early_h: tuple[float, float]
    news_per_h: float
    news_share: float
    makers: tuple[int, int]
    half_spread_cents: tuple[float, float]
    vol_spread: float
    levels: tuple[int, int]
    level_size: tuple[float, float]
    requote_s: float
    one_sided_share: float
    taker_per_min: float
    informed_per_min: float
    deep_orders: tuple[int, int]
    lottery_share: float
    quiet_hours: tuple[int, int] | None = None
    quiet_factor: float = 0.3


@dataclass(frozen=True, slots=True)
class CrowdConfig:
    """Participants' behaviour in every market.

    * ``maker_belief_noise`` (0.04): sd of a maker's private error about the outcome, in units of
      the outcome's remaining sd (so in probit units); re-drawn slowly (AR(1), 0.97 per re-quote).
      Shared across an event's markets, so each maker's own quotes on a ladder are consistent.
    * ``maker_news_lag_s`` ((5, 60)): how late a maker hears news (sim seconds).
    * ``maker_skew_cents_per_100`` (0.4): centre shift per 100 contracts of inventory.
    * ``maker_max_position`` (20,000): a maker stops adding to a side beyond this many contracts.
    * ``maker_refill_s`` (3.0): how soon a maker re-quotes after one of its orders traded.
    * ``news_widen`` (1.5): half-spread multiplier for 5 minutes after a maker hears news.
    * ``level_gap_cents`` ((1, 4)): distance between a maker's levels.
    * ``valuation_sd`` (0.1): sd of an uninformed taker's private valuation, in probability per
      unit of √(q(1−q)) (5¢ at 50¢, 2¢ at 5¢).
    * ``yes_optimism`` (0.3): logit shift toward YES of uninformed valuations (applied to first
      order), scaled by ``(1 − q)^longshot_power`` so that it is strongest on YES longshots: the
      favourite–longshot bias (a small overstatement of small probabilities).
    * ``longshot_power`` (2.0): see ``yes_optimism``.
    * ``size_shares`` ((0.08, 0.27, 0.42, 0.20, 0.03)): uninformed orders of 1, 2–10, 11–100,
      101–1,000 and 1,001–10,000 contracts (Becker's trade-size buckets, before fills split them).
    * ``informed_edge_cents`` (1.0): mispricing the informed trader needs before it takes.
    * ``informed_size`` ((20, 600)): contracts per informed order (log-uniform).
    * ``informed_lag_s`` ((0.5, 3.0)): how late the informed trader hears news.
    * ``news_burst`` (4.0): taker activity multiplier right after news, decaying over 10 minutes.
    * ``close_ramp`` (2.0): taker activity multiplier in the last tenth of a market's life.
    * ``determine_delay_s`` (30): sim seconds between resolution and determination.
    """

    maker_belief_noise: float = 0.04
    maker_news_lag_s: tuple[float, float] = (5.0, 60.0)
    maker_skew_cents_per_100: float = 0.4
    maker_max_position: int = 20_000
    maker_refill_s: float = 3.0
    news_widen: float = 1.5
    level_gap_cents: tuple[int, int] = (1, 4)
    valuation_sd: float = 0.1
    yes_optimism: float = 0.3
    longshot_power: float = 2.0
    size_shares: tuple[float, float, float, float, float] = (0.08, 0.27, 0.42, 0.20, 0.03)
    informed_edge_cents: float = 1.0
    informed_size: tuple[float, float] = (20.0, 600.0)
    informed_lag_s: tuple[float, float] = (0.5, 3.0)
    news_burst: float = 4.0
    close_ramp: float = 2.0
    determine_delay_s: int = 30


def _series(*rows: tuple[str, str, str, FeeType]) -> tuple[SeriesSpec, ...]:
    return tuple(SeriesSpec(*row) for row in rows)


DEFAULT_ARCHETYPES: dict[str, Archetype] = {
    "finance": Archetype(
        weight=3.0,
        series=_series(
            ("KXBTCD", "Bitcoin price at close", "Crypto", FeeType.QUADRATIC_WITH_MAKER_FEES),
            ("KXINXD", "S&P 500 at close", "Financials", FeeType.QUADRATIC),
            ("KXETHD", "Ethereum price at close", "Crypto", FeeType.QUADRATIC_WITH_MAKER_FEES),
        ),
        shape=EventShape.LADDER,
        markets_per_event=(4, 8),
        life_h=(1.0, 24.0),
        close_early_share=0.0,
        close_early_h=(0.0, 0.0),
        news_per_h=0.2,
        news_share=0.15,
        makers=(3, 5),
        half_spread_cents=(0.4, 1.2),
        vol_spread=2.5,
        levels=(1, 4),
        level_size=(50.0, 2_000.0),
        requote_s=30.0,
        one_sided_share=0.15,
        taker_per_min=0.8,
        informed_per_min=0.3,
        deep_orders=(0, 3),
        lottery_share=0.1,
    ),
    "sports": Archetype(
        weight=2.0,
        series=_series(
            ("KXNBAGAME", "NBA game winner", "Sports", FeeType.QUADRATIC_WITH_MAKER_FEES),
            ("KXNFLGAME", "NFL game winner", "Sports", FeeType.QUADRATIC),
        ),
        shape=EventShape.PAIR,
        markets_per_event=(2, 2),
        life_h=(2.0, 48.0),
        close_early_share=0.0,
        close_early_h=(0.0, 0.0),
        news_per_h=0.5,
        news_share=0.5,
        makers=(2, 3),
        half_spread_cents=(0.5, 2.0),
        vol_spread=4.0,
        levels=(1, 3),
        level_size=(20.0, 1_000.0),
        requote_s=45.0,
        one_sided_share=0.2,
        taker_per_min=0.6,
        informed_per_min=0.15,
        deep_orders=(0, 2),
        lottery_share=0.2,
        quiet_hours=(5, 14),
    ),
    "weather": Archetype(
        weight=1.5,
        series=_series(("KXHIGHNY", "Highest temperature in NYC", "Climate and Weather", FeeType.QUADRATIC)),
        shape=EventShape.RANGES,
        markets_per_event=(4, 6),
        life_h=(6.0, 36.0),
        close_early_share=0.7,
        close_early_h=(1.0, 8.0),
        news_per_h=0.1,
        news_share=0.3,
        makers=(1, 2),
        half_spread_cents=(1.0, 4.0),
        vol_spread=4.0,
        levels=(1, 3),
        level_size=(10.0, 500.0),
        requote_s=120.0,
        one_sided_share=0.85,  # thin books: two-sided in about 38% of snapshots, as himagna16's
        taker_per_min=0.25,
        informed_per_min=0.05,
        deep_orders=(0, 1),
        lottery_share=0.0,
        quiet_hours=(4, 11),
    ),
    "politics": Archetype(
        weight=1.5,
        series=_series(
            ("KXMENTION", "Will the speaker say the word", "Mentions", FeeType.QUADRATIC),
            ("KXAPPROVAL", "Presidential approval", "Politics", FeeType.QUADRATIC),
        ),
        shape=EventShape.SINGLE,
        markets_per_event=(1, 1),
        life_h=(2.0, 72.0),
        close_early_share=0.5,
        close_early_h=(0.5, 6.0),
        news_per_h=0.15,
        news_share=0.6,
        makers=(1, 2),
        half_spread_cents=(1.0, 3.0),
        vol_spread=5.0,
        levels=(1, 3),
        level_size=(10.0, 800.0),
        requote_s=90.0,
        one_sided_share=0.85,  # thin books, as weather
        taker_per_min=0.5,
        informed_per_min=0.05,
        deep_orders=(0, 1),
        lottery_share=0.0,
        quiet_hours=(6, 12),
    ),
    "long_dated": Archetype(
        weight=1.0,
        series=_series(("KXINXY", "S&P 500 year-end range", "Financials", FeeType.QUADRATIC)),
        shape=EventShape.RANGES,
        markets_per_event=(5, 8),
        life_h=(72.0, 720.0),
        close_early_share=0.0,
        close_early_h=(0.0, 0.0),
        news_per_h=0.01,
        news_share=0.3,
        makers=(0, 2),
        half_spread_cents=(2.0, 8.0),
        vol_spread=2.0,
        levels=(1, 2),
        level_size=(10.0, 300.0),
        requote_s=900.0,
        one_sided_share=0.6,
        taker_per_min=0.05,
        informed_per_min=0.01,
        deep_orders=(4, 12),
        lottery_share=0.9,
    ),
}


@dataclass(frozen=True, slots=True)
class MarketProfile:
    """The whole market: participants' behaviour and the archetypes listed (by weight)."""

    crowd: CrowdConfig = field(default_factory=CrowdConfig)
    archetypes: dict[str, Archetype] = field(default_factory=lambda: dict(DEFAULT_ARCHETYPES))

    def __post_init__(self) -> None:
        if not self.archetypes or sum(a.weight for a in self.archetypes.values()) <= 0:
            raise ValueError("a profile needs at least one archetype with a positive weight")
        for name, archetype in self.archetypes.items():
            if archetype.life_h[0] <= 0 or archetype.life_h[0] > archetype.life_h[1]:
                raise ValueError(f"archetypes.{name}.life_h must be 0 < low <= high")

    def scaled_life(self, factor: float) -> MarketProfile:
        """The same market with every lifetime (and early-close gap) multiplied by ``factor``.

        News and arrival rates are per hour, so a shorter life keeps the per-minute look of a
        market and settles more of them per simulated hour (what the realism tests need).
        """
        scaled = {
            name: dataclasses.replace(
                a,
                life_h=(a.life_h[0] * factor, a.life_h[1] * factor),
                close_early_h=(a.close_early_h[0] * factor, a.close_early_h[1] * factor),
                news_per_h=a.news_per_h / factor,
            )
            for name, a in self.archetypes.items()
        }
        return dataclasses.replace(self, archetypes=scaled)


class ProfileError(ValueError):
    """A TOML profile names an unknown key or has a value of the wrong type."""


def load_profile(path: Path) -> MarketProfile:
    """Defaults overridden by the TOML file at ``path``; ``ProfileError`` for a file that cannot be
    read or is not TOML, as for an unknown key (one line, not a parser's traceback)."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ProfileError("file not found") from None
    except OSError as exc:
        raise ProfileError(f"cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not valid TOML ({exc})") from None
    return profile_from_dict(data)


def profile_from_dict(data: dict[str, Any]) -> MarketProfile:
    unknown = set(data) - {"crowd", "archetypes"}
    if unknown:
        raise ProfileError(f"unknown profile section(s): {', '.join(sorted(unknown))}")
    crowd = _override(CrowdConfig(), data.get("crowd", {}), "crowd")
    archetypes = dict(DEFAULT_ARCHETYPES)
    for name, overrides in data.get("archetypes", {}).items():
        base = archetypes.get(name)
        if base is None:
            raise ProfileError(f"archetypes.{name}: unknown archetype (known: {', '.join(archetypes)})")
        archetypes[name] = _override(base, overrides, f"archetypes.{name}")
    try:
        return MarketProfile(crowd, archetypes)
    except ValueError as exc:
        raise ProfileError(str(exc)) from None


def _override(base: _T, overrides: dict[str, Any], where: str) -> _T:
    assert dataclasses.is_dataclass(base)
    assert not isinstance(base, type)
    fields = {f.name for f in dataclasses.fields(base)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in fields or key == "series":
            raise ProfileError(f"{where}.{key}: unknown key")
        current = getattr(base, key)
        changes[key] = _coerce(current, value, f"{where}.{key}")
    return dataclasses.replace(base, **changes)


def _coerce(current: object, value: object, where: str) -> object:
    if isinstance(current, StrEnum):
        try:
            return type(current)(str(value))
        except ValueError:
            raise ProfileError(
                f"{where}: {value!r} is not one of {[m.value for m in type(current)]}"
            ) from None
    if isinstance(current, tuple) or (current is None and isinstance(value, list)):
        if not isinstance(value, list) or (isinstance(current, tuple) and len(value) != len(current)):
            raise ProfileError(f"{where}: expected a list like {list(current or ())}")
        return tuple(value)
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise ProfileError(f"{where}: cannot be set from a profile")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(f"{where}: expected a number, got {value!r}")
    return type(current)(value)
