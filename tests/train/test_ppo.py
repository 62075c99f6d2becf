"""``kalshiflow train`` end to end on a tiny budget (extra ``rl``): export loads, same seed same weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kalshiflow.cli import app
from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.registry import load_policy

pytest.importorskip("torch", reason="the rl extra (torch, stable-baselines3) is not installed")
pytest.importorskip("stable_baselines3", reason="the rl extra (stable-baselines3) is not installed")


def _train(out: Path, seed: int) -> None:
    args = ["train", "--timesteps", "256", "--seed", str(seed), "--out", str(out), "--envs", "1"]
    result = CliRunner().invoke(app, [*args, "--episode-s", "120", "--markets", "2"])
    assert result.exit_code == 0, result.output


def test_train_exports_a_loadable_deterministic_policy(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _train(first, 5)
    _train(second, 5)
    policy = load_policy(f"mlp:{first}", SCHEMA_V1)
    assert policy.schema_hash == SCHEMA_V1.hash
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["training"]["config"]["seed"] == 5
    assert manifest["training"]["simulator_seeds"] == [1000, 2000]
    assert manifest["training"]["reward"] == {
        "mark": "mid",
        "scale_dollars": 1.0,
        "gamma": 0.95,
    }  # the default
    assert manifest["training"]["config"]["reward_mark"] == "mid"
    assert (first / "logs" / "progress.csv").is_file()
    assert any(p.name.startswith("events.out.tfevents") for p in (first / "logs").iterdir())
    with np.load(first / "weights.npz") as a, np.load(second / "weights.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name])
