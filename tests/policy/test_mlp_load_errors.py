"""Every way an exported policy can be broken stops loading with a PolicyLoadError that says what."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.policy.policy_kit import random_layers, small_schema

from kalshiflow.policy.base import PolicyLoadError
from kalshiflow.policy.export_tools import write_mlp_policy
from kalshiflow.policy.manifest import MANIFEST_FILENAME, WEIGHTS_FILENAME
from kalshiflow.policy.mlp import load_mlp_policy

SCHEMA = small_schema(6)
SIZES = (6, 8, 5)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    write_mlp_policy(tmp_path, random_layers(SIZES), schema=SCHEMA, obs_mean=[0.0] * 6, obs_std=[1.0] * 6)
    return tmp_path


def edit_manifest(directory: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / MANIFEST_FILENAME
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def replace_weights(directory: Path, data: bytes) -> None:
    """Overwrite the weights and drop the manifest's checksum so the archive itself is parsed."""
    (directory / WEIGHTS_FILENAME).write_bytes(data)
    edit_manifest(directory, lambda m: m["weights"].update(sha256=None))


def npz_bytes(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def load_error(path: Path) -> str:
    with pytest.raises(PolicyLoadError) as caught:
        load_mlp_policy(path, SCHEMA)
    return str(caught.value)


def test_missing_manifest_names_the_path_and_the_expected_files(tmp_path: Path) -> None:
    message = load_error(tmp_path / "nowhere")
    assert "nowhere" in message
    assert "does not exist" in message
    assert "manifest.json and weights.npz" in message


def test_missing_weights_file(export: Path) -> None:
    (export / WEIGHTS_FILENAME).unlink()
    message = load_error(export)
    assert WEIGHTS_FILENAME in message
    assert "does not exist" in message


def test_truncated_manifest_is_reported_as_corrupt_json(export: Path) -> None:
    path = export / MANIFEST_FILENAME
    path.write_text(path.read_text()[:40])
    message = load_error(export)
    assert str(path) in message
    assert "not readable JSON" in message


def test_manifest_that_is_not_an_object(export: Path) -> None:
    (export / MANIFEST_FILENAME).write_text("[1, 2]")
    assert "the manifest must be a JSON object, found list" in load_error(export)


def test_schema_hash_mismatch_says_expected_found_and_retrain(export: Path) -> None:
    other = small_schema(6, tag="x")
    with pytest.raises(PolicyLoadError) as caught:
        load_mlp_policy(export, other)
    message = str(caught.value)
    assert f"expected {other.hash}, found {SCHEMA.hash}" in message
    assert "retrained" in message
    assert "'f0'" in message  # names the features the model has and the schema lacks
    assert "'f0x'" in message


def test_schema_with_other_feature_count_is_a_mismatch(export: Path) -> None:
    with pytest.raises(
        PolicyLoadError, match=r"6 inputs\) but this trader computes v1 \(hash \w+, 7 features\)"
    ):
        load_mlp_policy(export, small_schema(7))


def test_weights_from_another_export_fail_the_checksum(
    export: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = tmp_path_factory.mktemp("other")
    write_mlp_policy(other, random_layers(SIZES, seed=42), schema=SCHEMA)
    (export / WEIGHTS_FILENAME).write_bytes((other / WEIGHTS_FILENAME).read_bytes())
    assert "does not match the sha256 recorded in the manifest" in load_error(export)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"definitely not a zip archive", "not a readable .npz archive"),
        ("truncated", "not a readable .npz archive"),
        ("single_npy", "single array"),
    ],
)
def test_corrupt_npz_is_reported(export: Path, data: bytes | str, problem: str) -> None:
    if data == "truncated":
        data = (export / WEIGHTS_FILENAME).read_bytes()[:300]
    elif data == "single_npy":
        buffer = io.BytesIO()
        np.save(buffer, np.zeros(3))
        data = buffer.getvalue()
    assert isinstance(data, bytes)
    replace_weights(export, data)
    message = load_error(export)
    assert WEIGHTS_FILENAME in message
    assert problem in message


