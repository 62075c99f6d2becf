"""Policy specs as the operator writes them (``--policy``, config ``policy =``) -> a loaded policy.

Specs: ``hold``, ``rules`` (cost-aware), ``rules:signal`` (the signal rules without the cost
check, the policy before cost awareness), ``mm`` (passive market making), ``longshot`` (passive seller of YES longshots; ``longshot:max_mid=0.25+min_mid=0.05`` overrides
its thresholds for sweeps), ``random`` / ``random:SEED`` (a seeded
baseline), ``mlp:PATH`` (a manifest file or a directory holding ``manifest.json``
and ``weights.npz``). Every policy is built against the trader's feature schema, so a model trained
on another schema, a corrupt file or an unknown spec stops startup with a :class:`PolicyLoadError`.
"""

from __future__ import annotations

from dataclasses import replace

from kalshiflow.policy.base import Policy, PolicyLoadError, SchemaLike
from kalshiflow.policy.hold import HoldPolicy
from kalshiflow.policy.longshot import LongshotConfig, LongshotMakerPolicy
from kalshiflow.policy.market_maker import MarketMakerPolicy
from kalshiflow.policy.mlp import load_mlp_policy
from kalshiflow.policy.random_policy import RandomPolicy
from kalshiflow.policy.rules import RuleConfig, RulePolicy

VALID_SPECS = ("hold", "rules", "rules:signal", "mm", "longshot[:KEY=VALUE+...]", "random[:SEED]", "mlp:PATH")


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
        return LongshotMakerPolicy(schema, _longshot_config(spec, argument) if sep else None)
    if kind == "random":
        if not sep:
            return RandomPolicy(schema)
        if argument.strip().isdigit():
            return RandomPolicy(schema, int(argument))
        raise PolicyLoadError(f"policy spec {spec!r}: random:SEED needs a whole number seed")
    if kind == "mlp" and sep:
        if not argument.strip():
            raise PolicyLoadError(
                "policy spec 'mlp:' needs a path: mlp:PATH to a manifest.json or its directory"
            )
        return load_mlp_policy(argument.strip(), schema)
    raise PolicyLoadError(f"unknown policy spec {spec!r}; valid specs: {', '.join(VALID_SPECS)}")


def _longshot_config(spec: str, argument: str) -> LongshotConfig:
    """``max_mid=0.25+min_mid=0.05`` -> a ``LongshotConfig`` with those fields (floats) replaced."""
    fields = {name for name in LongshotConfig.__dataclass_fields__}
    values: dict[str, float] = {}
    for item in (a.strip() for a in argument.split("+") if a.strip()):
        key, eq, value = item.partition("=")
        if not eq or key.strip() not in fields:
            raise PolicyLoadError(
                f"policy spec {spec!r}: write longshot:KEY=VALUE+... with KEY one of {sorted(fields)}"
            )
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise PolicyLoadError(f"policy spec {spec!r}: {key.strip()} needs a number") from None
    flags = {name for name, f in LongshotConfig.__dataclass_fields__.items() if f.type in (bool, "bool")}
    try:
        return LongshotConfig(**{k: (v != 0.0 if k in flags else v) for k, v in values.items()})  # type: ignore[arg-type]
    except ValueError as exc:
        raise PolicyLoadError(f"policy spec {spec!r}: {exc}") from None
