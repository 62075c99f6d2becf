"""Write an MLP policy in the format ``load_mlp_policy`` reads: ``weights.npz`` + ``manifest.json``.

One writer shared by the training export and the tests, so the format has exactly one producer and
one reader. Layers are given as ``(W, b)`` with ``W`` shaped inputs x outputs (``y = x @ W + b``):
transpose torch's ``Linear.weight``. The manifest records the sha256 of the weights file it was
written with; both files are written to temporary names and renamed, weights first, so a reader
never pairs a new manifest with half-written weights. By default the result is loaded back with the
schema it was built for, so an export that the trader would refuse fails here instead.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kalshiflow.policy.base import Action, SchemaLike
from kalshiflow.policy.manifest import (
    FORMAT_VERSION,
    MANIFEST_FILENAME,
    WEIGHTS_FILENAME,
    MlpManifest,
    ObsNormalisation,
)
from kalshiflow.policy.mlp import load_mlp_policy

DEFAULT_ACTION_MAP = (Action.HOLD, Action.BUY_YES, Action.SELL_YES, Action.BUY_NO, Action.SELL_NO)


def write_mlp_policy(
    directory: Path | str,
    layers: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
    *,
    schema: SchemaLike,
    activation: str = "tanh",
    obs_mean: Sequence[float] | None = None,
    obs_std: Sequence[float] | None = None,
    obs_clip: float = 10.0,
    action_map: Sequence[Action] | Mapping[int, Action] = DEFAULT_ACTION_MAP,
    name: str | None = None,
    observation_scales: Mapping[str, str] | None = None,
    passive: bool = False,
    exit_overrides: Mapping[str, bool] | None = None,
    verify: bool = True,
) -> Path:
    """Write ``directory/weights.npz`` and ``directory/manifest.json``; return the manifest path.

    ``obs_mean``/``obs_std`` (both or neither) come from ``VecNormalize``: ``std = sqrt(var + eps)``.
    ``action_map`` maps output index -> action (a sequence is indexed by position). ``name`` defaults
    to the directory name. ``observation_scales`` is ``ObservationScales.to_dict()`` of the training
    run. ``passive`` and ``exit_overrides``: how the model traded in training (post-only trades, the
    ``[exit_rules]`` flags set), so the trader trades it the same way. ``verify=False`` skips the load-back (tests writing broken files use it).
    """
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, npt.NDArray[np.float64]] = {}
    for i, (weight, bias) in enumerate(layers):
        arrays[f"W{i}"] = np.asarray(weight, dtype=np.float64)
        arrays[f"b{i}"] = np.asarray(bias, dtype=np.float64)
    if not layers:
        raise ValueError("write_mlp_policy needs at least one layer")
    sizes = [int(arrays["W0"].shape[0])] + [int(arrays[f"b{i}"].shape[0]) for i in range(len(layers))]
    if (obs_mean is None) != (obs_std is None):
        raise ValueError("give both obs_mean and obs_std, or neither")
    norm = None
    if obs_mean is not None and obs_std is not None:
        norm = ObsNormalisation(tuple(map(float, obs_mean)), tuple(map(float, obs_std)), float(obs_clip))
    actions = (
        tuple(action_map)
        if not isinstance(action_map, Mapping)
        else tuple(action_map[i] for i in sorted(action_map))
    )

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds loosely
    weights_bytes = buffer.getvalue()
    manifest = MlpManifest(
        name=name or out_dir.resolve().name,
        schema_version=schema.version,
        schema_hash=schema.hash,
        feature_names=tuple(schema.names),
        layer_sizes=tuple(sizes),
        activation=activation,
        obs_norm=norm,
        action_map=actions,
        weights_file=WEIGHTS_FILENAME,
        weights_sha256=hashlib.sha256(weights_bytes).hexdigest(),
        observation_scales=None if observation_scales is None else dict(observation_scales),
        format_version=FORMAT_VERSION,
        passive=passive,
        exit_overrides=None if exit_overrides is None else dict(exit_overrides),
    )
    _atomic_write(out_dir / WEIGHTS_FILENAME, weights_bytes)
    manifest_path = out_dir / MANIFEST_FILENAME
    _atomic_write(manifest_path, (json.dumps(manifest.to_json(), indent=2) + "\n").encode("utf-8"))
    if verify:
        load_mlp_policy(manifest_path, schema)
    return manifest_path


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
