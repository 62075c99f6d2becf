"""Torch-free inference of an exported PPO policy: numpy matmuls over preallocated buffers.

The trader must not need torch (hundreds of MB, slow import) to run a trained policy, and ``decide``
sits on the hot path, so inference is a handful of numpy calls writing into arrays allocated once at
load: normalise the observation as SB3 ``VecNormalize`` did in training, run the actor MLP
(``x @ W + b`` with ``tanh``/``relu`` between layers, none after the last), take the argmax of the
logits -- the deterministic action of the PPO policy -- and map it through the manifest's action map.
Weights are float64 whatever they were trained in, so results match a plain numpy reference to the
last few bits (the tests hold them to 1e-12).

At this size (52 -> 64 -> 64 -> 5) every numpy call costs more in dispatch than in arithmetic, so
the forward pass is as few calls as possible: each layer's input buffer ends with a constant 1.0
and its weight matrix with the bias as an extra row, so ``x @ W + b`` is one ``dot`` writing
straight into the next layer's input, and the activation runs in place there.

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
from math import isfinite
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
        # The clip bounds as arrays of the input's shape: a ufunc given a Python float converts it
        # to an array on every call (about half the cost of the call, twice per decision).
        self._low = np.full(self._n_in, -self._clip)
        self._high = np.full(self._n_in, self._clip)
        self._relu = manifest.activation == "relu"
        # Layer i computes ``inputs[i] @ weights[i]``: its input is the previous layer's output
        # followed by a constant 1.0, its matrix W with the bias b as last row (see module doc).
        self._weights = [
            np.ascontiguousarray(
                np.vstack([np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)])
            )
            for w, b in layers
        ]
        self._inputs = [np.ones(w.shape[0], dtype=np.float64) for w in self._weights]
        # What a layer writes: the leading part of the next layer's input (its 1.0 stays), or the logits.
        self._logits = np.zeros(self._weights[-1].shape[1], dtype=np.float64)
        self._outputs = [x[:-1] for x in self._inputs[1:]] + [self._logits]
        self._input = self._inputs[0][:-1]  # the observation, normalised in place
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
            # ``np.clip``'s values, without its Python-level wrapper (several times the two ufuncs).
            np.maximum(x, self._low, out=x)
            np.minimum(x, self._high, out=x)
        relu = self._relu
        for x, weight, out in zip(self._inputs, self._weights, self._outputs, strict=True):
            np.dot(x, weight, out=out)
            if out is self._logits:  # no activation after the last layer
                break
            if relu:
                np.maximum(out, 0.0, out=out)
            else:
                np.tanh(out, out=out)
        return self._logits

    def decide(self, observation: Sequence[float]) -> Decision:
        scores = self.logits(observation).tolist()
        # ``argmax`` of finite logits in Python on the list already built: the first largest, as
        # numpy's. A sum that is not finite means a NaN or an infinity: numpy decides those cases.
        if isfinite(sum(scores)):
            best = scores.index(max(scores))
        else:
            best = int(np.argmax(self._logits))
            if not np.isfinite(self._logits[best]):
                return Decision(Action.HOLD, "mlp_non_finite_output", tuple(scores))
        return Decision(self._actions[best], self._reasons[best], tuple(scores), passive=self._passive[best])


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
