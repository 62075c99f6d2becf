"""Torch-free inference of an exported PPO policy: numpy matmuls over preallocated buffers.

The trader must not need torch (hundreds of MB, slow import) to run a trained policy, and ``decide``
sits on the hot path, so inference is a handful of numpy calls writing into arrays allocated once at
load: normalise the observation as SB3 ``VecNormalize`` did in training, run the actor MLP
(``x @ W + b`` with ``tanh``/``relu`` between layers, none after the last), take the argmax of the
logits -- the deterministic action of the PPO policy -- and map it through the manifest's action map.
Weights are float64 whatever they were trained in, so results match a plain numpy reference exactly.

Because of the shared buffers a :class:`MlpPolicy` is not re-entrant: one policy per actor task.

Loading trusts nothing: every problem (missing file, corrupt JSON or npz, weights from another
export, a schema the model was not trained on, shapes that do not chain, NaN or infinite numbers)
is a :class:`PolicyLoadError` naming the file, what is wrong and what to do, so a bad model stops
startup instead of trading on garbage.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from numpy.lib.npyio import NpzFile

from kalshiflow.policy.base import Action, Decision, PolicyLoadError, SchemaLike
from kalshiflow.policy.manifest import MlpManifest, read_manifest, resolve_manifest_path

Array = npt.NDArray[np.float64]
_RETRAIN = "the model must be retrained (or re-exported) for this feature schema"


class MlpPolicy:
    """The deterministic actor of an exported PPO policy; build it with :func:`load_mlp_policy`."""

    def __init__(self, manifest: MlpManifest, layers: Sequence[tuple[Array, Array]]) -> None:
        self.manifest = manifest
        self._name = f"mlp:{manifest.name}"
        self._n_in = manifest.layer_sizes[0]
        norm = manifest.obs_norm
        self._mean = None if norm is None else np.asarray(norm.mean, dtype=np.float64)
        self._inv_std = None if norm is None else 1.0 / np.asarray(norm.std, dtype=np.float64)
        self._clip = 0.0 if norm is None else norm.clip
        self._relu = manifest.activation == "relu"
        self._weights = [np.ascontiguousarray(w, dtype=np.float64) for w, _ in layers]
        self._biases = [np.ascontiguousarray(b, dtype=np.float64) for _, b in layers]
        self._input = np.zeros(self._n_in, dtype=np.float64)
        self._outputs = [np.zeros(b.shape[0], dtype=np.float64) for b in self._biases]
        self._actions = manifest.action_map
        self._reasons = tuple(f"mlp_argmax: {action.name}" for action in self._actions)
        # A model trained passive (manifest ``passive``) rests its trades post-only, as in training.
        self._passive = tuple(manifest.passive and action is not Action.HOLD for action in self._actions)

    @property
    def name(self) -> str:
        return self._name

    @property
    def schema_hash(self) -> str:
        return self.manifest.schema_hash

    def logits(self, observation: Sequence[float]) -> Array:
        """The network's output for ``observation``; a view of an internal buffer, copy to keep it."""
        if len(observation) != self._n_in:
            raise ValueError(f"observation has {len(observation)} features, the model expects {self._n_in}")
        x = self._input
        x[:] = observation
        if self._mean is not None and self._inv_std is not None:
            np.subtract(x, self._mean, out=x)
            np.multiply(x, self._inv_std, out=x)
            np.clip(x, -self._clip, self._clip, out=x)
        last = len(self._weights) - 1
        for i, (weight, bias, out) in enumerate(zip(self._weights, self._biases, self._outputs, strict=True)):
            np.dot(x, weight, out=out)
            np.add(out, bias, out=out)
            if i < last:
                if self._relu:
                    np.maximum(out, 0.0, out=out)
                else:
                    np.tanh(out, out=out)
            x = out
        return x

    def decide(self, observation: Sequence[float]) -> Decision:
        logits = self.logits(observation)
        scores = tuple(logits.tolist())
        best = int(logits.argmax())
        if not np.isfinite(logits[best]):
            return Decision(Action.HOLD, "mlp_non_finite_output", scores)
        return Decision(self._actions[best], self._reasons[best], scores, passive=self._passive[best])


