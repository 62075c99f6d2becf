"""The policy contract: what a policy sees, what it answers, and how it fails to load.

A policy is a pure function from one observation (the feature vector of one market, in the order of
the feature schema it was built for) to a :class:`Decision`. It holds no clock, no I/O and no
memory between calls, so the same observation always gives the same decision: live trading,
backtests and training evaluate exactly the same thing, and throttling, sizing and limits stay the
risk gate's job. ``decide`` sits on the hot path (delta received -> order built, target p99 <= 300
µs including features), so a policy aims for tens of microseconds.

Every policy names the feature schema it expects by hash (``schema_hash``); the trader refuses to
start when it differs from the schema it computes. Anything that stops a policy from loading
(missing or corrupt files, a schema it was not built for, a feature it needs that the schema lacks)
is a :class:`PolicyLoadError` whose message names the file or feature, what is wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from kalshiflow.domain.values import hot_value


class PolicyLoadError(Exception):
    """A policy could not be built; the message is meant for the operator reading the startup log."""


class Action(StrEnum):
    """The five things a policy can ask for; the trader maps the four trades onto its own order actions.

    Buying NO and selling YES both move the signed (+YES / -NO) position down; which one a policy
    picks matters for fees and for which side of the book it takes, so they stay distinct.
    """

    HOLD = "hold"
    BUY_YES = "buy_yes"
    SELL_YES = "sell_yes"
    BUY_NO = "buy_no"
    SELL_NO = "sell_no"


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class Decision:
    """One answer of a policy.

    ``reason`` starts with a stable code (``wide_spread``, ``mlp_argmax`` ...) so decisions can be
    grouped in logs and the dashboard; any detail follows the code after ``": "``. ``scores`` are the
    numbers the decision was taken on (the rule policy's signal, the MLP's logits), or None.
    ``passive``: rest a post-only order at or inside the touch instead of crossing the spread (the
    trader cancels it when it expires or the book moves away from it).
    """

    action: Action
    reason: str
    scores: tuple[float, ...] | None = None
    passive: bool = False


class SchemaLike(Protocol):
    """What policies need from a feature schema (``kalshiflow.features.schema.FeatureSchema``).

    A protocol rather than the concrete class so policies depend only on the names, size and hash,
    and tests can describe a small schema without the 52-feature one.
    """

    @property
    def version(self) -> int: ...

    @property
    def names(self) -> tuple[str, ...]: ...

    @property
    def size(self) -> int: ...

    @property
    def hash(self) -> str: ...

    def index(self, name: str) -> int: ...


def feature_indices(schema: SchemaLike, features: Sequence[str], who: str) -> dict[str, int]:
    """Each feature's index in ``schema``; a ``PolicyLoadError`` naming the ones it lacks.

    Why here: every rule-based policy reads features by name and must refuse, at load, a schema
    without them (one message for all, not a copy per policy)."""
    missing = [name for name in features if name not in schema.names]
    if missing:
        raise PolicyLoadError(
            f"{who} needs features {missing} that feature schema v{schema.version} "
            f"({schema.hash[:12]}) does not have; use a schema that has them (v1) or another policy"
        )
    return {name: schema.index(name) for name in features}


def check_size(observation: Sequence[float], size: int) -> None:
    """A policy decides only on a vector of its schema's size (``ValueError`` otherwise)."""
    if len(observation) != size:
        raise ValueError(f"observation has {len(observation)} features, the schema has {size}")


class Policy(Protocol):
    """A pure, deterministic map from one observation to a :class:`Decision`.

    ``name`` identifies the policy in logs and events (``hold``, ``rules``, ``mlp:<model>``);
    ``schema_hash`` is the hash of the feature schema whose order ``decide`` expects.
    """

    @property
    def name(self) -> str: ...

    @property
    def schema_hash(self) -> str: ...

    def decide(self, observation: Sequence[float]) -> Decision: ...
