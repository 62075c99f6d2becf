"""Per-market price grids: stepping between tradable prices and rounding any price onto the grid."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.domain.grid_kit import GRIDS, NAMES, any_price, grid_with_index, structure_names

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.units import PRICE_SCALE, Price


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
