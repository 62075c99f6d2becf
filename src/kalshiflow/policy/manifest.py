"""The manifest of an exported MLP policy: the JSON that says how to read and trust ``weights.npz``.

A trained PPO policy ships as a directory with ``manifest.json`` and ``weights.npz``. The manifest
records everything inference needs besides the numbers, so the trader never guesses:

* ``format`` / ``format_version``: this reader understands version 1 only;
* ``feature_schema``: version, hash and (optionally) names of the observation schema the model was
  trained on; a model is only meaningful on exactly that feature order and normalisation;
* ``layer_sizes`` ``[n_in, h1, ..., n_out]`` and ``activation`` (``tanh`` | ``relu``, applied after
  every layer but the last, as in Stable-Baselines3's ``MlpPolicy``);
* ``observation_normalisation``: ``mean``, ``std`` and ``clip`` from SB3 ``VecNormalize``
  (``std = sqrt(var + epsilon)``, computed at export), applied as ``clip((x - mean) / std)``; or null;
* ``observation_scales``: the ``features.ObservationScales`` (bankroll, max position) the portfolio
  features were scaled by in training, as exact decimal strings, or null; the trader compares them;
* ``action_map``: output index (as a string key) -> :class:`Action` name, no duplicates;
* ``weights``: file name (relative to the manifest) and the sha256 of that file, so weights from a
  different export cannot be paired with this manifest unnoticed;
* ``passive`` (optional, default false): the model was trained with its trades resting post-only
  inside the touch, so it must trade that way live;
* ``exit_overrides`` (optional, default none): the ``[exit_rules]`` flags the training environment
  ran with (e.g. ``stop_loss_enabled: false``), so ``run`` and ``backtest`` apply the same exits.
  Manifests written before these two fields keep their meaning: crossing trades, default exits.

Parsing validates all of it and reports the first problem as a :class:`PolicyLoadError` naming the
manifest, the field, what was found and what to do. Array contents are checked in ``mlp.py``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from kalshiflow.policy.base import Action, PolicyLoadError

FORMAT = "kalshiflow-mlp-policy"
FORMAT_VERSION = 1
MANIFEST_FILENAME = "manifest.json"
WEIGHTS_FILENAME = "weights.npz"
ACTIVATIONS = ("tanh", "relu")

_REEXPORT = "re-export the model with the current kalshiflow (policy.export_tools.write_mlp_policy)"


@dataclass(frozen=True, slots=True)
class ObsNormalisation:
    """``clip((x - mean) / std, -clip, clip)`` per feature, as SB3 ``VecNormalize`` does."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    clip: float


