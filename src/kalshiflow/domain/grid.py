"""Per-market price grids built from the API's ``price_ranges``.

Kalshi markets do not all trade in whole cents: ``price_ranges`` lists bands ``{start, end, step}``
and a price is valid only if it lies on one band's grid. The grid is expanded once into a sorted
tuple of valid prices (at most 10,001 levels for a $0.0001 grid), so validation, stepping and
rounding are binary searches with no float arithmetic. Prices 0 and $1 are grid points but are not
tradable; ``tradable()`` excludes them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Final

from kalshiflow.domain.units import PRICE_SCALE, Price


class GridError(ValueError):
    """A ``price_ranges`` description that does not form a grid."""


@dataclass(frozen=True, slots=True)
class PriceBand:
    """One ``price_ranges`` entry: valid prices ``start, start+step, ... <= end``."""

    start: Price
    end: Price
    step: Price

    @classmethod
    def from_wire(cls, raw: dict[str, str]) -> PriceBand:
        try:
            band = cls(Price.parse(raw["start"]), Price.parse(raw["end"]), Price.parse(raw["step"]))
        except KeyError as missing:
            raise GridError(f"price range is missing {missing}") from None
        if band.step <= 0 or band.start < 0 or band.end > PRICE_SCALE or band.start >= band.end:
            raise GridError(f"invalid price range {raw}")
        if (band.end - band.start) % band.step:
            raise GridError(f"price range {raw} does not end on its own step")
        return band

    def to_wire(self) -> dict[str, str]:
        return {
            "start": self.start.dollars_str(),
            "end": self.end.dollars_str(),
            "step": self.step.dollars_str(),
        }


@dataclass(frozen=True)
class PriceGrid:
    """The set of valid prices of one market."""

    structure: str
    bands: tuple[PriceBand, ...]

    def __post_init__(self) -> None:
        if not self.bands:
            raise GridError("a price grid needs at least one band")

    # The expansions are cached per grid object (after the first read an attribute is a plain
    # instance-dict hit), and shared between equal grids by the module caches: reading them through
    # those caches on every call hashed the bands (a Python-level dataclass hash per band), twice per
    # order on the decision path (the order-shape check validates the price of each side).
    @cached_property
    def levels(self) -> tuple[Price, ...]:
        return _expand(self.bands)

    @cached_property
    def tradable(self) -> tuple[Price, ...]:
        """Valid prices strictly between $0 and $1."""
        return _tradable(self.bands)

    @cached_property
    def _tradable_set(self) -> frozenset[int]:
        return _tradable_set(self.bands)

    def is_valid(self, price: int) -> bool:
        """True when ``price`` is a tradable grid point."""
        return price in self._tradable_set

    def step_up(self, price: int, steps: int = 1) -> Price | None:
        """The tradable price ``steps`` grid points above ``price`` (None past the top)."""
        levels = self.tradable
        i = bisect_right(levels, price) + steps - 1
        return levels[i] if 0 <= i < len(levels) else None

    def step_down(self, price: int, steps: int = 1) -> Price | None:
        """The tradable price ``steps`` grid points below ``price`` (None past the bottom)."""
        levels = self.tradable
        i = bisect_left(levels, price) - steps
        return levels[i] if 0 <= i < len(levels) else None

    def nearest(self, price: int, direction: str = "nearest") -> Price:
        """Round ``price`` onto the tradable grid: ``"down"``, ``"up"`` or ``"nearest"`` (ties go down)."""
        if direction not in ("down", "up", "nearest"):
            raise ValueError(f"unknown rounding direction {direction!r}")
        levels = self.tradable
        if not levels:
            raise GridError(f"grid {self.structure!r} has no tradable price")
        i = bisect_left(levels, price)
        if i < len(levels) and levels[i] == price:
            return levels[i]
        below = levels[i - 1] if i > 0 else None
        above = levels[i] if i < len(levels) else None
        if direction == "down":
            return below if below is not None else levels[0]
        if direction == "up":
            return above if above is not None else levels[-1]
        if below is None:
            return levels[0]
        if above is None:
            return levels[-1]
        return below if price - below <= above - price else above

    # Answers by price, filled on first ask (at most one entry per price of the $0-$1 range): the
    # exit tick asks it for every live order and held position each second, over frozen bands.
    @cached_property
    def _min_steps(self) -> dict[int, Price]:
        return {}

    def min_step_at(self, price: int) -> Price:
        """Smallest step of any band containing ``price``."""
        memo = self._min_steps
        step = memo.get(price)
        if step is None:
            steps = [b.step for b in self.bands if b.start <= price <= b.end]
            if not steps:
                raise GridError(f"price {price} lies outside grid {self.structure!r}")
            step = memo[price] = Price(min(steps))
        return step

    # The bands' texts, formatted once per grid (the grid is frozen): the simulator renders every
    # listed market's grid on each markets read, ~5 decimal formats a market. Fresh dicts each call.
    @cached_property
    def _wire_texts(self) -> tuple[tuple[str, str, str], ...]:
        return tuple((w["start"], w["end"], w["step"]) for w in (band.to_wire() for band in self.bands))

    def to_wire(self) -> list[dict[str, str]]:
        return [{"start": start, "end": end, "step": step} for start, end, step in self._wire_texts]

    @classmethod
    def from_wire(cls, structure: str, ranges: list[dict[str, str]]) -> PriceGrid:
        bands = tuple(sorted((PriceBand.from_wire(r) for r in ranges), key=lambda b: b.start))
        return cls(structure, bands)

    @classmethod
    def named(cls, structure: str) -> PriceGrid:
        """One of Kalshi's documented ``price_level_structure`` grids."""
        try:
            spec = STRUCTURES[structure]
        except KeyError:
            raise GridError(f"unknown price_level_structure {structure!r}") from None
        return cls(structure, tuple(PriceBand(Price(a), Price(b), Price(s)) for a, b, s in spec))


