"""Per-market price grids: validity per named structure, stepping, rounding and the wire form."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalshiflow.domain.grid import STRUCTURES, GridError, PriceBand, PriceGrid
from kalshiflow.domain.units import PRICE_SCALE, Price

# The table of the API reference, section 3.2, transcribed in dollars (start, end, step), independently of
# the code's own STRUCTURES, so a typo in either one shows up as a failure.
REFERENCE_BANDS: dict[str, list[tuple[str, str, str]]] = {
    "linear_cent": [("0.00", "1.00", "0.01")],
    "deci_cent": [("0.00", "1.00", "0.001")],
    "tapered_deci_cent": [("0.00", "0.10", "0.001"), ("0.10", "0.90", "0.01"), ("0.90", "1.00", "0.001")],
    "center_whole_edge_half_cent": [
        ("0.00", "0.10", "0.005"),
        ("0.10", "0.90", "0.01"),
        ("0.90", "1.00", "0.005"),
    ],
    "center_whole_edge_quint_cent": [
        ("0.00", "0.10", "0.002"),
        ("0.10", "0.90", "0.01"),
        ("0.90", "1.00", "0.002"),
    ],
    "center_half_edge_half_cent": [("0.00", "1.00", "0.005")],
    "center_half_edge_quint_cent": [
        ("0.00", "0.10", "0.002"),
        ("0.10", "0.90", "0.005"),
        ("0.90", "1.00", "0.002"),
    ],
    "center_half_edge_deci_cent": [
        ("0.00", "0.10", "0.001"),
        ("0.10", "0.90", "0.005"),
        ("0.90", "1.00", "0.001"),
    ],
    "center_quint_edge_quint_cent": [("0.00", "1.00", "0.002")],
    "center_quint_edge_deci_cent": [
        ("0.00", "0.10", "0.001"),
        ("0.10", "0.90", "0.002"),
        ("0.90", "1.00", "0.001"),
    ],
    "center_centi_edge_centi_cent": [("0.00", "1.00", "0.0001")],
    "center_deci_edge_centi_cent": [
        ("0.00", "0.01", "0.0001"),
        ("0.01", "0.99", "0.001"),
        ("0.99", "1.00", "0.0001"),
    ],
}

NAMES = sorted(STRUCTURES)
GRIDS = {name: PriceGrid.named(name) for name in NAMES}
structure_names = st.sampled_from(NAMES)
any_price = st.integers(min_value=-200, max_value=PRICE_SCALE + 200)


def reference_is_valid(name: str, price: int) -> bool:
    if not 0 < price < PRICE_SCALE:
        return False
    for start_s, end_s, step_s in REFERENCE_BANDS[name]:
        start, end, step = Price.parse(start_s), Price.parse(end_s), Price.parse(step_s)
        if start <= price <= end and (price - start) % step == 0:
            return True
    return False


@st.composite
def grid_with_index(draw: st.DrawFn) -> tuple[PriceGrid, int]:
    """A named grid and the index of one of its tradable prices."""
    grid = GRIDS[draw(structure_names)]
    index = draw(st.integers(min_value=0, max_value=len(grid.tradable) - 1))
    return grid, index


# --- the named structures ----------------------------------------------------------------------


def test_structures_are_exactly_the_documented_ones() -> None:
    assert set(STRUCTURES) == set(REFERENCE_BANDS)


@pytest.mark.parametrize("name", NAMES)
def test_validity_matches_the_reference_at_every_price(name: str) -> None:
    grid = GRIDS[name]
    mismatches = [p for p in range(-1, PRICE_SCALE + 2) if grid.is_valid(p) != reference_is_valid(name, p)]
    assert mismatches == []


@pytest.mark.parametrize("name", NAMES)
def test_whole_cent_prices_are_valid_in_every_structure(name: str) -> None:
    grid = GRIDS[name]
    assert all(grid.is_valid(Price.from_cents(cents)) for cents in range(1, 100))


@pytest.mark.parametrize("name", NAMES)
def test_zero_and_one_dollar_are_grid_points_but_not_tradable(name: str) -> None:
    grid = GRIDS[name]
    assert grid.levels[0] == 0
    assert grid.levels[-1] == PRICE_SCALE
    assert not grid.is_valid(0)
    assert not grid.is_valid(PRICE_SCALE)
    assert not grid.is_valid(-100)
    assert not grid.is_valid(PRICE_SCALE + 100)


@pytest.mark.parametrize("name", NAMES)
def test_tradable_is_the_sorted_levels_strictly_inside_zero_and_one(name: str) -> None:
    grid = GRIDS[name]
    tradable = grid.tradable
    assert list(tradable) == sorted(set(tradable))
    assert tradable == tuple(p for p in grid.levels if 0 < p < PRICE_SCALE)
    assert all(type(p) is Price for p in tradable)
    assert all(grid.is_valid(p) for p in tradable)


@pytest.mark.parametrize(
    ("name", "price", "valid"),
    [
        ("tapered_deci_cent", "0.0010", True),
        ("tapered_deci_cent", "0.1010", False),
        ("tapered_deci_cent", "0.9010", True),
        ("tapered_deci_cent", "0.0990", True),
        ("tapered_deci_cent", "0.0995", False),
        ("tapered_deci_cent", "0.1000", True),
        ("tapered_deci_cent", "0.8990", False),
        ("tapered_deci_cent", "0.9990", True),
        ("linear_cent", "0.5050", False),
        ("linear_cent", "0.0050", False),
        ("deci_cent", "0.5050", True),
        ("deci_cent", "0.5055", False),
        ("center_whole_edge_half_cent", "0.0050", True),
        ("center_whole_edge_half_cent", "0.0010", False),
        ("center_whole_edge_half_cent", "0.5050", False),
        ("center_whole_edge_half_cent", "0.9950", True),
        ("center_whole_edge_quint_cent", "0.0020", True),
        ("center_whole_edge_quint_cent", "0.0030", False),
        ("center_whole_edge_quint_cent", "0.5020", False),
        ("center_half_edge_half_cent", "0.5050", True),
        ("center_half_edge_half_cent", "0.5020", False),
        ("center_half_edge_quint_cent", "0.0040", True),
        ("center_half_edge_quint_cent", "0.5050", True),
        ("center_half_edge_quint_cent", "0.5020", False),
        ("center_half_edge_deci_cent", "0.0030", True),
        ("center_half_edge_deci_cent", "0.5030", False),
        ("center_half_edge_deci_cent", "0.5050", True),
        ("center_quint_edge_quint_cent", "0.5020", True),
        ("center_quint_edge_quint_cent", "0.5010", False),
        ("center_quint_edge_deci_cent", "0.0030", True),
        ("center_quint_edge_deci_cent", "0.5030", False),
        ("center_quint_edge_deci_cent", "0.5040", True),
        ("center_centi_edge_centi_cent", "0.5055", True),
        ("center_centi_edge_centi_cent", "0.0001", True),
        ("center_deci_edge_centi_cent", "0.0055", True),
        ("center_deci_edge_centi_cent", "0.0105", False),
        ("center_deci_edge_centi_cent", "0.0110", True),
        ("center_deci_edge_centi_cent", "0.9955", True),
        ("center_deci_edge_centi_cent", "0.9895", False),
    ],
)
def test_sub_cent_points_are_valid_exactly_where_the_reference_says(
    name: str, price: str, valid: bool
) -> None:
    assert GRIDS[name].is_valid(Price.parse(price)) is valid


@pytest.mark.parametrize(
    ("name", "price", "step"),
    [
        ("tapered_deci_cent", "0.0500", "0.001"),
        ("tapered_deci_cent", "0.5000", "0.01"),
        ("tapered_deci_cent", "0.1000", "0.001"),  # on the border of two bands: the finer one
        ("tapered_deci_cent", "0.9500", "0.001"),
        ("center_deci_edge_centi_cent", "0.0050", "0.0001"),
        ("center_deci_edge_centi_cent", "0.5000", "0.001"),
        ("linear_cent", "0.5000", "0.01"),
    ],
)
def test_min_step_at_is_the_finest_band_containing_the_price(name: str, price: str, step: str) -> None:
    assert GRIDS[name].min_step_at(Price.parse(price)) == Price.parse(step)


def test_min_step_at_answers_the_same_when_asked_again_in_any_order() -> None:
    """The answers are remembered per price: a second ask, in another order, and a fresh grid of the
    same bands agree with the bands; a price outside the grid stays an error (nothing remembered)."""
    for name in ("tapered_deci_cent", "center_deci_edge_centi_cent"):
        grid = PriceGrid.named(name)
        prices = list(range(0, PRICE_SCALE + 1, 7))
        first = [grid.min_step_at(p) for p in prices]
        again = [grid.min_step_at(p) for p in reversed(prices)][::-1]
        fresh = PriceGrid(grid.structure, grid.bands)
        expected = [min(b.step for b in grid.bands if b.start <= p <= b.end) for p in prices]
        assert first == again == [fresh.min_step_at(p) for p in prices] == expected
        for _ in range(2):
            with pytest.raises(GridError):
                grid.min_step_at(PRICE_SCALE + 1)


def test_unknown_structure_name_is_a_grid_error() -> None:
    with pytest.raises(GridError, match="unknown price_level_structure"):
        PriceGrid.named("banded_centi_cent_v9")


# --- stepping -----------------------------------------------------------------------------------


@given(grid_with_index())
def test_step_up_and_step_down_walk_neighbouring_tradable_prices(grid_index: tuple[PriceGrid, int]) -> None:
    grid, i = grid_index
    tradable = grid.tradable
    price = tradable[i]
    up, down = grid.step_up(price), grid.step_down(price)
    assert up == (tradable[i + 1] if i + 1 < len(tradable) else None)
    assert down == (tradable[i - 1] if i > 0 else None)
    if up is not None:
        assert grid.step_down(up) == price
    if down is not None:
        assert grid.step_up(down) == price


@given(grid_with_index(), st.integers(min_value=1, max_value=50))
def test_stepping_several_levels_is_stepping_one_level_repeatedly(
    grid_index: tuple[PriceGrid, int], steps: int
) -> None:
    grid, i = grid_index
    price = grid.tradable[i]
    walked_up: Price | None = price
    walked_down: Price | None = price
    for _ in range(steps):
        walked_up = grid.step_up(walked_up) if walked_up is not None else None
        walked_down = grid.step_down(walked_down) if walked_down is not None else None
    assert grid.step_up(price, steps) == walked_up
    assert grid.step_down(price, steps) == walked_down
    up = grid.step_up(price, steps)
    if up is not None:
        assert grid.step_down(up, steps) == price


@given(structure_names, any_price)
def test_step_up_from_any_price_is_the_next_tradable_price_above(name: str, price: int) -> None:
    grid = GRIDS[name]
    tradable = grid.tradable
    up = grid.step_up(price)
    above = [p for p in tradable if p > price]
    assert up == (above[0] if above else None)


@given(structure_names, any_price)
def test_step_down_from_any_price_is_the_next_tradable_price_below(name: str, price: int) -> None:
    grid = GRIDS[name]
    tradable = grid.tradable
    down = grid.step_down(price)
    below = [p for p in tradable if p < price]
    assert down == (below[-1] if below else None)


@pytest.mark.parametrize("name", NAMES)
def test_stepping_past_either_end_is_none(name: str) -> None:
    grid = GRIDS[name]
    assert grid.step_up(grid.tradable[-1]) is None
    assert grid.step_down(grid.tradable[0]) is None
    assert grid.step_up(PRICE_SCALE) is None
    assert grid.step_down(0) is None
    assert grid.step_up(0) == grid.tradable[0]
    assert grid.step_down(PRICE_SCALE) == grid.tradable[-1]


def test_step_up_crosses_band_borders_onto_the_coarser_grid() -> None:
    grid = GRIDS["tapered_deci_cent"]
    assert grid.step_up(Price.parse("0.0990")) == Price.parse("0.1000")
    assert grid.step_up(Price.parse("0.1000")) == Price.parse("0.1100")
    assert grid.step_down(Price.parse("0.1000")) == Price.parse("0.0990")
    assert grid.step_up(Price.parse("0.8900")) == Price.parse("0.9000")
    assert grid.step_up(Price.parse("0.9000")) == Price.parse("0.9010")


# --- rounding onto the grid ---------------------------------------------------------------------


def tradable_range(name: str) -> st.SearchStrategy[tuple[str, int]]:
    tradable = GRIDS[name].tradable
    return st.tuples(st.just(name), st.integers(min_value=tradable[0], max_value=tradable[-1]))


in_range = structure_names.flatmap(tradable_range)


@given(in_range)
def test_nearest_down_is_the_largest_tradable_price_not_above(name_price: tuple[str, int]) -> None:
    name, price = name_price
    grid = GRIDS[name]
    rounded = grid.nearest(price, "down")
    assert grid.is_valid(rounded)
    assert rounded <= price
    assert grid.tradable[bisect_right(grid.tradable, price) - 1] == rounded


@given(in_range)
def test_nearest_up_is_the_smallest_tradable_price_not_below(name_price: tuple[str, int]) -> None:
    name, price = name_price
    grid = GRIDS[name]
    rounded = grid.nearest(price, "up")
    assert grid.is_valid(rounded)
    assert rounded >= price
    assert grid.tradable[bisect_left(grid.tradable, price)] == rounded


@given(in_range)
def test_nearest_is_the_closest_tradable_price_with_ties_going_down(name_price: tuple[str, int]) -> None:
    name, price = name_price
    grid = GRIDS[name]
    rounded = grid.nearest(price)
    assert grid.is_valid(rounded)
    best_distance = min(abs(p - price) for p in grid.tradable)
    assert abs(rounded - price) == best_distance
    assert rounded == min(p for p in grid.tradable if abs(p - price) == best_distance)
    assert rounded in (grid.nearest(price, "down"), grid.nearest(price, "up"))


@given(structure_names, any_price)
def test_rounding_always_lands_on_a_tradable_price(name: str, price: int) -> None:
    grid = GRIDS[name]
    for direction in ("down", "up", "nearest"):
        assert grid.is_valid(grid.nearest(price, direction))


@given(grid_with_index())
def test_rounding_a_tradable_price_returns_it_unchanged(grid_index: tuple[PriceGrid, int]) -> None:
    grid, i = grid_index
    price = grid.tradable[i]
    for direction in ("down", "up", "nearest"):
        assert grid.nearest(price, direction) == price


@pytest.mark.parametrize("direction", ["down", "up", "nearest"])
@pytest.mark.parametrize("name", NAMES)
def test_rounding_outside_the_tradable_range_clamps_to_the_nearest_end(name: str, direction: str) -> None:
    grid = GRIDS[name]
    assert grid.nearest(0, direction) == grid.tradable[0]
    assert grid.nearest(-5, direction) == grid.tradable[0]
    assert grid.nearest(PRICE_SCALE, direction) == grid.tradable[-1]
    assert grid.nearest(PRICE_SCALE + 5, direction) == grid.tradable[-1]


@pytest.mark.parametrize(
    ("price", "down", "up", "nearest"),
    [
        ("0.5049", "0.50", "0.51", "0.50"),
        ("0.5050", "0.50", "0.51", "0.50"),  # a tie goes down
        ("0.5051", "0.50", "0.51", "0.51"),
        ("0.0995", "0.0990", "0.1000", "0.0990"),  # tie at the border of the fine edge band
        ("0.0996", "0.0990", "0.1000", "0.1000"),
        ("0.1050", "0.10", "0.11", "0.10"),
        ("0.9005", "0.9000", "0.9010", "0.9000"),
    ],
)
def test_rounding_examples_on_tapered_deci_cent(price: str, down: str, up: str, nearest: str) -> None:
    grid = GRIDS["tapered_deci_cent"]
    assert grid.nearest(Price.parse(price), "down") == Price.parse(down)
    assert grid.nearest(Price.parse(price), "up") == Price.parse(up)
    assert grid.nearest(Price.parse(price), "nearest") == Price.parse(nearest)
    assert grid.nearest(Price.parse(price)) == Price.parse(nearest)


def test_unknown_rounding_direction_is_an_error_off_the_grid() -> None:
    with pytest.raises(ValueError, match="unknown rounding direction"):
        GRIDS["linear_cent"].nearest(Price.parse("0.5050"), "sideways")


def test_unknown_rounding_direction_is_an_error_on_the_grid_too() -> None:
    # A typo in the direction must not depend on whether the price happens to be on the grid.
    with pytest.raises(ValueError, match="unknown rounding direction"):
        GRIDS["linear_cent"].nearest(Price.parse("0.5000"), "sideways")


# --- wire form ----------------------------------------------------------------------------------


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