@dataclass(frozen=True, slots=True)
class MlpManifest:
    """A validated manifest; ``action_map[i]`` is the action of output ``i``."""

    name: str
    schema_version: int
    schema_hash: str
    feature_names: tuple[str, ...] | None
    layer_sizes: tuple[int, ...]
    activation: str
    obs_norm: ObsNormalisation | None
    action_map: tuple[Action, ...]
    weights_file: str
    weights_sha256: str | None
    observation_scales: dict[str, str] | None = None
    format_version: int = FORMAT_VERSION
    passive: bool = False
    exit_overrides: dict[str, bool] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``parse_manifest`` reads back to an equal manifest."""
        norm = self.obs_norm
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "name": self.name,
            "feature_schema": {
                "version": self.schema_version,
                "hash": self.schema_hash,
                "names": None if self.feature_names is None else list(self.feature_names),
            },
            "layer_sizes": list(self.layer_sizes),
            "activation": self.activation,
            "observation_normalisation": None
            if norm is None
            else {"mean": list(norm.mean), "std": list(norm.std), "clip": norm.clip},
            "observation_scales": self.observation_scales,
            "action_map": {str(i): action.name for i, action in enumerate(self.action_map)},
            "weights": {"file": self.weights_file, "sha256": self.weights_sha256},
            "passive": self.passive,
            "exit_overrides": None if self.exit_overrides is None else dict(self.exit_overrides),
        }


def resolve_manifest_path(path: Path | str) -> Path:
    """``path`` itself, or ``path/manifest.json`` when ``path`` is a directory."""
    resolved = Path(path)
    return resolved / MANIFEST_FILENAME if resolved.is_dir() else resolved


def read_manifest(path: Path) -> MlpManifest:
    """Read and validate the manifest at ``path`` (a file)."""
    if not path.is_file():
        raise PolicyLoadError(
            f"MLP policy manifest {path} does not exist. Pass the manifest file or the directory "
            f"holding {MANIFEST_FILENAME} and {WEIGHTS_FILENAME} (as written by the training export)."
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PolicyLoadError(
            f"MLP policy manifest {path} is not readable JSON ({exc}); the file is corrupt or "
            f"truncated: {_REEXPORT}."
        ) from exc
    return parse_manifest(raw, path)


def parse_manifest(raw: object, source: Path) -> MlpManifest:
    """Validate a decoded manifest; ``source`` is named in every error."""
    fields = _Fields(source)
    obj = fields.obj(raw, "the manifest")
    if obj.get("format") != FORMAT:
        fields.fail(
            f"field 'format' is {obj.get('format')!r}, expected {FORMAT!r}", "is this the right file?"
        )
    version = fields.integer(obj, "format_version")
    if version != FORMAT_VERSION:
        fields.fail(
            f"format_version {version} is not supported (this kalshiflow reads {FORMAT_VERSION})", _REEXPORT
        )
    schema = fields.obj(obj.get("feature_schema"), "feature_schema")
    feature_names = _feature_names(fields, schema.get("names"))
    sizes = _layer_sizes(fields, obj.get("layer_sizes"))
    activation = obj.get("activation")
    if activation not in ACTIVATIONS:
        fields.fail(f"unknown activation {activation!r} (supported: {', '.join(ACTIVATIONS)})", _REEXPORT)
    if feature_names is not None and len(feature_names) != sizes[0]:
        fields.fail(
            f"feature_schema.names has {len(feature_names)} names but the input layer is {sizes[0]}",
            _REEXPORT,
        )
    weights = fields.obj(obj.get("weights"), "weights")
    weights_file = weights.get("file")
    if not isinstance(weights_file, str) or not weights_file:
        fields.fail(f"weights.file is {weights_file!r}, expected a file name", _REEXPORT)
    sha = weights.get("sha256")
    if sha is not None and not isinstance(sha, str):
        fields.fail(f"weights.sha256 is {sha!r}, expected a hex string or null", _REEXPORT)
    name = obj.get("name", source.parent.name)
    passive = obj.get("passive", False)
    if not isinstance(passive, bool):
        fields.fail(f"passive is {passive!r}, expected true or false", _REEXPORT)
    return MlpManifest(
        name=str(name),
        schema_version=fields.integer(schema, "version", where="feature_schema.version"),
        schema_hash=fields.text(schema, "hash", where="feature_schema.hash"),
        feature_names=feature_names,
        layer_sizes=sizes,
        activation=activation,
        obs_norm=_obs_norm(fields, obj.get("observation_normalisation"), sizes[0]),
        action_map=_action_map(fields, obj.get("action_map"), sizes[-1]),
        weights_file=weights_file,
        weights_sha256=sha,
        observation_scales=_scales(fields, obj.get("observation_scales")),
        format_version=version,
        passive=passive,
        exit_overrides=_exit_overrides(fields, obj.get("exit_overrides")),
    )


class _Fields:
    """Typed access to decoded JSON that fails with the manifest's path in the message."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def fail(self, problem: str, fix: str) -> NoReturn:
        raise PolicyLoadError(f"MLP policy manifest {self.source}: {problem}; {fix}.")

    def obj(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(f"{where} must be a JSON object, found {type(value).__name__}", _REEXPORT)
        return value

    def integer(self, obj: dict[str, Any], key: str, where: str | None = None) -> int:
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"{where or key} is {value!r}, expected an integer", _REEXPORT)
        return value

    def text(self, obj: dict[str, Any], key: str, where: str) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            self.fail(f"{where} is {value!r}, expected a non-empty string", _REEXPORT)
        return value

    def floats(self, value: object, where: str, length: int) -> tuple[float, ...]:
        if not isinstance(value, list) or len(value) != length:
            found = f"{len(value)} values" if isinstance(value, list) else type(value).__name__
            self.fail(
                f"{where} must be a list of {length} numbers (one per input feature), found {found}",
                _REEXPORT,
            )
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
                self.fail(f"{where}[{i}] is {item!r}, expected a finite number", _REEXPORT)
        return tuple(float(item) for item in value)


