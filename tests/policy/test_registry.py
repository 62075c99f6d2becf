"""Policy specs as written on the command line or in config."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.policy.policy_kit import random_layers, small_schema

from kalshiflow.features.schema import SCHEMA_V1
from kalshiflow.policy import VALID_SPECS, PolicyLoadError, load_policy
from kalshiflow.policy.export_tools import write_mlp_policy
from kalshiflow.policy.hold import HoldPolicy
from kalshiflow.policy.mlp import MlpPolicy
from kalshiflow.policy.rules import RuleConfig, RulePolicy


def test_hold_and_rules_specs() -> None:
    assert isinstance(load_policy("hold", SCHEMA_V1), HoldPolicy)
    rules = load_policy(" rules ", SCHEMA_V1, RuleConfig(max_spread_ticks=1))
    assert isinstance(rules, RulePolicy)
    assert rules.config.max_spread_ticks == 1
    assert rules.schema_hash == SCHEMA_V1.hash


@pytest.mark.parametrize("target", ["directory", "manifest"])
def test_mlp_spec_takes_the_directory_or_the_manifest(tmp_path: Path, target: str) -> None:
    manifest = write_mlp_policy(tmp_path / "model", random_layers((SCHEMA_V1.size, 8, 5)), schema=SCHEMA_V1)
    path = manifest.parent if target == "directory" else manifest
    policy = load_policy(f"mlp:{path}", SCHEMA_V1)
    assert isinstance(policy, MlpPolicy)
    assert policy.name == "mlp:model"


def test_mlp_spec_for_another_schema_stops_loading(tmp_path: Path) -> None:
    write_mlp_policy(tmp_path, random_layers((6, 8, 5)), schema=small_schema(6))
    with pytest.raises(PolicyLoadError, match="must be retrained"):
        load_policy(f"mlp:{tmp_path}", SCHEMA_V1)


def test_rules_on_a_schema_without_its_features_stops_loading() -> None:
    with pytest.raises(PolicyLoadError, match="rule policy needs features"):
        load_policy("rules", small_schema(6))


@pytest.mark.parametrize("spec", ["", "ppo:1", "mlp", "rules:aggressive", "hold:1", "HOLD"])
def test_unknown_spec_lists_the_valid_ones(spec: str) -> None:
    with pytest.raises(
        PolicyLoadError,
        match=r"unknown policy spec .*valid specs: hold, rules, rules:signal, mm, longshot\[:KEY=VALUE\+\.\.\.\], maker\[:KEY=VALUE\+\.\.\.\], random\[:SEED\], ppo, mlp:PATH",
    ):
        load_policy(spec, SCHEMA_V1)
    assert VALID_SPECS == (
        "hold",
        "rules",
        "rules:signal",
        "mm",
        "longshot[:KEY=VALUE+...]",
        "maker[:KEY=VALUE+...]",
        "random[:SEED]",
        "ppo",
        "mlp:PATH",
    )


def test_mlp_spec_without_a_path() -> None:
    with pytest.raises(PolicyLoadError, match="needs a path"):
        load_policy("mlp:  ", SCHEMA_V1)
