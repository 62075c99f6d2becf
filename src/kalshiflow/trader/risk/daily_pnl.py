"""The day's realized P&L for the daily loss limit: it rolls over at midnight UTC.

Before issue 8 the "daily" figure counted from process start, so a trader running for a week
compared a week of losses with a one-day limit (and a restart reset it). ``DailyRealized`` keeps
the realized total at the start of the current UTC day (the first reading of a day is its start
for a process that was not running at midnight) and answers the difference.
"""

from __future__ import annotations

from kalshiflow.domain.units import Money

DAY_MS = 86_400_000


class DailyRealized:
    def __init__(self) -> None:
        self._day: int | None = None
        self._day_start = Money(0)

    def of(self, now_ms: int, realized_total: Money) -> Money:
        """Realized P&L since the start of ``now_ms``'s UTC day (or since the first reading that day)."""
        day = now_ms // DAY_MS
        if day != self._day:
            self._day, self._day_start = day, realized_total
        return Money(realized_total - self._day_start)
