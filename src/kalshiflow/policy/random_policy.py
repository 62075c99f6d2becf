"""A seeded random policy: the baseline every policy must beat after fees.

Why it exists: a backtest figure means little without the cost of trading at random under the same
exits, risk limits and fees. Unlike the other policies it carries state (its random stream), so the
same seed and the same sequence of observations give the same decisions -- deterministic, not pure.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from kalshiflow.policy.base import Action, Decision, SchemaLike

_ACTIONS = (Action.BUY_YES, Action.SELL_YES, Action.BUY_NO, Action.SELL_NO)


class RandomPolicy:
    """Trades with probability ``trade_probability`` per decision, one of the four trades uniformly."""

    def __init__(self, schema: SchemaLike, seed: int = 0, trade_probability: float = 0.02) -> None:
        if not 0.0 <= trade_probability <= 1.0:
            raise ValueError("trade_probability must be within [0, 1]")
        self._schema_hash = schema.hash
        self._rng = random.Random(f"random-policy/{seed}")
        self._p = trade_probability

    @property
    def name(self) -> str:
        return "random"

    @property
    def schema_hash(self) -> str:
        return self._schema_hash

    def decide(self, observation: Sequence[float]) -> Decision:
        if self._rng.random() >= self._p:
            return Decision(Action.HOLD, "random_hold")
        return Decision(self._rng.choice(_ACTIONS), "random_trade")
