"""The ledger tracks the exchange's cash exactly on markets whose fees are not plain ``quadratic`` x1.

Same walk as ``test_ledger_tracks_engine`` (the trader's orders, counterparties crossing them,
cancels; no reconciliation), on a maker-fee series, a ``flat`` series and series with a fee
multiplier other than 1. The ledger's fee lookup is a ``FeeSchedule`` set to the series' terms, as
the trader's startup fills it. A control shows the walk is sensitive to the terms: with the default
lookup the estimate drifts from the exchange. ``FeeSchedule.load`` is checked on a fake source:
overrides, one read per event and per series, and the default kept (and retried) on a failure.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from tests.sim.engine.engine_kit import TICKER, make_engine
from tests.trader.state.ledger_walk import TRADER, walk, wire

from kalshiflow.domain.fees import FeeType
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.errors import ErrorKind, ExchangeError
from kalshiflow.exchange.models_market import EventData, Market, MarketStatus, Series
from kalshiflow.sim.engine import Engine
from kalshiflow.trader.state.fees import DEFAULT_FEE_TERMS, FeeSchedule
from kalshiflow.trader.state.ledger import Ledger

SCHEDULES = [
    pytest.param(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1), id="maker-fees"),
    pytest.param(FeeType.FLAT, Fraction(1), id="flat"),
    pytest.param(FeeType.QUADRATIC, Fraction(3, 2), id="quadratic-x1.5"),
    pytest.param(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 2), id="maker-fees-x1.5"),
    pytest.param(FeeType.FLAT, Fraction(1, 2), id="flat-x0.5"),
]


def _desk(fee_type: FeeType, multiplier: Fraction, schedule: FeeSchedule | None) -> tuple[Engine, Ledger]:
    engine, clock = make_engine(balance=200 * 1_000_000, fee_type=fee_type, fee_multiplier=multiplier)
    ledger = Ledger(schedule) if schedule is not None else Ledger()
    ledger.overwrite_cash(Money(engine.accounts[TRADER].balance), clock.now_ms())
    wire(engine, ledger)
    return engine, ledger


@pytest.mark.parametrize(("fee_type", "multiplier"), SCHEDULES)
@pytest.mark.parametrize("seed", range(4))
def test_ledger_cash_equals_the_exchange_under_the_series_fee_schedule(
    fee_type: FeeType, multiplier: Fraction, seed: int
) -> None:
    schedule = FeeSchedule()
    schedule.set(TICKER, fee_type, multiplier)
    engine, ledger = _desk(fee_type, multiplier, schedule)
    series = engine.series[engine.events[engine.markets[TICKER].event_ticker].series_ticker]
    assert (series.fee_type, series.fee_multiplier) == (fee_type, multiplier)
    assert walk(engine, ledger, seed) == []
    resting = {o.client_order_id for o in engine.orders.values() if o.account_id == TRADER and o.is_resting}
    assert {o.client_order_id for o in ledger.live_orders()} == resting
    assert ledger.reserved == engine.accounts[TRADER].reserved(engine.orders)


@pytest.mark.parametrize(
    ("fee_type", "multiplier"),
    [
        pytest.param(FeeType.FLAT, Fraction(1), id="flat"),
        pytest.param(FeeType.QUADRATIC, Fraction(3, 2), id="quadratic-x1.5"),
    ],
)
def test_with_the_default_lookup_the_estimate_drifts(fee_type: FeeType, multiplier: Fraction) -> None:
    """Control: the walks above would catch a lookup that ignores the series' fee terms."""
    drifted = 0
    for seed in range(4):
        engine, ledger = _desk(fee_type, multiplier, None)
        drifted += bool(walk(engine, ledger, seed))
    assert drifted > 0


# ---------------------------------------------------------------------- FeeSchedule.load
GRID = PriceGrid.named("linear_cent")


def _market(ticker: str, event_ticker: str) -> Market:
    p, c = Price(0), Count(0)
    return Market(ticker, event_ticker, MarketStatus.ACTIVE, 0, 1, GRID, p, p, p, p, c, c, p, c, c, c)


