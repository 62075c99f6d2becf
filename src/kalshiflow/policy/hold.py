"""The policy that never trades: a baseline for backtests and a safe default for dry runs.

With ``hold`` the trader still connects, syncs, calibrates and runs its exit rules, so it is how an
operator checks the plumbing (or lets exit rules wind positions down) without opening anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from kalshiflow.policy.base import Action, Decision, SchemaLike

_HOLD = Decision(Action.HOLD, "hold_policy")


class HoldPolicy:
    """Always answers HOLD; reports the hash of the schema it was built with so startup checks pass."""

    def __init__(self, schema: SchemaLike) -> None:
        self._schema_hash = schema.hash

    @property
    def name(self) -> str:
        return "hold"

    @property
    def schema_hash(self) -> str:
        return self._schema_hash

    def decide(self, observation: Sequence[float]) -> Decision:
        return _HOLD
