"""The recorded environment's incremental equity mark equals recomputing it every step.

``RecordedTradingEnv`` recomputes the trader's equity only when the venue's ``state_version``
(frames, REST calls, invalidations) or the UTC day changed. Two episodes over the same recording
with the same seeded random actions -- one with the incremental mark, one recomputing every step --
must give the same rewards, observations and infos, step for step. The recording has an
invalidation (the venue invalidates the trader's books first-hand) and the random actions trade,
so every source of change is exercised. Both reward marks: the mid mark reads our resting orders
too, which change only with a REST response or a frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.train.recorded_kit import Recorded, recorded_session

from kalshiflow.train.env import RewardMark
from kalshiflow.train.recorded_env import RecordedTradingEnv


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    with recorded_session(
        "sqlite", str(tmp_path_factory.mktemp("rec")), minutes=4.0, invalidate_at_s=90.0
    ) as rec:
        yield rec


def _episode(
    recorded: Recorded, incremental: bool, mark: RewardMark = RewardMark.EXIT
) -> list[tuple[bytes, float, dict[str, Any]]]:
    env = RecordedTradingEnv(
        [(recorded.url, recorded.session_id)], incremental_mark=incremental, reward_mark=mark
    )
    rng = np.random.default_rng(7)
    steps: list[tuple[bytes, float, dict[str, Any]]] = []
    try:
        obs, info = env.reset(seed=0)
        steps.append((obs.tobytes(), 0.0, info))
        truncated = False
        while not truncated:
            obs, reward, _, truncated, info = env.step(np.int64(rng.integers(0, 5)))
            steps.append((obs.tobytes(), reward, info))
    finally:
        env.close()
    return steps


@pytest.mark.parametrize("mark", list(RewardMark))
def test_the_incremental_mark_gives_the_rewards_of_a_mark_every_step(
    recorded: Recorded, tmp_path: Path, mark: RewardMark
) -> None:
    every_step = _episode(recorded, incremental=False, mark=mark)
    incremental = _episode(recorded, incremental=True, mark=mark)
    assert len(incremental) == len(every_step)
    assert sum(1 for _, reward, _ in every_step if reward != 0) > 10  # the random trader's equity moved
    for (obs_a, reward_a, info_a), (obs_b, reward_b, info_b) in zip(every_step, incremental, strict=True):
        assert obs_a == obs_b
        assert reward_a == reward_b
        assert info_a == info_b