class FakeSource:
    def __init__(self, events: dict[str, EventData], series: dict[str, Series]) -> None:
        self.events, self.series_by_ticker = events, series
        self.calls: list[str] = []
        self.fail: set[str] = set()

    async def event(self, event_ticker: str, with_nested_markets: bool = True) -> EventData:
        self.calls.append(f"event:{event_ticker}")
        assert not with_nested_markets
        if event_ticker in self.fail:
            raise ExchangeError(
                ErrorKind.AMBIGUOUS, "unavailable", status=503, path=f"/events/{event_ticker}"
            )
        return self.events[event_ticker]

    async def series(self, series_ticker: str) -> Series:
        self.calls.append(f"series:{series_ticker}")
        return self.series_by_ticker[series_ticker]


async def test_fee_schedule_reads_each_event_and_series_once_and_applies_event_overrides() -> None:
    source = FakeSource(
        {
            "KXA-1": EventData("KXA-1", "KXA"),
            "KXA-2": EventData("KXA-2", "KXA", fee_multiplier_override=Fraction(1, 2)),
            "ODD-EVENT": EventData("ODD-EVENT", "KXB", fee_type_override="flat"),
            "KXC-1": EventData(
                "KXC-1", "KXC", fee_type_override="quadratic", fee_multiplier_override=Fraction(2)
            ),
            "KXD-1": EventData("KXD-1", "KXD", fee_type_override="some_new_schedule"),
        },
        {
            "KXA": Series("KXA", FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 2)),
            "KXB": Series("KXB", FeeType.QUADRATIC, Fraction(5, 4)),
            "KXD": Series("KXD", FeeType.QUADRATIC, Fraction(1)),
        },
    )
    markets = [
        _market("A1-X", "KXA-1"),
        _market("A1-Y", "KXA-1"),
        _market("A2-X", "KXA-2"),
        _market("B-X", "ODD-EVENT"),  # the series is read from the event, not the ticker's prefix
        _market("C-X", "KXC-1"),
        _market("D-X", "KXD-1"),
    ]
    schedule = FeeSchedule()
    assert await schedule.load(source, markets) == 5
    assert schedule("A1-X") == schedule("A1-Y") == (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 2))
    assert schedule("A2-X") == (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1, 2))
    assert schedule("B-X") == (FeeType.FLAT, Fraction(5, 4))
    assert schedule("C-X") == (FeeType.QUADRATIC, Fraction(2))  # both overridden: no series read
    assert schedule("D-X") == DEFAULT_FEE_TERMS  # an unknown fee type: the default, retried later
    assert not schedule.knows("D-X")
    assert "KXD-1" in schedule.failures
    assert sorted(source.calls) == sorted(
        [
            "event:KXA-1",
            "event:KXA-2",
            "event:ODD-EVENT",
            "event:KXC-1",
            "event:KXD-1",
            "series:KXA",
            "series:KXB",  # not KXD: the unknown override fails before its series is read
        ]
    )
    # Added later: a market of a known event costs nothing; one of a new event of a known series one read.
    source.calls.clear()
    source.events["KXA-3"] = EventData("KXA-3", "KXA")
    assert await schedule.load(source, [*markets, _market("A1-Z", "KXA-1"), _market("A3-X", "KXA-3")]) == 2
    assert source.calls == ["event:KXD-1", "event:KXA-3"]  # the failed one is retried
    assert schedule("A1-Z") == schedule("A3-X") == (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 2))


async def test_fee_schedule_keeps_the_default_when_the_exchange_fails_and_retries_later() -> None:
    source = FakeSource(
        {"KXA-1": EventData("KXA-1", "KXA")}, {"KXA": Series("KXA", FeeType.FLAT, Fraction(1))}
    )
    source.fail.add("KXA-1")
    schedule = FeeSchedule()
    market = _market("A1-X", "KXA-1")
    assert await schedule.load(source, [market]) == 0
    assert schedule("A1-X") == DEFAULT_FEE_TERMS
    source.fail.clear()
    assert await schedule.load(source, [market]) == 1
    assert schedule("A1-X") == (FeeType.FLAT, Fraction(1))
    assert not schedule.failures