def _feature_names(fields: _Fields, value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        fields.fail("feature_schema.names must be a list of strings or null", _REEXPORT)
    return tuple(value)


def _scales(fields: _Fields, value: object) -> dict[str, str] | None:
    if value is None:
        return None
    obj = fields.obj(value, "observation_scales")
    if not all(isinstance(item, str) for item in obj.values()):
        fields.fail("observation_scales must map names to decimal strings", _REEXPORT)
    return dict(obj)


def _exit_overrides(fields: _Fields, value: object) -> dict[str, bool] | None:
    if value is None:
        return None
    obj = fields.obj(value, "exit_overrides")
    for key, item in obj.items():
        if not isinstance(item, bool):
            fields.fail(f"exit_overrides.{key} is {item!r}, expected true or false", _REEXPORT)
    return dict(obj)


def _layer_sizes(fields: _Fields, value: object) -> tuple[int, ...]:
    sizes = value if isinstance(value, list) else []
    if len(sizes) < 2 or not all(
        isinstance(size, int) and not isinstance(size, bool) and size > 0 for size in sizes
    ):
        fields.fail(
            f"layer_sizes is {value!r}, expected [n_inputs, hidden..., n_actions] of positive integers",
            _REEXPORT,
        )
    return tuple(int(size) for size in sizes)


def _obs_norm(fields: _Fields, value: object, n_in: int) -> ObsNormalisation | None:
    if value is None:
        return None
    obj = fields.obj(value, "observation_normalisation")
    mean = fields.floats(obj.get("mean"), "observation_normalisation.mean", n_in)
    std = fields.floats(obj.get("std"), "observation_normalisation.std", n_in)
    for i, item in enumerate(std):
        if item <= 0.0:
            fields.fail(f"observation_normalisation.std[{i}] is {item}, expected > 0", _REEXPORT)
    clip = obj.get("clip")
    if isinstance(clip, bool) or not isinstance(clip, int | float) or not (math.isfinite(clip) and clip > 0):
        fields.fail(f"observation_normalisation.clip is {clip!r}, expected a finite number > 0", _REEXPORT)
    return ObsNormalisation(mean, std, float(clip))


def _action_map(fields: _Fields, value: object, n_out: int) -> tuple[Action, ...]:
    valid = ", ".join(action.name for action in Action)
    obj = fields.obj(value, "action_map")
    expected = {str(i) for i in range(n_out)}
    missing = sorted(expected - obj.keys(), key=int)
    extra = sorted(obj.keys() - expected)
    if missing or extra:
        fields.fail(
            f"action_map must map every output index 0..{n_out - 1} to an action; "
            f"missing {missing}, unexpected keys {extra}",
            _REEXPORT,
        )
    actions: list[Action] = []
    for i in range(n_out):
        label = obj[str(i)]
        action = Action.__members__.get(label.upper()) if isinstance(label, str) else None
        if action is None:
            fields.fail(f"action_map[{i}] is {label!r}, not an action (valid: {valid})", _REEXPORT)
        if action in actions:
            fields.fail(f"action_map maps both {actions.index(action)} and {i} to {action.name}", _REEXPORT)
        actions.append(action)
    return tuple(actions)
