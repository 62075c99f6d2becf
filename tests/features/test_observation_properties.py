"""Property tests of ``compute_observation`` on random valid books, histories, positions and orders:
every feature finite and inside its spec's range, the result deterministic, and YES/NO symmetric."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.features.features_kit import NOW, SCALES, TICKER, Inputs, inputs

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.units import Money
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.features import SCHEMA_V1, FeatureSchema, MarketHistory, SchemaError, compute_observation
from kalshiflow.features.valuation import CashView, MarketView
from kalshiflow.marketdata.book import OrderBook


def observe(case: Inputs) -> tuple[float, ...]:
    book, history, market, position, cash, orders = case.build()
    result = compute_observation(SCHEMA_V1, book, history, market, position, cash, orders, NOW, SCALES)
    assert result is not None
    return result


@settings(max_examples=300, deadline=None)
@given(case=inputs())
def test_every_feature_is_finite_and_in_range(case: Inputs) -> None:
    obs = observe(case)
    assert len(obs) == SCHEMA_V1.size
    for value, spec in zip(obs, SCHEMA_V1.features, strict=True):
        assert isinstance(value, float), spec.name
        assert math.isfinite(value), spec.name
        assert spec.low <= value <= spec.high, (spec.name, value)


@settings(max_examples=100, deadline=None)
@given(case=inputs())
def test_same_inputs_give_the_same_observation(case: Inputs) -> None:
    assert observe(case) == observe(case)


# How each feature of the mirrored (YES <-> NO) situation relates to the original.
SAME = "same"
NEG = "negated"
ONE_MINUS = "one_minus"
MIRROR: dict[str, tuple[str, str]] = {
    "yes_bid": (ONE_MINUS, "yes_ask"),
    "yes_ask": (ONE_MINUS, "yes_bid"),
    "mid": (ONE_MINUS, "mid"),
    "microprice": (ONE_MINUS, "microprice"),
    "microprice_offset": (NEG, "microprice_offset"),
    **{f"bid_depth_{lv}": (SAME, f"ask_depth_{lv}") for lv in ("l1", "l3", "l5", "l10", "all")},
    **{f"ask_depth_{lv}": (SAME, f"bid_depth_{lv}") for lv in ("l1", "l3", "l5", "l10", "all")},
    **{f"imbalance_{lv}": (NEG, f"imbalance_{lv}") for lv in ("l1", "l3", "l5", "l10")},
    "bid_levels": (SAME, "ask_levels"),
    "ask_levels": (SAME, "bid_levels"),
    "bid_vwap5_gap": (SAME, "ask_vwap5_gap"),
    "ask_vwap5_gap": (SAME, "bid_vwap5_gap"),
    **{f"mid_change_{w}s": (NEG, f"mid_change_{w}s") for w in (10, 60, 300)},
    "mid_vs_mean_300s": (NEG, "mid_vs_mean_300s"),
    "position": (NEG, "position"),
    "resting_yes_size": (SAME, "resting_no_size"),
    "resting_no_size": (SAME, "resting_yes_size"),
    "resting_yes_distance": (SAME, "resting_no_distance"),
    "resting_no_distance": (SAME, "resting_yes_distance"),
}


def mirror_rule(name: str) -> tuple[str, str]:
    return MIRROR.get(name, (SAME, name))  # spreads, volatility, rates, times, cash, P&L: unchanged


@pytest.mark.parametrize("name", SCHEMA_V1.names)
@settings(max_examples=40, deadline=None)
@given(case=inputs())
def test_yes_no_mirror_symmetry(name: str, case: Inputs) -> None:
    original = observe(case)
    mirrored = observe(case.mirrored())
    rule, source = mirror_rule(name)
    value = original[SCHEMA_V1.index(source)]
    expected = {SAME: value, NEG: -value, ONE_MINUS: 1.0 - value}[rule]
    assert mirrored[SCHEMA_V1.index(name)] == pytest.approx(expected, abs=1e-12)


def test_invalid_book_has_no_observation() -> None:
    grid = PriceGrid.named("linear_cent")
    book = OrderBook(TICKER, grid)  # awaiting its first snapshot
    market = MarketView(TICKER, MarketStatus.ACTIVE, NOW + 1, grid)
    args = (MarketHistory(TICKER), market, None, CashView(Money(0)), [], NOW, SCALES)
    assert compute_observation(SCHEMA_V1, book, *args) is None
    assert book.apply_snapshot([(4_000, 100)], [(5_000, 100)], NOW)
    assert compute_observation(SCHEMA_V1, book, *args) is not None
    book.invalidate("sequence gap")
    assert compute_observation(SCHEMA_V1, book, *args) is None


def test_other_schema_is_refused() -> None:
    grid = PriceGrid.named("linear_cent")
    book = OrderBook(TICKER, grid)
    assert book.apply_snapshot([], [], NOW)
    market = MarketView(TICKER, MarketStatus.ACTIVE, NOW, grid)
    other = FeatureSchema(2, SCHEMA_V1.features)
    with pytest.raises(SchemaError):
        compute_observation(
            other, book, MarketHistory(TICKER), market, None, CashView(Money(0)), [], NOW, SCALES
        )
    same_content = FeatureSchema.from_json(SCHEMA_V1.to_json())
    obs = compute_observation(
        same_content, book, MarketHistory(TICKER), market, None, CashView(Money(0)), [], NOW, SCALES
    )
    assert obs is not None


def test_empty_book_uses_the_documented_conventions() -> None:
    grid = PriceGrid.named("linear_cent")
    book = OrderBook(TICKER, grid)
    assert book.apply_snapshot([], [], NOW)
    market = MarketView(TICKER, MarketStatus.ACTIVE, NOW, grid)
    obs = compute_observation(
        SCHEMA_V1, book, MarketHistory(TICKER), market, None, CashView(Money(0)), [], NOW, SCALES
    )
    assert obs is not None
    named = dict(zip(SCHEMA_V1.names, obs, strict=True))
    assert (named["yes_bid"], named["yes_ask"], named["mid"], named["spread"]) == (0.0, 1.0, 0.5, 1.0)
    assert named["time_since_update"] == 1.0  # never updated: maximally stale
    assert named["resting_yes_distance"] == named["resting_no_distance"] == 1.0  # no order


@given(bankroll=st.integers(-5, 0))
def test_scales_must_be_positive(bankroll: int) -> None:
    from kalshiflow.domain.units import Count
    from kalshiflow.features import ObservationScales

    with pytest.raises(ValueError, match="bankroll"):
        ObservationScales(Money(bankroll), Count(100))
    with pytest.raises(ValueError, match="max_position"):
        ObservationScales(Money(1), Count(bankroll))
