"""The daily loss limit's P&L rolls over at midnight UTC instead of counting since process start."""

from __future__ import annotations

from kalshiflow.domain.units import Money
from kalshiflow.trader.risk.daily_pnl import DAY_MS, DailyRealized

DAY_2_NOON = 2 * DAY_MS + DAY_MS // 2


def test_losses_of_yesterday_do_not_count_today() -> None:
    daily = DailyRealized()
    assert daily.of(DAY_2_NOON, Money(0)) == 0
    assert daily.of(DAY_2_NOON + 1_000, Money(-40_000_000)) == Money(-40_000_000)
    tomorrow = 3 * DAY_MS + 1
    assert daily.of(tomorrow, Money(-40_000_000)) == 0  # a new day starts from here
    assert daily.of(tomorrow + 5_000, Money(-45_000_000)) == Money(-5_000_000)


def test_same_day_accumulates() -> None:
    daily = DailyRealized()
    daily.of(DAY_2_NOON, Money(10))
    assert daily.of(DAY_2_NOON + DAY_MS // 4, Money(-90)) == Money(-100)
