"""Demonstrations for behaviour cloning (torch-free): the rule policy's own decisions, in the training
environment as it trades live (passive, its exits), deterministic by seed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.base import Action, Decision
from kalshiflow.policy.registry import exit_overrides, load_policy
from kalshiflow.train.env import TradingEnv
from kalshiflow.train.imitation import collect_demonstrations, discounted_returns
from kalshiflow.train.ppo import TrainConfig
from kalshiflow.train.session import SessionConfig

SEEDS = (1000, 1001, 1002)


def _env(passive: bool = True) -> TradingEnv:
    return TradingEnv(seeds=SEEDS, episode_s=600.0, config=SessionConfig(n_markets=6), passive=passive)


def test_demonstrations_are_the_rule_policys_decisions_with_its_trades() -> None:
    maker = load_policy("maker", SCHEMA_V1)
    env = _env()
    demos = collect_demonstrations(maker, env, episodes=2, seed=3)
    env.close()
    assert len(demos) == demos.observations.shape[0] == demos.rewards.shape[0]
    assert demos.observations.shape[1] == SCHEMA_V1.size
    assert int(demos.episode_ends.sum()) == 2
    assert bool(demos.episode_ends[-1])
    assert set(demos.sim_seeds) <= set(SEEDS)
    expected = [env.actions.index(maker.decide(obs.tolist()).action) for obs in demos.observations]
    assert demos.actions.tolist() == expected
    counts = demos.action_counts(len(env.actions))
    assert sum(counts) == len(demos)
    assert counts[0] < len(demos)  # it traded: the clone has something to learn


def test_same_seed_gives_the_same_demonstrations() -> None:
    maker = load_policy("maker", SCHEMA_V1)
    first = collect_demonstrations(maker, _env(), episodes=1, seed=9)
    second = collect_demonstrations(maker, _env(), episodes=1, seed=9)
    assert first.sim_seeds == second.sim_seeds
    np.testing.assert_array_equal(first.observations, second.observations)
    np.testing.assert_array_equal(first.actions, second.actions)
    np.testing.assert_array_equal(first.rewards, second.rewards)


class _CrossingBuyer:
    """A policy that buys YES by crossing the spread on every step."""

    name = "crossing"
    schema_hash = SCHEMA_V1.hash

    def decide(self, observation: Sequence[float]) -> Decision:
        return Decision(Action.BUY_YES, "always", passive=False)


def test_a_crossing_trade_is_refused_in_a_passive_environment() -> None:
    with pytest.raises(ValueError, match="passive=False"):
        collect_demonstrations(_CrossingBuyer(), _env(passive=True), episodes=1, seed=1)


def test_discounted_returns_restart_at_each_episode_end() -> None:
    rewards = np.array([1.0, 0.0, 2.0, 1.0, 1.0])
    ends = np.array([False, False, True, False, True])
    np.testing.assert_allclose(discounted_returns(rewards, ends, 0.5), [1.5, 1.0, 2.0, 1.5, 1.0])


def test_training_runs_the_trader_with_the_exit_overrides_it_records() -> None:
    config = TrainConfig(timesteps=1, seed=0, exit_overrides=dict(exit_overrides("maker")))
    rules = config.session().core.exit_rules
    assert not any((rules.take_profit_enabled, rules.stop_loss_enabled, rules.max_hold_enabled))
    assert rules.market_closing_enabled
    assert TrainConfig(timesteps=1, seed=0).session().core.exit_rules.stop_loss_enabled
    with pytest.raises(ValueError, match="stop_loss_enable"):
        TrainConfig(timesteps=1, seed=0, exit_overrides={"stop_loss_enable": False}).session()


def test_init_from_an_unknown_policy_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--timesteps", "8", "--out", str(tmp_path), "--init-from", "nope"]
    )
    assert result.exit_code == 2
    assert "--init-from nope" in result.output
