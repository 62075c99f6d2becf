"""The observation schema: a named, versioned, hashed list of features (ARCHITECTURE §7).

A policy is only meaningful with the exact observation it was trained on. Every model therefore
stores the schema version and ``hash`` it was trained with, and loading refuses a mismatch. The hash
covers the version and every field of every spec (name, unit, range, normalisation, description),
serialised as canonical JSON (sorted keys, no whitespace, ASCII, floats written by ``repr`` which is
the shortest round-tripping form and identical on every CPython >= 3.1), so it is stable across runs,
machines and Python versions. Changing any feature -- even its documentation -- means a new version.

``SCHEMA_V1`` lists the 52 features ``features.compute.compute_observation`` produces, in order.
Conventions shared by the book features (so a one-sided book is still a defined observation):
a missing YES bid counts as $0 with size 0, a missing YES ask as $1 with size 0. All prices are seen
from the YES side; the NO side is their complement and would only duplicate them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Final

SCHEMA_V1_SIZE: Final = 52


class SchemaError(ValueError):
    """A schema that is malformed, or that does not match the one a model was trained with."""


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature: what it measures (``unit``), how it is scaled, and its range after scaling.

    ``low``/``high`` bound the *normalised* value; compute clips into them, so a network never sees
    a value outside the range it was trained on.
    """

    name: str
    unit: str
    low: float
    high: float
    normalisation: str
    description: str

    def __post_init__(self) -> None:
        if not self.name or not self.name.isidentifier():
            raise SchemaError(f"feature name {self.name!r} must be an identifier")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise SchemaError(
                f"feature {self.name}: range [{self.low}, {self.high}] is not finite and ordered"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "low": float(self.low),
            "high": float(self.high),
            "normalisation": self.normalisation,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureSpec:
        try:
            return cls(
                name=str(raw["name"]),
                unit=str(raw["unit"]),
                low=float(raw["low"]),
                high=float(raw["high"]),
                normalisation=str(raw["normalisation"]),
                description=str(raw["description"]),
            )
        except KeyError as missing:
            raise SchemaError(f"feature spec is missing {missing}") from None


@dataclass(frozen=True)
class FeatureSchema:
    """An ordered, versioned feature list; ``hash`` identifies it in model manifests."""

    version: int
    features: tuple[FeatureSpec, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _hash: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version < 1:
            raise SchemaError("schema version must be positive")
        index: dict[str, int] = {}
        for i, spec in enumerate(self.features):
            if spec.name in index:
                raise SchemaError(f"feature {spec.name!r} appears twice")
            index[spec.name] = i
        object.__setattr__(self, "_index", index)
        digest = hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()
        object.__setattr__(self, "_hash", digest)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.features)

    @property
    def size(self) -> int:
        return len(self.features)

    @property
    def hash(self) -> str:
        """sha256 hex of ``canonical_json()``: what a model manifest stores and load checks."""
        return self._hash

    @property
    def lows(self) -> tuple[float, ...]:
        return tuple(spec.low for spec in self.features)

    @property
    def highs(self) -> tuple[float, ...]:
        return tuple(spec.high for spec in self.features)

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"no feature named {name!r} in schema v{self.version}") from None

    def spec(self, name: str) -> FeatureSpec:
        return self.features[self.index(name)]

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "features": [spec.to_dict() for spec in self.features]}

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, ASCII: the byte-stable form the hash is taken over."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    def to_json(self) -> str:
        return self.canonical_json()

    @classmethod
    def from_json(cls, text: str) -> FeatureSchema:
        try:
            raw = json.loads(text)
            return cls(int(raw["version"]), tuple(FeatureSpec.from_dict(f) for f in raw["features"]))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise SchemaError(f"not a feature schema: {exc}") from None

    def check_hash(self, expected: str) -> None:
        """Raise with both hashes when a model was trained on a different schema."""
        if expected != self._hash:
            raise SchemaError(
                f"feature schema mismatch: model expects {expected}, this build computes "
                f"v{self.version} {self._hash}"
            )


# --------------------------------------------------------------------------- schema v1
_DOLLAR = "dollars (YES price)"
_DIFF = "dollars"
_LOG_DEPTH = "log1p(contracts) / log1p(10000)"
_LOG_DEPTH_ALL = "log1p(contracts) / log1p(100000)"
_LOG_RATE = "log1p(updates per second) / log1p(1000)"


