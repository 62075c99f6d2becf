"""Policies: pure maps from one market's observation to one of five actions (ARCHITECTURE §1, §7).

``hold`` never trades, ``rules`` trades order-book pressure with spread and position filters, and
``mlp:PATH`` runs an exported PPO policy with numpy. ``load_policy(spec, schema)`` builds any of them.
"""

from __future__ import annotations

from kalshiflow.policy.base import Action, Decision, Policy, PolicyLoadError, SchemaLike
from kalshiflow.policy.registry import VALID_SPECS, load_policy

__all__ = ["VALID_SPECS", "Action", "Decision", "Policy", "PolicyLoadError", "SchemaLike", "load_policy"]
