"""Policy specs as the operator writes them (``--policy``, config ``policy =``) -> a loaded policy.

Specs: ``hold``, ``rules`` (cost-aware), ``rules:signal`` (the signal rules without the cost
check, the policy before cost awareness), ``mm`` (passive market making), ``maker`` (passive
quotes only in quiet markets with a wide spread; ``maker:min_spread_ticks=5`` overrides its
thresholds), ``longshot`` (passive seller of YES longshots; ``longshot:max_mid=0.25+min_mid=0.05``
overrides its thresholds for sweeps), ``random`` / ``random:SEED`` (a seeded
baseline), ``ppo`` (the PPO network shipped with the package, ``SHIPPED_PPO``), ``mlp:PATH`` (a
manifest file or a directory holding ``manifest.json`` and ``weights.npz``). Every policy is built against the trader's feature schema, so a model trained
on another schema, a corrupt file or an unknown spec stops startup with a :class:`PolicyLoadError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from kalshiflow.policy.base import Policy, PolicyLoadError, SchemaLike
from kalshiflow.policy.hold import HoldPolicy
from kalshiflow.policy.longshot import LongshotConfig, LongshotMakerPolicy
from kalshiflow.policy.manifest import read_manifest, resolve_manifest_path
from kalshiflow.policy.market_maker import MarketMakerPolicy
from kalshiflow.policy.mlp import load_mlp_policy
from kalshiflow.policy.random_policy import RandomPolicy
from kalshiflow.policy.rules import RuleConfig, RulePolicy
from kalshiflow.policy.touch_maker import EXIT_OVERRIDES, TouchMakerConfig, TouchMakerPolicy

# The shipped network (``models/ppo/README.md`` reports how it was trained and evaluated): package
# data, so ``--policy ppo`` works from an installed package and from any working directory.
SHIPPED_PPO = Path(__file__).parent / "shipped" / "ppo"


class _DataclassConfig(Protocol):
    """A policy's frozen config dataclass, as ``_config`` builds it from a spec's KEY=VALUE pairs."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def __init__(self, **values: Any) -> None: ...


_C = TypeVar("_C", bound=_DataclassConfig)

VALID_SPECS = (
    "hold",
    "rules",
    "rules:signal",
    "mm",
    "longshot[:KEY=VALUE+...]",
    "maker[:KEY=VALUE+...]",
    "random[:SEED]",
    "ppo",
    "mlp:PATH",
)


def load_policy(spec: str, schema: SchemaLike, rule_config: RuleConfig | None = None) -> Policy:
    """Build the policy ``spec`` names for observations of ``schema``."""
    kind, sep, argument = spec.strip().partition(":")
    if kind == "hold" and not sep:
        return HoldPolicy(schema)
    if kind == "rules" and not sep:
        return RulePolicy(schema, rule_config)
    if kind == "rules" and argument == "signal":
        return RulePolicy(schema, replace(rule_config or RuleConfig(), cost_aware=False))
    if kind == "mm" and not sep:
        return MarketMakerPolicy(schema)
    if kind == "longshot":
        return LongshotMakerPolicy(
            schema, _config(LongshotConfig, "longshot", spec, argument) if sep else None
        )
    if kind == "maker":
        return TouchMakerPolicy(schema, _config(TouchMakerConfig, "maker", spec, argument) if sep else None)
    if kind == "random":
        if not sep:
            return RandomPolicy(schema)
        if argument.strip().isdigit():
            return RandomPolicy(schema, int(argument))
        raise PolicyLoadError(f"policy spec {spec!r}: random:SEED needs a whole number seed")
    if kind == "ppo" and not sep:
        return load_mlp_policy(SHIPPED_PPO, schema)
    if kind == "mlp" and sep:
        if not argument.strip():
            raise PolicyLoadError(
                "policy spec 'mlp:' needs a path: mlp:PATH to a manifest.json or its directory"
            )
        return load_mlp_policy(argument.strip(), schema)
    raise PolicyLoadError(f"unknown policy spec {spec!r}; valid specs: {', '.join(VALID_SPECS)}")


def exit_overrides(spec: str) -> Mapping[str, bool]:
    """The ``[exit_rules]`` values the policy that ``spec`` names is built for (empty for most).

    Why a policy carries them: a passive maker's position closed by a stop loss crosses the spread
    it quoted to earn, so ``maker`` runs without take profit, stop loss and max hold time even where
    the other policies keep them. An exported model (``mlp:PATH``) carries the exits it was trained
    with in its manifest (none recorded: none overridden), the shipped ``ppo`` too. The composition applies them only to the
    fields the configuration does not set (an operator's explicit setting wins)."""
    kind, sep, argument = spec.strip().partition(":")
    if kind == "maker":
        return EXIT_OVERRIDES
    if kind == "ppo" and not sep:
        return read_manifest(resolve_manifest_path(SHIPPED_PPO)).exit_overrides or {}
    if kind == "mlp" and sep and argument.strip():
        return read_manifest(resolve_manifest_path(argument.strip())).exit_overrides or {}
    return {}


def _config(cls: type[_C], kind: str, spec: str, argument: str) -> _C:
    """``max_mid=0.25+min_mid=0.05`` -> a ``cls`` (a frozen dataclass of floats and flags) with
    those fields replaced; a flag is true for any value but 0."""
    fields = {name for name in cls.__dataclass_fields__}
    values: dict[str, float] = {}
    for item in (a.strip() for a in argument.split("+") if a.strip()):
        key, eq, value = item.partition("=")
        if not eq or key.strip() not in fields:
            raise PolicyLoadError(
                f"policy spec {spec!r}: write {kind}:KEY=VALUE+... with KEY one of {sorted(fields)}"
            )
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise PolicyLoadError(f"policy spec {spec!r}: {key.strip()} needs a number") from None
    flags = {name for name, f in cls.__dataclass_fields__.items() if f.type in (bool, "bool")}
    try:
        return cls(**{k: (v != 0.0 if k in flags else v) for k, v in values.items()})
    except ValueError as exc:
        raise PolicyLoadError(f"policy spec {spec!r}: {exc}") from None
