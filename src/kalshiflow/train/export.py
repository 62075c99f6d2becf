"""Export a stable-baselines3 PPO actor to the torch-free ``mlp:PATH`` format the trader loads.

Why here and not in ``policy/``: only training has a torch model to read; ``policy.export_tools``
writes the format (one producer, one reader) and this module maps SB3's objects onto it:

* the actor is ``mlp_extractor.policy_net`` (Linear + activation pairs) then ``action_net``
  (Linear, no activation): layers ``(W, b)`` with ``W = Linear.weight.T``;
* ``VecNormalize``'s observation statistics become the manifest's normalisation
  (``std = sqrt(var + epsilon)``, ``clip = clip_obs``), applied by ``MlpPolicy`` as SB3 does;
* the training config, the simulator seeds trained on and (later) an evaluation summary are added
  to ``manifest.json`` under ``training`` and ``evaluation``; the loader ignores those keys.

Objects are typed ``Any``: torch is optional and this module is imported only by training code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kalshiflow.features import SCHEMA_V1, ObservationScales
from kalshiflow.policy.export_tools import DEFAULT_ACTION_MAP, write_mlp_policy


def actor_layers(model: Any) -> tuple[list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]], str]:
    """The actor's ``(W, b)`` layers (inputs x outputs) and its activation name from an SB3 PPO."""
    import torch

    linears: list[Any] = []
    activation = "tanh"
    for module in model.policy.mlp_extractor.policy_net:
        if isinstance(module, torch.nn.Linear):
            linears.append(module)
        elif isinstance(module, torch.nn.ReLU):
            activation = "relu"
        elif not isinstance(module, torch.nn.Tanh):
            raise ValueError(f"cannot export actor layer {module!r}: only Linear, Tanh and ReLU")
    linears.append(model.policy.action_net)
    layers = [
        (
            linear.weight.detach().cpu().double().numpy().T.copy(),
            linear.bias.detach().cpu().double().numpy().copy(),
        )
        for linear in linears
    ]
    return layers, activation


def export_ppo(
    model: Any,
    vec_normalize: Any | None,
    out_dir: Path,
    *,
    scales: ObservationScales,
    training: Mapping[str, Any] | None = None,
    name: str | None = None,
    passive: bool = False,
    exit_overrides: Mapping[str, bool] | None = None,
) -> Path:
    """Write ``weights.npz`` + ``manifest.json`` into ``out_dir``; return the manifest's path.

    ``passive`` / ``exit_overrides``: how the environment traded, recorded so ``mlp:PATH`` trades alike."""
    layers, activation = actor_layers(model)
    mean = std = None
    clip = 10.0
    if vec_normalize is not None and vec_normalize.norm_obs:
        rms = vec_normalize.obs_rms
        mean = [float(v) for v in np.asarray(rms.mean, dtype=np.float64)]
        std = [float(v) for v in np.sqrt(np.asarray(rms.var, dtype=np.float64) + vec_normalize.epsilon)]
        clip = float(vec_normalize.clip_obs)
    manifest = write_mlp_policy(
        out_dir,
        layers,
        schema=SCHEMA_V1,
        activation=activation,
        obs_mean=mean,
        obs_std=std,
        obs_clip=clip,
        action_map=DEFAULT_ACTION_MAP,
        name=name,
        observation_scales=scales.to_dict(),
        passive=passive,
        exit_overrides=exit_overrides,
    )
    if training is not None:
        add_to_manifest(manifest, "training", training)
    return manifest


def add_to_manifest(manifest: Path, key: str, value: Any) -> None:
    """Add (or replace) a top-level informational section of ``manifest.json``, atomically."""
    document = json.loads(manifest.read_text(encoding="utf-8"))
    document[key] = value
    tmp = manifest.with_name(f".{manifest.name}.tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, manifest)
