"""The model shipped with the package (``--policy ppo``; its report in ``models/ppo``): small, loads on
the current schema without torch, trained on simulator seeds disjoint from the seeds it was
evaluated on, and decides as it did when exported."""

from __future__ import annotations

import json

from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.base import Action
from kalshiflow.policy.mlp import load_mlp_policy
from kalshiflow.policy.registry import SHIPPED_PPO, exit_overrides, load_policy

MODEL = SHIPPED_PPO


def test_shipped_model_is_small_and_loads_on_schema_v1() -> None:
    size = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    assert size < 400_000
    policy = load_policy("ppo", SCHEMA_V1)
    assert policy.schema_hash == SCHEMA_V1.hash
    assert policy.name == load_policy(f"mlp:{MODEL}", SCHEMA_V1).name
    assert policy.decide([0.0] * SCHEMA_V1.size).action in set(Action)


def test_shipped_model_was_trained_on_seeds_disjoint_from_its_evaluation() -> None:
    manifest = json.loads((MODEL / "manifest.json").read_text())
    low, high = manifest["training"]["simulator_seeds"]
    evaluated = manifest["evaluation"]["seeds"]
    assert evaluated
    assert not any(low <= seed < high for seed in evaluated)


def test_shipped_model_decisions_are_pinned() -> None:
    """The exported actions on fixed observations, recorded at export (golden, numpy only)."""
    manifest = json.loads((MODEL / "manifest.json").read_text())
    policy = load_mlp_policy(MODEL, SCHEMA_V1)
    for case in manifest["evaluation"]["golden"]:
        logits = policy.logits(case["observation"]).tolist()
        assert all(abs(a - b) < 1e-9 for a, b in zip(logits, case["logits"], strict=True))
        assert policy.decide(case["observation"]).action.name == case["action"]


def test_ppo_spec_trades_with_the_exits_it_was_trained_with() -> None:
    """``ppo`` quotes passively and runs without the crossing exits, as in training (its manifest)."""
    manifest = json.loads((MODEL / "manifest.json").read_text())
    assert manifest["passive"] is True
    assert exit_overrides("ppo") == manifest["exit_overrides"] == exit_overrides(f"mlp:{MODEL}")
    assert not any(exit_overrides("ppo").values())


def test_shipped_model_is_package_data() -> None:
    """A wheel carries the network, so ``--policy ppo`` (``run``'s default) works from an install."""
    import tomllib

    from tests.paths import REPO

    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["kalshiflow.policy"]
    for name in ("manifest.json", "weights.npz"):
        relative = (MODEL / name).relative_to(REPO / "src" / "kalshiflow" / "policy")
        assert any(relative.match(pattern) for pattern in patterns), (name, patterns)
