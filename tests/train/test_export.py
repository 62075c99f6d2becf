"""Export of a PPO actor to ``mlp:PATH``: numpy vs torch parity (extra ``rl``), and a golden test of
the numpy forward pass that runs without torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.base import Action
from kalshiflow.policy.export_tools import write_mlp_policy
from kalshiflow.policy.mlp import load_mlp_policy
from kalshiflow.train.ppo import TrainConfig
from kalshiflow.train.session import SessionConfig


def _golden_layers() -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights from a closed formula (no RNG), so the golden numbers below never move."""
    n_in, hidden, n_out = SCHEMA_V1.size, 4, 5
    w0 = np.array([[((i * 7 + j * 3) % 11 - 5) / 20.0 for j in range(hidden)] for i in range(n_in)])
    b0 = np.array([0.1, -0.2, 0.05, 0.0])
    w1 = np.array([[((i * 5 + j * 2) % 7 - 3) / 4.0 for j in range(n_out)] for i in range(hidden)])
    b1 = np.array([0.0, 0.01, -0.01, 0.02, -0.02])
    return [(w0, b0), (w1, b1)]


GOLDEN_LOGITS = (
    -0.4028210061510649,
    0.31926835359463895,
    0.04735550334193812,
    0.09392213680700362,
    -0.4233302856104076,
)


def test_golden_numpy_forward_pass(tmp_path: Path) -> None:
    """Pinned numbers: normalisation, tanh hidden layer, linear output, argmax -> action."""
    mean = [0.25] * SCHEMA_V1.size
    std = [0.5 + (i % 3) * 0.25 for i in range(SCHEMA_V1.size)]
    write_mlp_policy(tmp_path, _golden_layers(), schema=SCHEMA_V1, obs_mean=mean, obs_std=std, obs_clip=5.0)
    policy = load_mlp_policy(tmp_path, SCHEMA_V1)
    observation = [((i * 13) % 17) / 17.0 for i in range(SCHEMA_V1.size)]
    logits = policy.logits(observation).copy()
    np.testing.assert_allclose(logits, GOLDEN_LOGITS, rtol=0, atol=1e-12)
    decision = policy.decide(observation)
    assert decision.action is Action.BUY_YES
    # The decision carries exactly the logits of this forward pass; against the pinned numbers only
    # to the tolerance above: the last bits of a matrix product depend on the BLAS kernel numpy's
    # wheel ships (numpy 2.4.6's differs from earlier ones in the last place).
    assert decision.scores == tuple(logits.tolist())


def test_numpy_export_matches_torch_actions_and_logits(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="the rl extra (torch, stable-baselines3) is not installed")
    pytest.importorskip("stable_baselines3", reason="the rl extra (stable-baselines3) is not installed")
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from kalshiflow.train.env import TradingEnv
    from kalshiflow.train.export import export_ppo

    venv = VecNormalize(
        DummyVecEnv([lambda: TradingEnv(seeds=(5,), episode_s=30.0, config=SessionConfig(n_markets=1))])
    )
    model = PPO("MlpPolicy", venv, seed=3, device="cpu", policy_kwargs={"net_arch": [32, 16]})
    rng = np.random.default_rng(7)
    venv.obs_rms.mean = rng.normal(0.0, 0.3, SCHEMA_V1.size)
    venv.obs_rms.var = rng.uniform(0.01, 2.0, SCHEMA_V1.size)
    with torch.no_grad():  # a trained-looking actor: larger weights than the orthogonal init's last layer
        for parameter in model.policy.action_net.parameters():
            parameter.mul_(50.0)
    config = TrainConfig(timesteps=1, seed=3)
    manifest = export_ppo(model, venv, tmp_path, scales=config.scales(), training={"note": "test"})
    assert json.loads(manifest.read_text())["training"] == {"note": "test"}
    policy = load_mlp_policy(tmp_path, SCHEMA_V1)
    low, high = np.asarray(SCHEMA_V1.lows), np.asarray(SCHEMA_V1.highs)
    observations = rng.uniform(np.maximum(low, -3.0), np.minimum(high, 3.0), size=(200, SCHEMA_V1.size))
    normalised = venv.normalize_obs(observations)
    with torch.no_grad():
        tensor = torch.as_tensor(normalised, dtype=torch.float32)
        latent = model.policy.mlp_extractor.forward_actor(model.policy.extract_features(tensor))
        torch_logits = model.policy.action_net(latent).numpy()
    torch_actions, _ = model.predict(normalised, deterministic=True)
    numpy_logits = np.array([policy.logits(o).copy() for o in observations])
    np.testing.assert_allclose(numpy_logits, torch_logits, rtol=0, atol=1e-5)
    actions = [policy.decide(o).action for o in observations]
    assert actions == [policy.manifest.action_map[int(a)] for a in torch_actions]
    assert len(set(actions)) > 1  # the comparison covers more than one action
