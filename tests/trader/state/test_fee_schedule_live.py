"""``FeeSchedule`` follows announced fee changes on its clock, with no read at the switch, and takes
pushed event overrides at once. On a fake source that records every read (the end-to-end check
against the simulator is ``tests/trader/scenarios/test_fee_change_live.py``)."""

from __future__ import annotations

from fractions import Fraction

from tests.trader.state.test_ledger_fee_schedules import FakeSource, _market

from kalshiflow.clock import ManualClock
from kalshiflow.domain.fees import FeeType
from kalshiflow.exchange.models_account import EventFeeChange, SeriesFeeChange
from kalshiflow.exchange.models_market import EventData, Series
from kalshiflow.trader.state.fees import FeeSchedule


class ChangeSource(FakeSource):
    def __init__(self, events: dict[str, EventData], series: dict[str, Series]) -> None:
        super().__init__(events, series)
        self.series_changes: list[SeriesFeeChange] = []
        self.event_changes: list[EventFeeChange] = []

    async def series_fee_changes(
        self, *, series_ticker: str | None = None, show_historical: bool = False
    ) -> list[SeriesFeeChange]:
        self.calls.append("series_fee_changes")
        return list(self.series_changes)

    async def event_fee_changes(self, *, event_ticker: str | None = None) -> list[EventFeeChange]:
        self.calls.append("event_fee_changes")
        return list(self.event_changes)


def _source() -> ChangeSource:
    return ChangeSource(
        {
            "KXA-1": EventData("KXA-1", "KXA"),
            "KXC-1": EventData("KXC-1", "KXC", fee_type_override="flat", fee_multiplier_override=Fraction(2)),
        },
        {
            "KXA": Series("KXA", FeeType.QUADRATIC, Fraction(1)),
            "KXC": Series("KXC", FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 2)),
        },
    )


MARKETS = [_market("A-X", "KXA-1"), _market("C-X", "KXC-1")]


async def test_announced_changes_switch_at_their_time_in_order_without_a_read() -> None:
    clock = ManualClock()
    t0 = clock.now_ms()
    source = _source()
    schedule = FeeSchedule(clock=clock)
    await schedule.load(source, MARKETS)
    assert "series:KXC" not in source.calls  # both overridden: its series was not needed
    source.series_changes = [SeriesFeeChange("s1", "KXA", FeeType.FLAT, Fraction(1, 2), t0 + 30_000)]
    source.event_changes = [EventFeeChange("e1", "KXC-1", "KXC", None, None, t0 + 60_000)]  # clears both
    assert await schedule.follow_changes(source, t0) == 0
    assert [c.change_id for c in schedule.pending] == ["s1", "e1"]
    assert "series:KXC" in source.calls  # read now, for the switch that will hand KXC-1 back to it
    source.calls.clear()
    version = schedule.version

    clock.set_ms(t0 + 29_999)
    assert schedule("A-X") == (FeeType.QUADRATIC, Fraction(1))
    assert schedule.version == version
    clock.set_ms(t0 + 30_000)
    assert schedule("A-X") == (FeeType.FLAT, Fraction(1, 2))
    assert schedule("C-X") == (FeeType.FLAT, Fraction(2))  # its own change is not due yet
    assert schedule.version != version
    clock.set_ms(t0 + 60_000)
    assert schedule("C-X") == (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 2))
    assert schedule.pending == ()
    assert source.calls == []  # the switches read nothing

    # Read again at the next calibration: each change applied once, nothing changes.
    assert await schedule.follow_changes(source, clock.now_ms()) == 0
    assert schedule("A-X") == (FeeType.FLAT, Fraction(1, 2))


async def test_a_pushed_override_applies_at_once_and_an_unknown_type_keeps_the_terms() -> None:
    source = _source()
    schedule = FeeSchedule(clock=ManualClock())
    await schedule.load(source, MARKETS)
    assert schedule.apply_override("KXA-1", "quadratic_with_maker_fees", Fraction(2)) == 1
    assert schedule("A-X") == (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(2))
    assert schedule.apply_override("KXA-1", None, Fraction(3)) == 1  # type back to the series'
    assert schedule("A-X") == (FeeType.QUADRATIC, Fraction(3))
    assert schedule.apply_override("KXA-1", None, Fraction(3)) == 0  # a repeat changes nothing
    assert schedule.apply_override("NOT-TRADED", "flat", Fraction(1)) == 0
    assert schedule.apply_override("KXA-1", "brand_new_fees", Fraction(1)) == 0
    assert schedule("A-X") == (FeeType.QUADRATIC, Fraction(3))
    assert "KXA-1" in schedule.failures


async def test_a_withdrawn_change_never_applies_and_a_moved_one_applies_at_its_new_time() -> None:
    clock = ManualClock()
    t0 = clock.now_ms()
    source = _source()
    schedule = FeeSchedule(clock=clock)
    await schedule.load(source, MARKETS)
    source.series_changes = [SeriesFeeChange("s1", "KXA", FeeType.FLAT, Fraction(1, 2), t0 + 30_000)]
    source.event_changes = [EventFeeChange("e1", "KXC-1", "KXC", None, None, t0 + 30_000)]
    await schedule.follow_changes(source, t0)
    source.series_changes = []  # withdrawn before its time
    source.event_changes = [EventFeeChange("e1", "KXC-1", "KXC", None, None, t0 + 90_000)]  # moved
    await schedule.follow_changes(source, t0 + 10_000)
    clock.set_ms(t0 + 60_000)
    assert schedule("A-X") == (FeeType.QUADRATIC, Fraction(1))
    assert schedule("C-X") == (FeeType.FLAT, Fraction(2))
    clock.set_ms(t0 + 90_000)
    assert schedule("C-X") == (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 2))
