"""Behaviour cloning before PPO (extra ``rl``): the fitted actor agrees with the rule policy, the run
is deterministic, and the export records how it trades (passive, the teacher's exits)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.registry import exit_overrides, load_policy

pytest.importorskip("torch", reason="the rl extra (torch, stable-baselines3) is not installed")
pytest.importorskip("stable_baselines3", reason="the rl extra (stable-baselines3) is not installed")


def _train(out: Path, seed: int, *extra: str) -> None:
    args = ["train", "--timesteps", "256", "--seed", str(seed), "--out", str(out), "--envs", "1"]
    flags = ["--episode-s", "300", "--markets", "6", "--init-from", "maker", "--passive", *extra]
    result = CliRunner().invoke(app, [*args, *flags])
    assert result.exit_code == 0, result.output


def test_cloned_policy_agrees_with_maker_and_trades_as_it_was_trained(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _train(first, 4, "--learning-rate", "0")  # no PPO change: the export is the clone itself
    _train(second, 4, "--learning-rate", "0")
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["passive"] is True
    assert manifest["exit_overrides"] == dict(exit_overrides("maker"))
    cloned = manifest["training"]["behaviour_cloning"]
    assert cloned["teacher"] == "maker"
    assert cloned["train_accuracy"] >= 0.97
    assert sum(cloned["action_counts"].values()) == cloned["samples"] > cloned["action_counts"]["HOLD"]
    assert (first / "logs" / "bc.csv").is_file()
    with np.load(first / "weights.npz") as a, np.load(second / "weights.npz") as b:
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name])
    # The exported numpy policy decides like the rule policy on the demonstrated states it was fit on.
    mlp, maker = load_policy(f"mlp:{first}", SCHEMA_V1), load_policy("maker", SCHEMA_V1)
    from kalshiflow.train.env import TradingEnv
    from kalshiflow.train.imitation import collect_demonstrations
    from kalshiflow.train.ppo import TrainConfig

    config = TrainConfig(timesteps=1, seed=4, episode_s=300.0, n_markets=6, passive=True)
    env = TradingEnv(
        seeds=range(config.seed_low, config.seed_high), episode_s=300.0, config=config.session(), passive=True
    )
    demos = collect_demonstrations(maker, env, episodes=2, seed=5)
    env.close()
    agree = [mlp.decide(o.tolist()).action is maker.decide(o.tolist()).action for o in demos.observations]
    assert np.mean(agree) >= 0.95
    assert all(
        d.passive for d in (mlp.decide(o.tolist()) for o in demos.observations) if d.action.name != "HOLD"
    )