def test_layer_shape_mismatch_names_layer_and_shapes(export: Path) -> None:
    layers = random_layers(SIZES)
    arrays = {"W0": layers[0][0], "b0": layers[0][1], "W1": layers[1][0].T, "b1": layers[1][1]}
    replace_weights(export, npz_bytes(**arrays))
    message = load_error(export)
    assert "layer 1 has W1 (5, 8)" in message
    assert "need (8, 5)" in message
    assert "transpose" in message


def test_missing_layer_array(export: Path) -> None:
    layers = random_layers(SIZES)
    replace_weights(export, npz_bytes(W0=layers[0][0], b0=layers[0][1], W1=layers[1][0]))
    assert "need exactly ['W0', 'W1', 'b0', 'b1']" in load_error(export)


def test_integer_weights_are_refused(export: Path) -> None:
    arrays = {
        f"{k}{i}": np.zeros(s, dtype=np.int64)
        for i, (a, b) in enumerate(random_layers(SIZES))
        for k, s in (("W", a.shape), ("b", b.shape))
    }
    replace_weights(export, npz_bytes(**arrays))
    assert "expected floats" in load_error(export)


def test_nan_weights_are_refused(tmp_path: Path) -> None:
    layers = random_layers(SIZES)
    layers[1][0][2, 3] = np.nan
    write_mlp_policy(tmp_path, layers, schema=SCHEMA, verify=False)
    message = load_error(tmp_path)
    assert "layer 1 contains NaN or infinite values" in message


def test_export_verifies_what_it_wrote(tmp_path: Path) -> None:
    layers = random_layers(SIZES)
    layers[0][1][0] = np.inf
    with pytest.raises(PolicyLoadError, match="NaN or infinite"):
        write_mlp_policy(tmp_path, layers, schema=SCHEMA)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = manifest
        for key in parents:
            target = target[key]
        target[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_set("format", "something-else"), "field 'format' is 'something-else'"),
        (_set("format_version", 2), "format_version 2 is not supported"),
        (_set("activation", "gelu"), "unknown activation 'gelu' (supported: tanh, relu)"),
        (_set("layer_sizes", [6]), "layer_sizes is [6]"),
        (_set("layer_sizes", [6, 0, 5]), "positive integers"),
        (_set("feature_schema.hash", ""), "feature_schema.hash is ''"),
        (_set("feature_schema.version", "1"), "feature_schema.version is '1', expected an integer"),
        (_set("feature_schema.names", ["a", "b"]), "has 2 names but the input layer is 6"),
        (_set("action_map", {"0": "HOLD", "1": "BUY_YES", "2": "SELL_YES", "3": "BUY_NO"}), "missing ['4']"),
        (_set("action_map.5", "HOLD"), "unexpected keys ['5']"),
        (_set("action_map.2", "SHORT"), "action_map[2] is 'SHORT', not an action (valid: HOLD, BUY_YES"),
        (_set("action_map.2", "HOLD"), "maps both 0 and 2 to HOLD"),
        (_set("action_map", ["HOLD"]), "action_map must be a JSON object"),
        (_set("observation_normalisation.mean", [0.0] * 5), "mean must be a list of 6 numbers"),
        (
            _set("observation_normalisation.mean", [float("nan")] * 6),
            "mean[0] is nan, expected a finite number",
        ),
        (_set("observation_normalisation.std", [1.0] * 5 + [0.0]), "std[5] is 0.0, expected > 0"),
        (_set("observation_normalisation.clip", -1), "clip is -1"),
        (_set("weights", None), "weights must be a JSON object"),
        (_set("observation_scales", {"bankroll_dollars": 1000}), "observation_scales must map names"),
        (_set("weights.file", ""), "weights.file is ''"),
    ],
)
def test_invalid_manifest_field_is_named(
    export: Path, change: Callable[[dict[str, Any]], None], problem: str
) -> None:
    edit_manifest(export, change)
    message = load_error(export)
    assert str(export / MANIFEST_FILENAME) in message
    assert problem in message
    assert "re-export" in message or "right file" in message