def _f(name: str, unit: str, low: float, high: float, normalisation: str, description: str) -> FeatureSpec:
    return FeatureSpec(name, unit, low, high, normalisation, description)


def _book() -> list[FeatureSpec]:
    specs = [
        _f("yes_bid", _DOLLAR, 0.0, 1.0, "price / $1", "Best YES bid; $0 when no one bids YES."),
        _f("yes_ask", _DOLLAR, 0.0, 1.0, "price / $1", "Best YES ask (1 - best NO bid); $1 when empty."),
        _f("mid", _DOLLAR, 0.0, 1.0, "price / $1", "(bid + ask) / 2: the market's probability estimate."),
        _f(
            "microprice",
            _DOLLAR,
            0.0,
            1.0,
            "price / $1",
            "Touch-size-weighted mid; leans toward the side likelier to be hit next.",
        ),
        _f(
            "microprice_offset",
            _DIFF,
            -0.5,
            0.5,
            "(microprice - mid) in dollars",
            "Signed pressure at the touch in price terms (not normalised by spread, unlike imbalance_l1).",
        ),
        _f("spread", _DIFF, 0.0, 1.0, "cents / 100", "Ask - bid: the cost of crossing."),
        _f(
            "spread_ticks",
            "grid steps",
            0.0,
            1.0,
            "log1p(steps) / log1p(100)",
            "Grid points between bid and ask: whether joining inside the spread is possible.",
        ),
        _f(
            "tick_size",
            "cents",
            0.0,
            1.0,
            "cents (1 cent = 1.0)",
            "Smallest grid step at the touch; sub-cent grids allow finer queue-jumping.",
        ),
    ]
    for level in ("l1", "l3", "l5", "l10"):
        n = level[1:]
        specs.append(
            _f(
                f"bid_depth_{level}",
                "contracts",
                0.0,
                1.0,
                _LOG_DEPTH,
                f"YES bid size in the best {n} level(s).",
            )
        )
        specs.append(
            _f(
                f"ask_depth_{level}",
                "contracts",
                0.0,
                1.0,
                _LOG_DEPTH,
                f"YES ask size in the best {n} level(s).",
            )
        )
    specs += [
        _f("bid_depth_all", "contracts", 0.0, 1.0, _LOG_DEPTH_ALL, "All resting YES bid size."),
        _f("ask_depth_all", "contracts", 0.0, 1.0, _LOG_DEPTH_ALL, "All resting YES ask (NO bid) size."),
    ]
    for level in ("l1", "l3", "l5", "l10"):
        n = level[1:]
        specs.append(
            _f(
                f"imbalance_{level}",
                "ratio",
                -1.0,
                1.0,
                "(bid - ask) / (bid + ask); 0 when both are 0",
                f"Size imbalance over the best {n} level(s): positive means buyers dominate.",
            )
        )
    specs += [
        _f("bid_levels", "levels", 0.0, 1.0, "log1p(levels) / log1p(100)", "Number of YES bid price levels."),
        _f("ask_levels", "levels", 0.0, 1.0, "log1p(levels) / log1p(100)", "Number of YES ask price levels."),
        _f(
            "bid_vwap5_gap",
            _DIFF,
            0.0,
            1.0,
            "best bid - size-weighted bid price of the best 5 levels, dollars",
            "How thin the bid side is behind the touch; 0 when the ladder is empty.",
        ),
        _f(
            "ask_vwap5_gap",
            _DIFF,
            0.0,
            1.0,
            "size-weighted ask price of the best 5 levels - best ask, dollars",
            "How thin the ask side is behind the touch; 0 when the ladder is empty.",
        ),
    ]
    return specs


