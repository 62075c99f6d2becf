"""What the grid tests share: the API reference's table of named structures, transcribed independently
of the code's own ``STRUCTURES``, the grids built from them, and hypothesis strategies over them."""

from __future__ import annotations

from hypothesis import strategies as st

from kalshiflow.domain.grid import STRUCTURES, PriceGrid
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
