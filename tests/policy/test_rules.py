"""The rule policy, one scenario per rule, each run from the YES side and mirrored to the NO side."""

from __future__ import annotations

import pytest
from tests.policy.policy_kit import MIRROR_ACTION, features, mirror, observation, small_schema

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.base import Action, PolicyLoadError
from kalshiflow.policy.rules import FEATURES, RuleConfig, RulePolicy, RuleReason, normalised_time_to_close

POLICY = RulePolicy(SCHEMA_V1, RuleConfig(cost_aware=False))  # the signal rules; costs: test_rules_costs.py
SIDES = ("yes", "no")

# Pressure toward YES that passes the entry score: touch leaning to the ask, deeper book agreeing.
BULLISH = {"microprice_offset": 0.004, "imbalance_l3": 0.6, "imbalance_l5": 0.4}
BEARISH = {"microprice_offset": -0.004, "imbalance_l3": -0.6, "imbalance_l5": -0.4}


def decide(side: str, **named: float) -> tuple[Action, str]:
    """Decide on the YES-side scenario ``named``; for ``no`` on its mirror, mapped back to YES terms."""
    obs = features(**named)
    if side == "yes":
        decision = POLICY.decide(observation(obs))
        return decision.action, decision.reason
    decision = POLICY.decide(observation(mirror(obs)))
    return MIRROR_ACTION[decision.action], decision.reason


@pytest.mark.parametrize("side", SIDES)
def test_strong_buy_pressure_in_a_tight_two_sided_book_buys(side: str) -> None:
    assert decide(side, **BULLISH) == (Action.BUY_YES, RuleReason.BUY_PRESSURE)


@pytest.mark.parametrize("side", SIDES)
def test_spread_wider_than_two_ticks_holds_whatever_the_signal(side: str) -> None:
    assert decide(side, spread=0.03, **BULLISH) == (Action.HOLD, RuleReason.WIDE_SPREAD)
    assert decide(side, spread=0.02, **BULLISH)[0] is Action.BUY_YES


@pytest.mark.parametrize("side", SIDES)
def test_deci_cent_grid_counts_ticks_of_its_own_size(side: str) -> None:
    deci = {"tick_size": 0.1, "microprice_offset": 0.0004, "imbalance_l3": 0.6, "imbalance_l5": 0.4}
    assert decide(side, spread=0.002, **deci) == (Action.BUY_YES, RuleReason.BUY_PRESSURE)
    assert decide(side, spread=0.005, **deci) == (Action.HOLD, RuleReason.WIDE_SPREAD)


def test_spread_above_the_dollar_cap_holds_even_when_it_is_few_ticks() -> None:
    policy = RulePolicy(SCHEMA_V1, RuleConfig(max_spread_ticks=10, max_spread_dollars=0.02))
    assert policy.decide(observation(features(spread=0.03, **BULLISH))).reason == RuleReason.WIDE_SPREAD


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("empty", ["bid_depth_l1", "ask_depth_l1"])
def test_one_sided_book_holds(side: str, empty: str) -> None:
    assert decide(side, **{empty: 0.0}, **BULLISH) == (Action.HOLD, RuleReason.ONE_SIDED_BOOK)


@pytest.mark.parametrize("side", SIDES)
def test_closed_market_holds_even_with_a_position(side: str) -> None:
    assert decide(side, time_to_close=0.0, position=0.3, **BEARISH) == (Action.HOLD, RuleReason.MARKET_CLOSED)


@pytest.mark.parametrize("side", SIDES)
def test_touch_pressure_without_depth_agreement_holds(side: str) -> None:
    named = {"microprice_offset": 0.005, "imbalance_l3": -0.1, "imbalance_l5": 0.0}
    assert decide(side, **named) == (Action.HOLD, RuleReason.NO_SIGNAL)


@pytest.mark.parametrize("side", SIDES)
def test_balanced_book_holds(side: str) -> None:
    assert decide(side) == (Action.HOLD, RuleReason.NO_SIGNAL)


@pytest.mark.parametrize("side", SIDES)
def test_adding_stops_at_the_position_cap(side: str) -> None:
    assert decide(side, position=0.4, **BULLISH)[0] is Action.BUY_YES
    assert decide(side, position=0.5, **BULLISH) == (Action.HOLD, RuleReason.POSITION_CAP)
    assert decide(side, position=1.0, **BULLISH) == (Action.HOLD, RuleReason.POSITION_CAP)


