"""The training environment: gymnasium's checker, determinism, registration, vector API, and the
parity of its observations with the live actor path (same seed, same actions -> same bits)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.base import Action, Decision
from kalshiflow.policy.random_policy import RandomPolicy
from kalshiflow.policy.registry import exit_overrides, load_policy
from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.core import CoreConfig
from kalshiflow.train.env import ENV_ID, RewardMark, TradingEnv, register
from kalshiflow.train.session import SessionConfig, TradingSession

SHORT = SessionConfig(n_markets=2)


def _env(episode_s: float = 120.0) -> TradingEnv:
    return TradingEnv(seeds=(5, 6, 7), episode_s=episode_s, config=SHORT)


def _rollout(env: TradingEnv, seed: int, actions: Sequence[int]) -> tuple[list[bytes], list[float]]:
    obs, _ = env.reset(seed=seed)
    seen, rewards = [obs.tobytes()], []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        seen.append(obs.tobytes())
        rewards.append(reward)
        assert not terminated
        if truncated:
            break
    return seen, rewards


def test_gymnasium_check_env_passes() -> None:
    env = _env(60.0)
    try:
        check_env(env, skip_render_check=True)
    finally:
        env.close()


def test_same_seed_and_actions_give_the_same_episode() -> None:
    actions = [int(a) for a in np.random.default_rng(3).integers(0, 5, size=150)]
    first, second = _env(), _env()
    try:
        assert _rollout(first, 11, actions) == _rollout(second, 11, actions)
    finally:
        first.close()
        second.close()


def test_observations_lie_in_the_schema_box_and_rewards_follow_equity() -> None:
    env = _env(300.0)
    try:
        obs, info = env.reset(seed=1)
        start = info["equity_dollars"]
        total = 0.0
        rng = np.random.default_rng(1)
        for _ in range(400):
            assert env.observation_space.contains(obs)
            obs, reward, _, truncated, info = env.step(int(rng.integers(0, 5)))
            total += reward
            if truncated:
                break
        assert total == pytest.approx(info["equity_dollars"] - start, abs=1e-9)
    finally:
        env.close()


class _Recording:
    """A seeded random policy that remembers what it saw and did (the live actor's policy)."""

    def __init__(self, seed: int) -> None:
        self.inner = RandomPolicy(SCHEMA_V1, seed)
        self.name, self.schema_hash = "recording", SCHEMA_V1.hash
        self.seen: list[bytes] = []
        self.actions: list[Action] = []

    def decide(self, observation: Sequence[float]) -> Decision:
        decision = self.inner.decide(observation)
        self.seen.append(np.asarray(observation, dtype=np.float64).tobytes())
        self.actions.append(decision.action)
        return decision


def test_environment_observations_equal_the_live_actor_path_bit_for_bit() -> None:
    """The live path (``Actor.drain`` with a policy) and the environment fed the same decisions."""
    policy = _Recording(seed=4)

    async def live() -> int:
        session = await TradingSession.start(9, SHORT, policy)
        try:
            await session.run_actor(session.now_ms() + 600_000)
            return session.actor.metrics.orders_sent
        finally:
            await session.aclose()

    orders_sent = asyncio.run(live())
    assert len(policy.seen) > 20  # makers chase fewer ticks since issue 9: fewer book changes
    assert orders_sent > 0  # the stream includes our own orders, fills and position features
    env = TradingEnv(seeds=(9,), episode_s=600.0, config=SHORT)
    try:
        obs, _ = env.reset(seed=0)
        seen = [obs.tobytes()]
        for action in policy.actions[:-1]:
            obs, _, _, truncated, _ = env.step(env.actions.index(action))
            assert not truncated
            seen.append(obs.tobytes())
    finally:
        env.close()
    assert seen == policy.seen


def test_the_environment_registers_and_steps_under_the_vector_api() -> None:
    register()
    register()  # idempotent
    assert ENV_ID in gym.registry
    vec = gym.make_vec(
        ENV_ID,
        num_envs=2,
        vectorization_mode="sync",
        seeds=(5, 6),
        episode_s=30.0,
        config=SHORT,
    )
    try:
        obs, _ = vec.reset(seed=0)
        assert obs.shape == (2, SCHEMA_V1.size)
        truncations = 0
        for _ in range(80):  # past the first truncation: the vector env resets its members itself
            obs, rewards, terminated, truncated, _ = vec.step(np.array([1, 3]))
            truncations += int(truncated.sum())
        assert truncations > 0
        assert obs.shape == (2, SCHEMA_V1.size)
        assert rewards.shape == (2,)
        assert not terminated.any()
    finally:
        vec.close()


def _maker_episode(mark: RewardMark) -> tuple[list[bytes], list[float], int, int]:
    """Maker's passive quotes and exits, 20 markets for 30 minutes (it fills a few dozen times):
    observations, rewards and the final equity at the exit price and at the mid (Money)."""
    exits = CoreConfig(exit_rules=ExitRulesConfig.model_validate(dict(exit_overrides("maker"))))
    config = SessionConfig(core=exits, n_markets=20)
    env = TradingEnv(seeds=(1500,), episode_s=1_800.0, config=config, passive=True, reward_mark=mark)
    maker = load_policy("maker", SCHEMA_V1)
    try:
        obs, _ = env.reset(seed=0)
        seen, rewards, truncated = [obs.tobytes()], [], False
        while not truncated:
            action = env.actions.index(maker.decide(obs).action)
            obs, reward, _, truncated, _ = env.step(action)
            seen.append(obs.tobytes())
            rewards.append(reward)
        session = env._session
        assert session is not None
        return seen, rewards, int(session.equity()), int(session.equity_at_mid())
    finally:
        env.close()


def test_the_reward_mark_changes_when_equity_is_credited_not_the_episode() -> None:
    exit_seen, exit_rewards, exit_final, mid_final = _maker_episode(RewardMark.EXIT)
    mid_seen, mid_rewards, _, _ = _maker_episode(RewardMark.MID)
    assert exit_seen == mid_seen  # the mark is read, never acted on: the same trades
    assert sum(1 for r in mid_rewards if r != 0) > sum(1 for r in exit_rewards if r != 0)  # credited earlier
    assert exit_rewards != mid_rewards
    # Both sum to their own mark's change of equity; they differ by how the open positions are valued.
    assert sum(mid_rewards) - sum(exit_rewards) == pytest.approx(
        (mid_final - exit_final) / 1_000_000, abs=1e-9
    )
