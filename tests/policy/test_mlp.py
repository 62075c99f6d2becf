"""MLP inference matches a plain numpy forward pass; export and load round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.policy.policy_kit import random_layers, reference_logits, small_schema

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.base import Action
from kalshiflow.policy.export_tools import DEFAULT_ACTION_MAP, write_mlp_policy
from kalshiflow.policy.manifest import MANIFEST_FILENAME
from kalshiflow.policy.mlp import load_mlp_policy

SCHEMA = small_schema(6)
SIZES = (6, 16, 8, 5)


def observations(n: int, size: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 2.0, (n, size))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("normalised", [True, False])
def test_logits_and_action_match_a_plain_numpy_forward_pass(
    tmp_path: Path, activation: str, normalised: bool
) -> None:
    layers = random_layers(SIZES, seed=3)
    rng = np.random.default_rng(4)
    mean = rng.normal(0.0, 1.0, SIZES[0]).tolist() if normalised else None
    std = rng.uniform(0.5, 2.0, SIZES[0]).tolist() if normalised else None
    write_mlp_policy(
        tmp_path, layers, schema=SCHEMA, activation=activation, obs_mean=mean, obs_std=std, obs_clip=1.5
    )
    policy = load_mlp_policy(tmp_path, SCHEMA)
    seen = set()
    for obs in observations(200, SIZES[0]):
        expected = reference_logits(obs, layers, activation, mean, std, clip=1.5)
        decision = policy.decide(tuple(obs))
        assert decision.scores is not None
        np.testing.assert_allclose(decision.scores, expected, rtol=1e-12, atol=1e-12)
        assert decision.action is DEFAULT_ACTION_MAP[int(np.argmax(expected))]
        assert decision.reason == f"mlp_argmax: {decision.action.name}"
        seen.add(decision.action)
    assert len(seen) > 1  # the random network is not degenerate, so the comparison means something


def test_float32_weights_as_torch_exports_them_load_as_float64(tmp_path: Path) -> None:
    layers = random_layers(SIZES, seed=5, dtype=np.float32)
    write_mlp_policy(tmp_path, layers, schema=SCHEMA)
    policy = load_mlp_policy(tmp_path / MANIFEST_FILENAME, SCHEMA)
    obs = observations(1, SIZES[0])[0]
    np.testing.assert_allclose(policy.logits(obs.tolist()), reference_logits(obs, layers), rtol=1e-12)


def test_policy_names_itself_after_the_export_and_reports_its_schema_and_scales(tmp_path: Path) -> None:
    scales = {"bankroll_dollars": "1000.000000", "max_position_fp": "100.00"}
    write_mlp_policy(tmp_path / "ppo-7", random_layers(SIZES), schema=SCHEMA, observation_scales=scales)
    policy = load_mlp_policy(tmp_path / "ppo-7", SCHEMA)
    assert policy.name == "mlp:ppo-7"
    assert policy.schema_hash == SCHEMA.hash
    assert policy.manifest.layer_sizes == SIZES
    assert policy.manifest.observation_scales == scales
    assert policy.manifest.feature_names == SCHEMA.names


def test_shared_buffers_do_not_leak_between_calls(tmp_path: Path) -> None:
    write_mlp_policy(tmp_path, random_layers(SIZES), schema=SCHEMA, obs_mean=[0.0] * 6, obs_std=[1.0] * 6)
    policy = load_mlp_policy(tmp_path, SCHEMA)
    a, b = observations(2, SIZES[0]).tolist()
    first = policy.decide(a)
    policy.decide(b)
    assert policy.decide(a) == first


def test_custom_action_map_with_three_actions(tmp_path: Path) -> None:
    layers = random_layers((6, 8, 3), seed=9)
    action_map = {0: Action.SELL_NO, 1: Action.HOLD, 2: Action.BUY_YES}
    write_mlp_policy(tmp_path, layers, schema=SCHEMA, action_map=action_map)
    policy = load_mlp_policy(tmp_path, SCHEMA)
    for obs in observations(50, 6):
        expected = action_map[int(np.argmax(reference_logits(obs, layers)))]
        assert policy.decide(obs.tolist()).action is expected


def test_full_size_network_on_schema_v1(tmp_path: Path) -> None:
    layers = random_layers((SCHEMA_V1.size, 64, 64, 5))
    write_mlp_policy(tmp_path, layers, schema=SCHEMA_V1)
    policy = load_mlp_policy(tmp_path, SCHEMA_V1)
    obs = np.random.default_rng(0).uniform(SCHEMA_V1.lows, SCHEMA_V1.highs)
    assert (
        policy.decide(obs.tolist()).action
        is DEFAULT_ACTION_MAP[int(np.argmax(reference_logits(obs, layers)))]
    )


def test_non_finite_output_holds_instead_of_trading(tmp_path: Path) -> None:
    write_mlp_policy(tmp_path, random_layers(SIZES), schema=SCHEMA)
    decision = load_mlp_policy(tmp_path, SCHEMA).decide([float("nan")] + [0.0] * 5)
    assert (decision.action, decision.reason) == (Action.HOLD, "mlp_non_finite_output")


def test_observation_of_the_wrong_length_is_rejected(tmp_path: Path) -> None:
    write_mlp_policy(tmp_path, random_layers(SIZES), schema=SCHEMA)
    with pytest.raises(ValueError, match="5 features, the model expects 6"):
        load_mlp_policy(tmp_path, SCHEMA).decide([0.0] * 5)
