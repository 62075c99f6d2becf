"""Per-market price grids: the named structures -- validity at every price, tradable levels, the
finest step at a price -- as the API reference's table has them."""

from __future__ import annotations

import pytest
from tests.domain.grid_kit import GRIDS, NAMES, REFERENCE_BANDS, reference_is_valid

from kalshiflow.domain.grid import STRUCTURES, GridError, PriceGrid
from kalshiflow.domain.units import PRICE_SCALE, Price


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
