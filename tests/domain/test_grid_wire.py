"""Per-market price grids: the wire form (``price_ranges``), its round trip and its errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.domain.grid_kit import GRIDS, NAMES, REFERENCE_BANDS

from kalshiflow.domain.grid import STRUCTURES, GridError, PriceBand, PriceGrid
from kalshiflow.domain.units import PRICE_SCALE, Price


@pytest.mark.parametrize("name", NAMES)
def test_named_grid_round_trips_through_the_wire_form(name: str) -> None:
    grid = GRIDS[name]
    wire = grid.to_wire()
    assert PriceGrid.from_wire(name, wire) == grid
    assert [(b["start"], b["end"], b["step"]) for b in wire] == [
        (Price.parse(s).dollars_str(), Price.parse(e).dollars_str(), Price.parse(st_).dollars_str())
        for s, e, st_ in REFERENCE_BANDS[name]
    ]


def test_linear_cent_wire_form_is_four_decimal_strings() -> None:
    assert GRIDS["linear_cent"].to_wire() == [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]


def test_from_wire_accepts_short_decimals_and_sorts_bands() -> None:
    ranges = [
        {"start": "0.90", "end": "1.00", "step": "0.001"},
        {"start": "0.00", "end": "0.10", "step": "0.001"},
        {"start": "0.10", "end": "0.90", "step": "0.01"},
    ]
    grid = PriceGrid.from_wire("tapered_deci_cent", ranges)
    assert grid == GRIDS["tapered_deci_cent"]


@st.composite
def bands(draw: st.DrawFn) -> PriceBand:
    start = draw(st.integers(min_value=0, max_value=PRICE_SCALE - 1))
    step = draw(st.integers(min_value=1, max_value=PRICE_SCALE - start))
    count = draw(st.integers(min_value=1, max_value=(PRICE_SCALE - start) // step))
    return PriceBand(Price(start), Price(start + count * step), Price(step))


@given(bands())
def test_band_round_trips_through_the_wire_form(band: PriceBand) -> None:
    assert PriceBand.from_wire(band.to_wire()) == band


@given(st.lists(bands(), min_size=1, max_size=4))
def test_any_grid_of_bands_round_trips_and_validates_like_its_bands(band_list: list[PriceBand]) -> None:
    grid = PriceGrid.from_wire("custom", [band.to_wire() for band in band_list])
    assert PriceGrid.from_wire("custom", grid.to_wire()) == grid
    expected = {p for b in band_list for p in range(b.start, b.end + 1, b.step) if 0 < p < PRICE_SCALE}
    assert set(grid.tradable) == expected
    assert all(grid.is_valid(p) for p in expected)


@pytest.mark.parametrize(
    "raw",
    [
        {"start": "0.00", "end": "1.00", "step": "0.00"},  # step 0
        {"start": "0.00", "end": "1.00", "step": "-0.01"},  # negative step
        {"start": "0.00", "end": "0.95", "step": "0.02"},  # end not on the step
        {"start": "0.01", "end": "1.00", "step": "0.02"},  # end not on the step
        {"start": "0.50", "end": "0.50", "step": "0.01"},  # start == end
        {"start": "0.60", "end": "0.50", "step": "0.01"},  # start > end
        {"start": "0.00", "end": "1.01", "step": "0.01"},  # beyond $1
        {"start": "-0.01", "end": "0.99", "step": "0.01"},  # below $0
    ],
)
def test_bad_price_range_is_a_grid_error(raw: dict[str, str]) -> None:
    with pytest.raises(GridError):
        PriceBand.from_wire(raw)
    with pytest.raises(GridError):
        PriceGrid.from_wire("custom", [raw])


@pytest.mark.parametrize("missing", ["start", "end", "step"])
def test_price_range_missing_a_key_is_a_grid_error(missing: str) -> None:
    raw = {"start": "0.00", "end": "1.00", "step": "0.01"}
    del raw[missing]
    with pytest.raises(GridError, match="missing"):
        PriceBand.from_wire(raw)


def test_grid_without_bands_is_a_grid_error() -> None:
    with pytest.raises(GridError, match="at least one band"):
        PriceGrid.from_wire("custom", [])
    with pytest.raises(GridError, match="at least one band"):
        PriceGrid("custom", ())


def test_grid_error_is_a_value_error() -> None:
    assert issubclass(GridError, ValueError)


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_a_grids_wire_form_is_its_bands_and_fresh_on_every_call(name: str) -> None:
    """The texts are formatted once per grid: the answer is still each band's, in new dicts."""
    grid = PriceGrid.named(name)
    first = grid.to_wire()
    assert first == [band.to_wire() for band in grid.bands]
    first[0]["start"] = "changed"
    first.append({"start": "x", "end": "y", "step": "z"})
    second = grid.to_wire()
    assert second == [band.to_wire() for band in grid.bands]
    assert second is not first
    assert all(a is not b for a, b in zip(second, first, strict=False))