def _dynamics() -> list[FeatureSpec]:
    specs = [
        _f(
            f"mid_change_{w}s",
            _DIFF,
            -1.0,
            1.0,
            "mid now - mid at now - window, dollars",
            f"Recent drift over {w} s of clock time (from the oldest sample when history is shorter).",
        )
        for w in (10, 60, 300)
    ]
    specs += [
        _f(
            f"volatility_{w}s",
            _DIFF,
            0.0,
            1.0,
            "sqrt(sum of squared mid changes in the window), dollars",
            f"Realized volatility over {w} s; samples are thinned to one per 100 ms.",
        )
        for w in (10, 60, 300)
    ]
    specs += [
        _f(
            "mid_vs_mean_300s",
            _DIFF,
            -1.0,
            1.0,
            "mid - time-weighted mean mid over 300 s, dollars",
            "Distance from the recent average: a mean-reversion signal.",
        ),
        _f(
            "spread_change_60s",
            _DIFF,
            -1.0,
            1.0,
            "spread now - spread 60 s ago, dollars",
            "Whether liquidity is withdrawing (positive) or competing (negative).",
        ),
        _f("update_rate_10s", "updates/s", 0.0, 1.0, _LOG_RATE, "Book updates per second over 10 s."),
        _f("update_rate_60s", "updates/s", 0.0, 1.0, _LOG_RATE, "Book updates per second over 60 s."),
        _f(
            "time_since_update",
            "seconds",
            0.0,
            1.0,
            "log1p(seconds) / log1p(3600)",
            "Staleness of the book: quiet markets quote less reliably.",
        ),
        _f(
            "time_to_close",
            "seconds",
            0.0,
            1.0,
            "log1p(seconds) / log1p(30 days); 0 once closed",
            "Time left to trade; prices converge to 0 or 1 near the close.",
        ),
    ]
    return specs


def _portfolio() -> list[FeatureSpec]:
    return [
        _f(
            "cash_available",
            "dollars",
            0.0,
            2.0,
            "cash / bankroll",
            "Spendable cash relative to the bankroll.",
        ),
        _f(
            "cash_reserved",
            "dollars",
            0.0,
            1.0,
            "reserved / bankroll",
            "Cash held for all resting buys: exposure about to happen.",
        ),
        _f(
            "position",
            "contracts",
            -1.0,
            1.0,
            "signed contracts / max position (+YES, -NO)",
            "Position in this market relative to the per-market limit.",
        ),
        _f(
            "position_exposure",
            "dollars",
            0.0,
            1.0,
            "cost basis / bankroll",
            "Capital at risk in this market.",
        ),
        _f(
            "entry_price",
            "dollars (held side)",
            0.0,
            1.0,
            "cost basis per contract of the side held, dollars; 0 when flat",
            "What was paid, fees included; the break-even the position must beat.",
        ),
        _f(
            "unrealized_return",
            "ratio",
            -1.0,
            3.0,
            "unrealized P&L / cost basis; 0 when flat",
            "Valued at the bid of the side held after the taker exit fee ($0 with no bid).",
        ),
        _f(
            "unrealized_pnl",
            "dollars",
            -1.0,
            1.0,
            "unrealized P&L / bankroll",
            "Same valuation as unrealized_return, in bankroll terms.",
        ),
        _f(
            "position_age",
            "seconds",
            0.0,
            1.0,
            "log1p(seconds) / log1p(7 days); 0 when flat",
            "Time since the position was opened.",
        ),
    ]


def _orders() -> list[FeatureSpec]:
    specs: list[FeatureSpec] = []
    for side in ("yes", "no"):
        specs.append(
            _f(
                f"resting_{side}_size",
                "contracts",
                0.0,
                1.0,
                "unfilled contracts / max position",
                f"Size of this trader's live buy-{side.upper()} orders in this market.",
            )
        )
        specs.append(
            _f(
                f"resting_{side}_distance",
                _DIFF,
                -1.0,
                1.0,
                f"best {side.upper()} bid - own best {side.upper()} buy price, dollars; 1 when none",
                "How far behind the touch the own order queues (0 at the touch, negative if inside).",
            )
        )
    specs += [
        _f(
            "resting_count",
            "orders",
            0.0,
            1.0,
            "log1p(orders) / log1p(20)",
            "Live orders in this market (pending, resting, partially filled, unknown).",
        ),
        _f(
            "resting_age",
            "seconds",
            0.0,
            1.0,
            "log1p(seconds) / log1p(1 day); 0 when none",
            "Age of the oldest live order: stale quotes risk being picked off.",
        ),
    ]
    return specs


SCHEMA_V1: Final = FeatureSchema(1, tuple(_book() + _dynamics() + _portfolio() + _orders()))

if SCHEMA_V1.size != SCHEMA_V1_SIZE or len(set(SCHEMA_V1.names)) != SCHEMA_V1_SIZE:
    raise SchemaError(f"schema v1 must have {SCHEMA_V1_SIZE} unique features, has {SCHEMA_V1.size}")
