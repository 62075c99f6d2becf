"""The filtered passive maker (``maker``): post-only quotes only in quiet markets with room in the
spread, one at a time, inventory unwound passively; it never crosses."""

from __future__ import annotations

import random

import pytest
from tests.policy.policy_kit import MIRROR_ACTION, features, mirror, observation

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.base import Action, PolicyLoadError
from kalshiflow.policy.passive import QuoteBlock
from kalshiflow.policy.registry import exit_overrides, load_policy
from kalshiflow.policy.rules import normalised_time_to_close
from kalshiflow.policy.touch_maker import TouchMakerConfig, TouchMakerPolicy, TouchMakerReason

POLICY = TouchMakerPolicy(SCHEMA_V1)
# A quiet market with a wide spread, closing in two hours: where the policy quotes.
QUIET_WIDE = {
    "mid": 0.40,
    "yes_bid": 0.375,
    "yes_ask": 0.425,
    "spread": 0.05,
    "tick_size": 1.0,
    "volatility_60s": 0.0,
    "volatility_300s": 0.0,
    "time_to_close": normalised_time_to_close(7200),
}


def decide(side: str, policy: TouchMakerPolicy = POLICY, **named: float) -> tuple[Action, str, bool]:
    obs = features(**{**QUIET_WIDE, **named})
    if side == "yes":
        d = policy.decide(observation(obs))
        return d.action, d.reason, d.passive
    d = policy.decide(observation(mirror(obs)))
    return MIRROR_ACTION[d.action], d.reason, d.passive


@pytest.mark.parametrize("side", ["yes", "no"])
def test_flat_in_a_quiet_wide_market_it_rests_a_post_only_bid_where_the_pressure_leans_away(
    side: str,
) -> None:
    """Buyers heavier (the price leans up, away from a YES bid) -> YES bid; sellers heavier -> the
    YES ask. Seen from the NO side the same book gives the mirrored order."""
    bid, ask = decide(side, imbalance_l3=0.5), decide(side, imbalance_l3=-0.5)
    assert (bid[0], bid[2], ask[0], ask[2]) == (Action.BUY_YES, True, Action.BUY_NO, True)
    assert decide("yes", imbalance_l3=0.5)[1] == TouchMakerReason.QUOTE_YES_BID


def test_on_a_balanced_book_it_offers_yes_the_side_retail_optimism_lifts() -> None:
    assert decide("yes", imbalance_l3=0.0) == (Action.BUY_NO, TouchMakerReason.QUOTE_YES_ASK, True)


@pytest.mark.parametrize("side", ["yes", "no"])
def test_inventory_is_unwound_passively_never_by_crossing(side: str) -> None:
    assert decide(side, position=0.02) == (Action.SELL_YES, TouchMakerReason.UNWIND, True)
    # even where it would not open: a narrow, fast market near the close
    assert decide(
        side, position=0.02, spread=0.01, volatility_60s=0.05, time_to_close=normalised_time_to_close(600)
    ) == (Action.SELL_YES, TouchMakerReason.UNWIND, True)


@pytest.mark.parametrize("side", ["yes", "no"])
@pytest.mark.parametrize(
    ("named", "reason"),
    [
        ({"spread": 0.04}, TouchMakerReason.NO_ROOM),
        ({"volatility_60s": 0.011}, TouchMakerReason.FAST_MARKET),
        ({"mid": 0.05}, TouchMakerReason.PRICE_OUT_OF_BAND),
        ({"time_to_close": normalised_time_to_close(600)}, TouchMakerReason.NEAR_CLOSE),
        ({"resting_count": 0.2}, QuoteBlock.ORDER_RESTING),
        ({"ask_depth_l1": 0.0}, QuoteBlock.ONE_SIDED_BOOK),
        ({"time_to_close": 0.0}, QuoteBlock.MARKET_CLOSED),
    ],
)
def test_it_holds_where_fills_are_picked_off_or_nothing_can_be_earned(
    side: str, named: dict[str, float], reason: TouchMakerReason
) -> None:
    if side == "no" and "mid" in named:
        named = {"mid": 1.0 - named["mid"]}
    assert decide(side, **named)[:2] == (Action.HOLD, reason)


def test_spread_is_counted_in_grid_ticks() -> None:
    """0.5¢ on a tenth-of-a-cent grid is five ticks of room; 0.4¢ is four."""
    assert decide("yes", tick_size=0.1, spread=0.005)[0] is Action.BUY_NO
    assert decide("yes", tick_size=0.1, spread=0.004)[:2] == (Action.HOLD, TouchMakerReason.NO_ROOM)


def test_no_observation_makes_it_cross_the_spread() -> None:
    rng = random.Random(7)
    for _ in range(2_000):
        obs = [rng.uniform(-1.0, 1.0) for _ in range(SCHEMA_V1.size)]
        decision = POLICY.decide(obs)
        assert decision.action is Action.HOLD or decision.passive


def test_spec_overrides_thresholds_and_carries_its_exits() -> None:
    policy = load_policy("maker:min_spread_ticks=6+max_volatility_60s=0.005", SCHEMA_V1)
    assert isinstance(policy, TouchMakerPolicy)
    assert policy.config == TouchMakerConfig(min_spread_ticks=6, max_volatility_60s=0.005)
    assert decide("yes", policy, spread=0.05)[:2] == (Action.HOLD, TouchMakerReason.NO_ROOM)
    assert decide("yes", spread=0.05)[0] is Action.BUY_NO
    assert exit_overrides("maker:min_spread_ticks=5") == {
        "take_profit_enabled": False,
        "stop_loss_enabled": False,
        "max_hold_enabled": False,
    }
    assert exit_overrides("mm") == {}
    assert exit_overrides("rules") == {}


@pytest.mark.parametrize("spec", ["maker:min_spread_ticks=0.5", "maker:bogus=1", "maker:min_mid=x"])
def test_bad_specs_stop_loading_with_a_message(spec: str) -> None:
    with pytest.raises(PolicyLoadError, match="maker"):
        load_policy(spec, SCHEMA_V1)