@pytest.mark.parametrize("side", SIDES)
def test_flipped_signal_sells_the_held_side_rather_than_buying_the_other(side: str) -> None:
    assert decide(side, position=0.3, **BEARISH) == (Action.SELL_YES, RuleReason.SIGNAL_FLIPPED)


@pytest.mark.parametrize("side", SIDES)
def test_weak_opposite_signal_keeps_the_position(side: str) -> None:
    # score = 0.5 * (-0.002/0.01/0.5 = -0.4) + 0.5 * 0 = -0.2: against, but above the -0.25 exit
    assert decide(side, position=0.3, microprice_offset=-0.002) == (Action.HOLD, RuleReason.NO_SIGNAL)
    assert decide(side, position=0.3, microprice_offset=-0.003)[0] is Action.SELL_YES


@pytest.mark.parametrize("side", SIDES)
def test_held_side_is_sold_shortly_before_the_close_even_with_a_supporting_signal(side: str) -> None:
    ttc = normalised_time_to_close(60)
    assert decide(side, position=0.2, time_to_close=ttc, **BULLISH) == (
        Action.SELL_YES,
        RuleReason.FLATTEN_BEFORE_CLOSE,
    )


@pytest.mark.parametrize("side", SIDES)
def test_nothing_is_opened_within_ten_minutes_of_the_close(side: str) -> None:
    ttc = normalised_time_to_close(300)
    assert decide(side, time_to_close=ttc, **BULLISH) == (Action.HOLD, RuleReason.NEAR_CLOSE)
    assert decide(side, time_to_close=normalised_time_to_close(900), **BULLISH)[0] is Action.BUY_YES


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("mid", [0.02, 0.97])
def test_nearly_decided_market_opens_nothing_but_still_exits(side: str, mid: float) -> None:
    assert decide(side, mid=mid, **BULLISH) == (Action.HOLD, RuleReason.PRICE_OUT_OF_BAND)
    assert decide(side, mid=mid, position=0.2, **BEARISH)[0] is Action.SELL_YES


def test_decision_scores_carry_signal_spread_in_ticks_and_position() -> None:
    decision = POLICY.decide(observation(features(position=0.1, **BULLISH)))
    assert decision.scores is not None
    score, spread_ticks, position = decision.scores
    assert score == pytest.approx(0.5 * 0.8 + 0.5 * 0.5)
    assert spread_ticks == pytest.approx(1.0)
    assert position == 0.1


def test_schema_without_the_needed_features_fails_to_load_naming_them() -> None:
    with pytest.raises(PolicyLoadError, match=r"rule policy needs features \['mid', 'microprice_offset'"):
        RulePolicy(small_schema())


def test_observation_of_the_wrong_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="51 features, the schema has 52"):
        POLICY.decide(observation(features())[:-1])


@pytest.mark.parametrize(
    "bad",
    [
        {"entry_score": 0.2, "exit_score": 0.3},
        {"micro_weight": 1.5},
        {"max_spread_ticks": 0},
        {"max_position_fraction": 0.0},
        {"min_mid": 0.9, "max_mid": 0.1},
        {"flatten_before_close_s": 900, "no_new_exposure_s": 600},
    ],
)
def test_inconsistent_rule_config_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RuleConfig"):
        RuleConfig(**bad)


def test_schema_v1_units_are_the_ones_the_rules_assume() -> None:
    """The thresholds convert units by these formulas; a schema change must revisit them."""
    assert set(FEATURES) <= set(SCHEMA_V1.names)
    assert SCHEMA_V1.spec("time_to_close").normalisation.startswith("log1p(seconds) / log1p(30 days)")
    assert SCHEMA_V1.spec("tick_size").normalisation == "cents (1 cent = 1.0)"
    assert SCHEMA_V1.spec("spread").normalisation == "cents / 100"
    assert SCHEMA_V1.spec("microprice_offset").normalisation == "(microprice - mid) in dollars"
    assert SCHEMA_V1.spec("position").normalisation.startswith("signed contracts / max position")
