"""``kalshiflow train --reward-mark exit|mid --gamma G``: parsed into the run's config (and so into the
manifest, which records the whole config) before the ``rl`` extra is needed; a bad mark is one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.commands.train import PpoFlags, TrainUsageError, train_config
from kalshiflow.train.env import RewardMark, TradingEnv
from kalshiflow.train.ppo import TrainConfig, make_env


def test_the_reward_mark_and_gamma_reach_the_config_and_the_environment() -> None:
    config = train_config(64, 3, 1, 60.0, 4, flags=PpoFlags(reward_mark="MID", gamma=0.999))
    assert (config.reward_mark, config.gamma) == ("mid", 0.999)
    env = make_env(config)
    try:
        assert isinstance(env, TradingEnv)
        assert env.reward_mark is RewardMark.MID
    finally:
        env.close()
    default = train_config(64, 3, 1, 60.0, 4)
    assert (default.reward_mark, default.gamma) == (TrainConfig(1, 0).reward_mark, TrainConfig(1, 0).gamma)


def test_a_bad_reward_mark_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with pytest.raises(TrainUsageError, match="--reward-mark bid: expected one of exit, mid"):
        train_config(64, 3, 1, 60.0, 4, flags=PpoFlags(reward_mark="bid"))
    argv = ["train", "--out", str(tmp_path / "model"), "--timesteps", "64", "--reward-mark", "bid"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "--reward-mark" in result.output


@pytest.mark.parametrize("value", ["0", "-5", "lots"])
def test_a_timesteps_below_one_is_one_line_and_exit_2(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "model"), "--timesteps", value])
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert "--timesteps" in line
    assert not (tmp_path / "model").exists()
