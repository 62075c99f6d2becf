"""Tally of gate answers by reason code, for status reports, metrics and the dashboard."""

from __future__ import annotations

from collections import Counter

from kalshiflow.trader.risk.types import RiskDecision, RiskReason


class RiskCounters:
    """Counts denials per reason code and allowed orders; ``as_dict`` has every reason, zeros included."""

    def __init__(self) -> None:
        self._denials: Counter[RiskReason] = Counter()
        self.allowed = 0

    def record(self, decision: RiskDecision) -> None:
        if decision.allowed:
            self.allowed += 1
        else:
            self._denials[decision.reason] += 1

    def denials(self, reason: RiskReason) -> int:
        return self._denials[reason]

    @property
    def total_denied(self) -> int:
        return sum(self._denials.values())

    def as_dict(self) -> dict[str, int]:
        """``{reason code: denials}`` for every denial reason, plus ``"ok"``: orders allowed."""
        counts = {reason.value: self._denials[reason] for reason in RiskReason if reason is not RiskReason.OK}
        counts[RiskReason.OK.value] = self.allowed
        return counts
