"""The model shipped in ``models/ppo``: small, loads on the current schema without torch, trained on
simulator seeds disjoint from the seeds it was evaluated on, and decides as it did when exported."""

from __future__ import annotations

import json

from tests.paths import REPO

from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.base import Action
from kalshiflow.policy.mlp import load_mlp_policy
from kalshiflow.policy.registry import load_policy

MODEL = REPO / "models" / "ppo"


def test_shipped_model_is_small_and_loads_on_schema_v1() -> None:
    size = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    assert size < 400_000
    policy = load_policy(f"mlp:{MODEL}", SCHEMA_V1)
    assert policy.schema_hash == SCHEMA_V1.hash
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
