"""The seeded random baseline: same seed, same decisions; it trades at the configured rate."""

from __future__ import annotations

import pytest

from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.base import Action, PolicyLoadError
from kalshiflow.policy.random_policy import RandomPolicy
from kalshiflow.policy.registry import load_policy

OBS = [0.0] * SCHEMA_V1.size


def test_same_seed_same_decisions_other_seed_other_decisions() -> None:
    def actions(seed: int) -> list[Action]:
        policy = RandomPolicy(SCHEMA_V1, seed, trade_probability=0.5)
        return [policy.decide(OBS).action for _ in range(200)]

    assert actions(1) == actions(1)
    assert actions(1) != actions(2)


def test_trades_at_about_the_configured_rate_with_every_trade_action() -> None:
    policy = RandomPolicy(SCHEMA_V1, 3, trade_probability=0.1)
    decided = [policy.decide(OBS).action for _ in range(5_000)]
    trades = [a for a in decided if a is not Action.HOLD]
    assert 400 < len(trades) < 600
    assert set(trades) == {Action.BUY_YES, Action.SELL_YES, Action.BUY_NO, Action.SELL_NO}


def test_registry_builds_random_with_and_without_a_seed() -> None:
    assert load_policy("random", SCHEMA_V1).name == "random"
    assert load_policy("random:7", SCHEMA_V1).name == "random"
    with pytest.raises(PolicyLoadError):
        load_policy("random:x", SCHEMA_V1)
