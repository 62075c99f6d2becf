"""The action vocabulary and the hold policy."""

from __future__ import annotations

import dataclasses

import pytest
from tests.policy.policy_kit import features, observation

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.base import Action, Decision
from kalshiflow.policy.hold import HoldPolicy


def test_decision_is_frozen() -> None:
    decision = Decision(Action.BUY_YES, "why", (1.0,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.action = Action.HOLD  # type: ignore[misc]


def test_hold_policy_always_holds_and_reports_the_schema_it_was_built_for() -> None:
    policy = HoldPolicy(SCHEMA_V1)
    assert policy.name == "hold"
    assert policy.schema_hash == SCHEMA_V1.hash
    strong = observation(features(microprice_offset=0.005, imbalance_l3=1.0, imbalance_l5=1.0))
    assert policy.decide(strong).action is Action.HOLD
    assert policy.decide(observation(features())).action is Action.HOLD
