"""The rule policy's cost awareness: an entry must pay its round trip; passive when only resting pays.

Worked numbers at mid 0.50 with a one-cent spread: crossing costs 1¢ + 2 x 7% x 0.25 = 4.5¢ per
contract; resting costs (1.75% + 7%) x 0.25 = 2.1875¢. A full score (1.0) at 6¢ per unit of score
crosses; at 3¢ it rests; at 2¢ it holds.
"""

from __future__ import annotations

import pytest
from tests.policy.policy_kit import features, mirror, observation

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.base import Action
from kalshiflow.policy.rules import RuleConfig, RulePolicy, RuleReason

FULL = {"microprice_offset": 0.005, "imbalance_l3": 1.0, "imbalance_l5": 1.0, "spread": 0.01, "mid": 0.5}
BUY = {"yes": Action.BUY_YES, "no": Action.BUY_NO}


def decide(
    side: str, move_per_score_cents: float, passive: bool = True, **extra: float
) -> tuple[Action, str, bool]:
    policy = RulePolicy(SCHEMA_V1, RuleConfig(move_per_score_cents=move_per_score_cents, passive=passive))
    obs = features(**{**FULL, **extra})
    decision = policy.decide(observation(obs if side == "yes" else mirror(obs)))
    return decision.action, decision.reason, decision.passive


@pytest.mark.parametrize("side", ["yes", "no"])
def test_crosses_only_when_the_expected_move_pays_spread_and_taker_fees(side: str) -> None:
    assert decide(side, 6.0) == (BUY[side], RuleReason.BUY_PRESSURE, False)


@pytest.mark.parametrize("side", ["yes", "no"])
def test_rests_post_only_when_only_the_resting_cost_is_covered(side: str) -> None:
    assert decide(side, 3.0) == (BUY[side], RuleReason.PASSIVE_ENTRY, True)
    assert decide(side, 3.0, passive=False) == (Action.HOLD, RuleReason.BELOW_COST, False)


@pytest.mark.parametrize("side", ["yes", "no"])
def test_holds_below_cost_and_while_an_order_rests(side: str) -> None:
    assert decide(side, 2.0) == (Action.HOLD, RuleReason.BELOW_COST, False)
    assert decide(side, 3.0, resting_count=0.2) == (Action.HOLD, RuleReason.ORDER_RESTING, False)


def test_default_signal_strength_never_pays_to_cross_a_cent_spread() -> None:
    # The measured move per unit of score (0.5¢) is below every cost: the default rules mostly hold.
    assert decide("yes", RuleConfig().move_per_score_cents)[1] == RuleReason.BELOW_COST
