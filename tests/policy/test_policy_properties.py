"""For any finite observation, every policy answers a valid action, and the same one every time."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.policy.policy_kit import random_layers

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy.base import Action, Decision, Policy
from kalshiflow.policy.export_tools import write_mlp_policy
from kalshiflow.policy.hold import HoldPolicy
from kalshiflow.policy.mlp import load_mlp_policy
from kalshiflow.policy.rules import RulePolicy

_EXPORTS = tempfile.TemporaryDirectory(prefix="policy-props-")  # removed at interpreter exit


def _build_mlp(normalised: bool) -> Policy:
    directory = Path(_EXPORTS.name) / ("normalised" if normalised else "raw")
    n = SCHEMA_V1.size
    layers = random_layers((n, 64, 64, 5), seed=11)
    if normalised:
        write_mlp_policy(directory, layers, schema=SCHEMA_V1, obs_mean=[0.1] * n, obs_std=[0.5] * n)
    else:
        write_mlp_policy(directory, layers, schema=SCHEMA_V1)
    return load_mlp_policy(directory, SCHEMA_V1)


POLICIES: dict[str, Policy] = {
    "hold": HoldPolicy(SCHEMA_V1),
    "rules": RulePolicy(SCHEMA_V1),
    "mlp": _build_mlp(normalised=True),
    "mlp_raw": _build_mlp(normalised=False),
}

in_range = st.tuples(
    *(st.floats(spec.low, spec.high, allow_nan=False, allow_infinity=False) for spec in SCHEMA_V1.features)
)
any_finite = st.lists(
    st.floats(allow_nan=False, allow_infinity=False), min_size=SCHEMA_V1.size, max_size=SCHEMA_V1.size
)


def _check(policy: Policy, observation: tuple[float, ...] | list[float]) -> Decision:
    first = policy.decide(observation)
    assert isinstance(first.action, Action)
    assert isinstance(first.reason, str)
    assert first.reason
    assert policy.decide(list(observation)) == first
    return first


@pytest.mark.parametrize("name", sorted(POLICIES))
@given(observation=in_range)
def test_in_range_observation_gives_a_deterministic_valid_decision(
    name: str, observation: tuple[float, ...]
) -> None:
    decision = _check(POLICIES[name], observation)
    if name.startswith("mlp"):
        assert decision.scores is not None
        assert np.isfinite(decision.scores).all()


# Values near 1e308 overflow inside the network (numpy warns); live features are clipped into range.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(POLICIES))
@given(observation=any_finite)
def test_any_finite_observation_gives_a_deterministic_valid_decision(
    name: str, observation: list[float]
) -> None:
    _check(POLICIES[name], observation)