@lru_cache(maxsize=64)
def _expand(bands: tuple[PriceBand, ...]) -> tuple[Price, ...]:
    points: set[int] = set()
    for band in bands:
        points.update(range(band.start, band.end + 1, band.step))
    return tuple(Price(p) for p in sorted(points))


@lru_cache(maxsize=64)
def _tradable(bands: tuple[PriceBand, ...]) -> tuple[Price, ...]:
    levels = _expand(bands)
    return levels[bisect_right(levels, 0) : bisect_left(levels, PRICE_SCALE)]


@lru_cache(maxsize=64)
def _tradable_set(bands: tuple[PriceBand, ...]) -> frozenset[int]:
    return frozenset(int(p) for p in _tradable(bands))


def _tapered(edge_step: int, center_step: int) -> tuple[tuple[int, int, int], ...]:
    return ((0, 1000, edge_step), (1000, 9000, center_step), (9000, 10000, edge_step))


# Bands in $0.0001 units, from the API reference section 3.2.
STRUCTURES: Final[dict[str, tuple[tuple[int, int, int], ...]]] = {
    "linear_cent": ((0, 10000, 100),),
    "deci_cent": ((0, 10000, 10),),
    "tapered_deci_cent": _tapered(10, 100),
    "center_whole_edge_half_cent": _tapered(50, 100),
    "center_whole_edge_quint_cent": _tapered(20, 100),
    "center_half_edge_half_cent": ((0, 10000, 50),),
    "center_half_edge_quint_cent": _tapered(20, 50),
    "center_half_edge_deci_cent": _tapered(10, 50),
    "center_quint_edge_quint_cent": ((0, 10000, 20),),
    "center_quint_edge_deci_cent": _tapered(10, 20),
    "center_centi_edge_centi_cent": ((0, 10000, 1),),
    "center_deci_edge_centi_cent": ((0, 100, 1), (100, 9900, 10), (9900, 10000, 1)),
}
