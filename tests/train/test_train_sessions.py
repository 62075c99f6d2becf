"""``kalshiflow train --sessions``: the flags, their one-line errors and the environment they build.

Runs without the ``rl`` extra (torch is not installed in CI): the flags are parsed and checked before
the extra is needed, and the environment a worker would train on is built by the same ``make_env``
PPO's vector environment calls, then reset and stepped over a real recording. The PPO run itself
with ``--sessions`` is exercised only when the extra is installed (``test_ppo.py`` covers training).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.train.recorded_kit import Recorded, recorded_session
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.commands.train import TrainUsageError, train_config
from kalshiflow.train.ppo import make_env
from kalshiflow.train.recorded_env import RecordedTradingEnv

HAS_RL = (
    importlib.util.find_spec("torch") is not None
    and importlib.util.find_spec("stable_baselines3") is not None
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    with recorded_session("sqlite", str(tmp_path_factory.mktemp("rec")), minutes=3.0) as rec:
        yield rec


def _sqlite_file(rec: Recorded) -> str:
    return rec.url.removeprefix("sqlite:///")


def _train(tmp_path: Path, *args: str) -> tuple[int, str]:
    argv = ["train", "--out", str(tmp_path / "model"), "--timesteps", "64", "--envs", "1", *args]
    result = CliRunner().invoke(app, argv)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--sessions", "{tmp}/missing.db"],
        ["--sessions", "{tmp}/not-a-db.txt"],
        ["--sessions", "{file}#99"],
        ["--sessions", "{file}", "--session-ids", "99"],
        ["--sessions", "{file}", "--session-ids", "x"],
        ["--session-ids", "1"],
    ],
)
def test_bad_session_flags_are_one_line_and_exit_2(
    recorded: Recorded, tmp_path: Path, args: list[str]
) -> None:
    (tmp_path / "not-a-db.txt").write_text("hello\n")
    code, output = _train(tmp_path, *(a.format(tmp=tmp_path, file=_sqlite_file(recorded)) for a in args))
    assert code == 2, output
    assert len(output.strip().splitlines()) == 1
    assert "--session" in output
    assert not (tmp_path / "model").exists()


def test_the_session_flags_select_the_recorded_sessions(recorded: Recorded) -> None:
    config = train_config(64, 3, 1, 60.0, 4, _sqlite_file(recorded))
    assert config.sessions == ((recorded.url, recorded.session_id),)
    same = train_config(64, 3, 1, 60.0, 4, f"{_sqlite_file(recorded)}#{recorded.session_id}")
    assert same.sessions == config.sessions
    assert train_config(64, 3, 1, 60.0, 4).sessions == ()  # no --sessions: the simulator
    with pytest.raises(TrainUsageError, match="only with --sessions"):
        train_config(64, 3, 1, 60.0, 4, None, "1")


def test_the_training_environment_replays_the_recorded_session(recorded: Recorded) -> None:
    env = make_env(train_config(64, 3, 1, 60.0, 4, recorded.url))
    assert isinstance(env, RecordedTradingEnv)
    try:
        obs, info = env.reset(seed=3)
        assert info["session_id"] == recorded.session_id
        assert env.observation_space.contains(obs)
        start_ms = info["now_ms"]
        truncated, steps = False, 0
        while not truncated and steps < 20_000:
            obs, reward, terminated, truncated, info = env.step(np.int64(steps % env.action_space.n))
            assert not terminated
            assert np.isfinite(reward)
            steps += 1
        assert truncated
        assert steps > 1
        assert (
            55_000 < info["now_ms"] - start_ms <= 61_000
        )  # cut at episode_s (60 s), not the 3 min recording
    finally:
        env.close()


@pytest.mark.skipif(HAS_RL, reason="checks the message shown when the rl extra is missing")
def test_valid_sessions_without_the_rl_extra_say_how_to_install_it(
    recorded: Recorded, tmp_path: Path
) -> None:
    code, output = _train(tmp_path, "--sessions", _sqlite_file(recorded))
    assert code == 2, output
    assert "extra 'rl'" in output
    assert len(output.strip().splitlines()) == 1


@pytest.mark.parametrize("where", ["file", "file/model"])
def test_an_out_path_with_a_file_in_the_way_is_one_line_before_anything_else(
    tmp_path: Path, where: str
) -> None:
    """The model is written at the end of the training: a file where --out (or a parent) should be a
    directory is named at once -- with or without the rl extra -- never after hours of PPO."""
    (tmp_path / "file").write_text("not a directory\n")
    result = CliRunner().invoke(app, ["train", "--out", str(tmp_path / where), "--timesteps", "1"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: --out {tmp_path / where}: not a directory"), result.output
    assert len(result.output.strip().splitlines()) == 1
