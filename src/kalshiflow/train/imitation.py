"""Demonstrations for behaviour cloning: a rule policy rolled out in the training environment.

Why: PPO from scratch on this market's reward (a few cents of mark-to-market noise per step, fees on
every trade) learns to trade too much and loses (models/ppo's first version). The rule policy
``maker`` is the one policy with a held-out edge, so PPO starts from a network that imitates it and
refines from there. This module is the torch-free half: it rolls the policy out in the very
environment PPO trains in (same seeds range, same exits, passive pricing), recording each step's
observation, the index of the action the policy chose in the environment's action space and the
reward; the fit itself (``train.cloning``) needs torch.

Honesty checks: a trade decision whose ``passive`` flag differs from the environment's is refused
(the environment would price it differently from the policy's own intent, so the demonstration
would show something the policy never does), and so is an action the environment cannot take.
Deterministic: the environment is reset once with ``seed`` and draws every later episode's
simulator seed from its own ``np_random``; the policy must be pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kalshiflow.policy.base import Action, Policy
from kalshiflow.train.env import SessionEnv


@dataclass(frozen=True)
class Demonstrations:
    """``n`` steps of a policy in the environment, in order, episode after episode.

    ``observations`` (n x features, float64), ``actions`` (n, index into the environment's action
    space), ``rewards`` (n, the environment's reward, dollars / ``reward_scale``), ``episode_ends``
    (n, True at the last step of an episode) and ``sim_seeds`` (the simulator seed of each episode).
    """

    observations: npt.NDArray[np.float64]
    actions: npt.NDArray[np.int64]
    rewards: npt.NDArray[np.float64]
    episode_ends: npt.NDArray[np.bool_]
    sim_seeds: tuple[int, ...]

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    def action_counts(self, n_actions: int) -> list[int]:
        """How often each action index was chosen (HOLD dominates: the class balance BC faces)."""
        return [int(c) for c in np.bincount(self.actions, minlength=n_actions)]


def discounted_returns(
    rewards: npt.NDArray[np.float64], episode_ends: npt.NDArray[np.bool_], gamma: float
) -> npt.NDArray[np.float64]:
    """``G_t = r_t + gamma * G_{t+1}``, restarting at each episode's end (truncation not bootstrapped:
    a critic's warm start, not an estimate PPO relies on -- its own GAE replaces it at once)."""
    out = np.zeros_like(rewards, dtype=np.float64)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        if episode_ends[t]:
            running = 0.0
        running = float(rewards[t]) + gamma * running
        out[t] = running
    return out


def collect_demonstrations(policy: Policy, env: SessionEnv, *, episodes: int, seed: int) -> Demonstrations:
    """Roll ``policy`` out for ``episodes`` episodes of ``env`` (reset first with ``seed``)."""
    if episodes < 1:
        raise ValueError("collect_demonstrations needs at least one episode")
    index = {action: i for i, action in enumerate(env.actions)}
    observations: list[npt.NDArray[np.float64]] = []
    actions: list[int] = []
    rewards: list[float] = []
    ends: list[bool] = []
    sim_seeds: list[int] = []
    for episode in range(episodes):
        obs, info = env.reset(seed=seed if episode == 0 else None)
        sim_seeds.append(int(info.get("sim_seed") or 0))
        done = False
        while not done:
            decision = policy.decide(obs.tolist())
            if decision.action not in index:
                raise ValueError(
                    f"{policy.name} chose {decision.action.name}, which the environment cannot take"
                )
            if decision.action is not Action.HOLD and decision.passive != env.passive:
                raise ValueError(
                    f"{policy.name} decided passive={decision.passive} but the environment prices trades "
                    f"passive={env.passive}: build the environment as the policy trades"
                )
            observations.append(obs)
            actions.append(index[decision.action])
            obs, reward, terminated, truncated, _ = env.step(index[decision.action])
            rewards.append(float(reward))
            done = terminated or truncated
            ends.append(done)
    width = env.observation_space.shape[0] if env.observation_space.shape else 0
    return Demonstrations(
        observations=np.asarray(observations, dtype=np.float64).reshape(-1, width),
        actions=np.asarray(actions, dtype=np.int64),
        rewards=np.asarray(rewards, dtype=np.float64),
        episode_ends=np.asarray(ends, dtype=np.bool_),
        sim_seeds=tuple(sim_seeds),
    )