def load_mlp_policy(path: Path | str, schema: SchemaLike | None = None) -> MlpPolicy:
    """Load the policy whose manifest is ``path`` (or ``path/manifest.json`` for a directory).

    With ``schema`` the model must have been trained on exactly that schema (version, size and hash);
    the registry always passes the trader's schema. Without it only the files' own consistency is
    checked (for inspection tools); the trader then compares ``schema_hash`` itself.
    """
    manifest_path = resolve_manifest_path(path)
    manifest = read_manifest(manifest_path)
    if schema is not None:
        _check_schema(manifest, manifest_path, schema)
    weights_path = manifest_path.parent / manifest.weights_file
    layers = _read_layers(weights_path, manifest)
    return MlpPolicy(manifest, layers)


def _check_schema(manifest: MlpManifest, source: Path, schema: SchemaLike) -> None:
    if manifest.schema_hash == schema.hash and manifest.layer_sizes[0] == schema.size:
        return
    detail = ""
    if manifest.feature_names is not None:
        expected, found = set(manifest.feature_names), set(schema.names)
        missing, added = sorted(expected - found), sorted(found - expected)
        if missing or added:
            detail = f" Features the model has but the schema lacks: {missing[:8]}; new in the schema: {added[:8]}."
        elif manifest.feature_names != schema.names:
            detail = " Same features in a different order."
    raise PolicyLoadError(
        f"MLP policy {source} was trained on feature schema v{manifest.schema_version} "
        f"(hash {manifest.schema_hash}, {manifest.layer_sizes[0]} inputs) but this trader computes "
        f"v{schema.version} (hash {schema.hash}, {schema.size} features): expected {schema.hash}, "
        f"found {manifest.schema_hash}.{detail} {_RETRAIN[0].upper()}{_RETRAIN[1:]}."
    )


def _read_layers(path: Path, manifest: MlpManifest) -> list[tuple[Array, Array]]:
    fix = "re-export the model; weights and manifest must come from the same export"
    if not path.is_file():
        raise PolicyLoadError(f"MLP weights file {path} (named by the manifest) does not exist; {fix}.")
    data = path.read_bytes()
    if manifest.weights_sha256 is not None and hashlib.sha256(data).hexdigest() != manifest.weights_sha256:
        raise PolicyLoadError(
            f"MLP weights file {path} does not match the sha256 recorded in the manifest: it is corrupt "
            f"or from a different export; {fix}."
        )
    arrays = _load_npz(path, data)
    n_layers = len(manifest.layer_sizes) - 1
    expected_names = {f"{kind}{i}" for i in range(n_layers) for kind in ("W", "b")}
    if set(arrays) != expected_names:
        raise PolicyLoadError(
            f"MLP weights file {path} holds arrays {sorted(arrays)} but layer_sizes "
            f"{list(manifest.layer_sizes)} need exactly {sorted(expected_names)}; {fix}."
        )
    layers: list[tuple[Array, Array]] = []
    for i in range(n_layers):
        n_in, n_out = manifest.layer_sizes[i], manifest.layer_sizes[i + 1]
        weight, bias = arrays[f"W{i}"], arrays[f"b{i}"]
        if weight.shape != (n_in, n_out) or bias.shape != (n_out,):
            raise PolicyLoadError(
                f"MLP weights file {path}: layer {i} has W{i} {weight.shape} and b{i} {bias.shape}, "
                f"layer_sizes need ({n_in}, {n_out}) and ({n_out},) (W is inputs x outputs: transpose "
                f"torch's Linear.weight); {fix}."
            )
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise PolicyLoadError(
                f"MLP weights file {path}: layer {i} contains NaN or infinite values; the training run "
                "diverged or the file is damaged -- retrain or export a good checkpoint."
            )
        layers.append((weight, bias))
    return layers


def _load_npz(path: Path, data: bytes) -> dict[str, Array]:
    def corrupt(exc: Exception | str) -> PolicyLoadError:
        return PolicyLoadError(
            f"MLP weights file {path} is not a readable .npz archive ({exc}); it is corrupt or "
            "truncated: re-export the model."
        )

    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise corrupt(exc) from exc
    if not isinstance(loaded, NpzFile):
        raise corrupt("it holds a single array, not named arrays W0, b0, ...")
    try:
        with loaded as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise corrupt(exc) from exc
    result: dict[str, Array] = {}
    for name, array in arrays.items():
        if not np.issubdtype(array.dtype, np.floating):
            raise PolicyLoadError(
                f"MLP weights file {path}: array {name} has dtype {array.dtype}, expected floats; re-export the model."
            )
        result[name] = array.astype(np.float64)
    return result
