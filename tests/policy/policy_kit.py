"""Builders for policy tests: named schema-v1 observations, their YES/NO mirror, small schemas and
random networks with a plain numpy reference forward pass."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from kalshiflow.features.schema import SCHEMA_V1, FeatureSchema, FeatureSpec
from kalshiflow.policy.base import Action
from kalshiflow.policy.rules import normalised_time_to_close

Array = npt.NDArray[np.float64]

# A healthy, quiet market: mid $0.50, one-cent spread on a cent grid, size on both sides, a day to
# the close, flat. Tests override the features they are about.
BASE_FEATURES: dict[str, float] = {
    "yes_bid": 0.49,
    "yes_ask": 0.50,
    "mid": 0.495,
    "microprice": 0.495,
    "microprice_offset": 0.0,
    "spread": 0.01,
    "tick_size": 1.0,
    "bid_depth_l1": 0.4,
    "ask_depth_l1": 0.4,
    "imbalance_l1": 0.0,
    "imbalance_l3": 0.0,
    "imbalance_l5": 0.0,
    "time_to_close": normalised_time_to_close(86_400),
    "position": 0.0,
}

# Features that change sign (or swap) when the book is seen from the NO side.
_NEGATED = ("microprice_offset", "imbalance_l1", "imbalance_l3", "imbalance_l5", "imbalance_l10", "position")
_SWAPPED = (("bid_depth_l1", "ask_depth_l1"), ("yes_bid", "yes_ask"))

MIRROR_ACTION = {
    Action.HOLD: Action.HOLD,
    Action.BUY_YES: Action.BUY_NO,
    Action.BUY_NO: Action.BUY_YES,
    Action.SELL_YES: Action.SELL_NO,
    Action.SELL_NO: Action.SELL_YES,
}


def features(**overrides: float) -> dict[str, float]:
    named = dict(BASE_FEATURES)
    named.update(overrides)
    return named


def mirror(named: dict[str, float]) -> dict[str, float]:
    """The same market seen from the NO side: YES prices complemented, pressures and position negated."""
    out = dict(named)
    for name in _NEGATED:
        if name in out:
            out[name] = -out[name]
    for a, b in _SWAPPED:
        if a in out and b in out:
            out[a], out[b] = out[b], out[a]
    for name in ("yes_bid", "yes_ask"):
        if name in out:
            out[name] = 1.0 - out[name]
    for name in ("mid", "microprice"):
        if name in out:
            out[name] = 1.0 - out[name]
    return out


def observation(named: dict[str, float], schema: FeatureSchema = SCHEMA_V1) -> tuple[float, ...]:
    unknown = set(named) - set(schema.names)
    assert not unknown, f"not in the schema: {unknown}"
    return tuple(named.get(name, 0.0) for name in schema.names)


def small_schema(n: int = 6, version: int = 1, tag: str = "") -> FeatureSchema:
    specs = tuple(FeatureSpec(f"f{i}{tag}", "unit", -1.0, 1.0, "none", "test feature") for i in range(n))
    return FeatureSchema(version, specs)


def random_layers(sizes: Sequence[int], seed: int = 0, dtype: type = np.float64) -> list[tuple[Array, Array]]:
    rng = np.random.default_rng(seed)
    return [
        (
            rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out)).astype(dtype),
            rng.normal(0.0, 0.1, n_out).astype(dtype),
        )
        for n_in, n_out in itertools.pairwise(sizes)
    ]


def reference_logits(
    obs: Sequence[float],
    layers: Sequence[tuple[Array, Array]],
    activation: str = "tanh",
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    clip: float = 10.0,
) -> Array:
    """The forward pass written the obvious way, to check the optimised one against."""
    x = np.array(obs, dtype=np.float64)
    if mean is not None and std is not None:
        x = np.clip((x - np.array(mean)) / np.array(std), -clip, clip)
    for i, (w, b) in enumerate(layers):
        x = x @ np.asarray(w, dtype=np.float64) + np.asarray(b, dtype=np.float64)
        if i < len(layers) - 1:
            x = np.tanh(x) if activation == "tanh" else np.maximum(x, 0.0)
    return x
