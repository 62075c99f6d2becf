"""Series over loopback: ``GET /series/{ticker}`` parses its fee schedule, the multiplier exactly.

Also the parse rules of the multiplier on their own (a JSON number read through its decimal text,
never float arithmetic) and the trader's ``FeeSchedule`` resolving the simulator's markets through
the real client (event -> series).
"""

from __future__ import annotations

from fractions import Fraction

import httpx
import pytest
from tests.exchange.client.exchange_client_kit import ClientEnv

from kalshiflow.domain.fees import FeeType
from kalshiflow.exchange.errors import ErrorKind, NotFoundError
from kalshiflow.exchange.models import EventData, Series, WireFormatError
from kalshiflow.trader.state.fees import FeeSchedule


def _series_of(env: ClientEnv, ticker: str) -> str:
    engine = env.sim.engine
    return engine.events[engine.markets[ticker].event_ticker].series_ticker


@pytest.mark.parametrize(
    ("fee_type", "multiplier"),
    [
        (FeeType.QUADRATIC, Fraction(1)),
        (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 2)),
        (FeeType.FLAT, Fraction(1, 10)),  # 0.1: exact only when read from its decimal text
        (FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES, Fraction(5, 4)),
    ],
)
async def test_series_parses_fee_type_and_exact_multiplier(
    env: ClientEnv, fee_type: FeeType, multiplier: Fraction
) -> None:
    series_ticker = _series_of(env, env.cent_ticker)
    sim_series = env.sim.engine.series[series_ticker]
    sim_series.fee_type, sim_series.fee_multiplier = fee_type, multiplier
    series = await env.alice.series(series_ticker)
    assert series == Series(
        series_ticker, fee_type, multiplier, sim_series.title, sim_series.frequency, sim_series.category
    )
    assert type(series.fee_multiplier) is Fraction


async def test_the_simulator_sends_the_series_shape_of_the_reference(env: ClientEnv) -> None:
    series_ticker = _series_of(env, env.cent_ticker)
    env.sim.engine.series[series_ticker].fee_multiplier = Fraction(3, 2)
    async with httpx.AsyncClient() as http:  # public endpoint: no signature needed
        body = (await http.get(f"{env.rest_url}/series/{series_ticker}")).json()
    raw = body["series"]
    assert raw["ticker"] == series_ticker
    assert raw["fee_type"] in {t.value for t in FeeType}
    assert raw["fee_multiplier"] == 1.5
    assert isinstance(raw["fee_multiplier"], float)  # a JSON number, not a decimal string


async def test_unknown_series_is_not_found(env: ClientEnv) -> None:
    with pytest.raises(NotFoundError) as caught:
        await env.alice.series("NO-SUCH-SERIES")
    assert caught.value.kind is ErrorKind.NOT_FOUND


async def test_event_fee_overrides_parse_as_none_when_null(env: ClientEnv) -> None:
    event_ticker = env.sim.engine.markets[env.cent_ticker].event_ticker
    event = await env.alice.event(event_ticker, with_nested_markets=False)
    assert (event.fee_type_override, event.fee_multiplier_override) == (None, None)


async def test_fee_schedule_resolves_the_simulators_markets_through_the_client(env: ClientEnv) -> None:
    engine = env.sim.engine
    series_ticker = _series_of(env, env.cent_ticker)
    engine.series[series_ticker].fee_type = FeeType.FLAT
    engine.series[series_ticker].fee_multiplier = Fraction(3, 2)
    markets = await env.alice.list_markets()
    schedule = FeeSchedule()
    assert await schedule.load(env.alice, markets) == len(markets)
    for market in markets:
        s = engine.series[_series_of(env, market.ticker)]
        assert schedule(market.ticker) == (s.fee_type, s.fee_multiplier)
    assert schedule(env.cent_ticker) == (FeeType.FLAT, Fraction(3, 2))
    assert not schedule.failures


# ---------------------------------------------------------------------- parse rules, no network
def _series(multiplier: object) -> dict[str, object]:
    return {"ticker": "KXS", "fee_type": "quadratic", "fee_multiplier": multiplier}


@pytest.mark.parametrize(
    ("wire", "exact"),
    [
        (1, Fraction(1)),
        (1.0, Fraction(1)),
        (1.5, Fraction(3, 2)),
        (0.1, Fraction(1, 10)),
        (0.35, Fraction(7, 20)),
        ("1.25", Fraction(5, 4)),
        (2e-3, Fraction(1, 500)),
    ],
)
def test_multiplier_is_the_exact_value_of_its_decimal_text(wire: object, exact: Fraction) -> None:
    assert Series.from_wire(_series(wire)).fee_multiplier == exact


@pytest.mark.parametrize("wire", [True, None, "NaN", "inf", "1/2", "abc", [1], float("inf")])
def test_a_multiplier_that_is_not_a_finite_number_is_a_wire_error(wire: object) -> None:
    with pytest.raises(WireFormatError, match=r"Series\.fee_multiplier"):
        Series.from_wire(_series(wire))


def test_an_unknown_fee_type_is_a_wire_error() -> None:
    with pytest.raises(WireFormatError, match=r"Series\.fee_type"):
        Series.from_wire({"ticker": "KXS", "fee_type": "new_kind", "fee_multiplier": 1})


def test_event_overrides_parse_when_present() -> None:
    raw = {
        "event_ticker": "KXS-1",
        "series_ticker": "KXS",
        "fee_type_override": "flat",
        "fee_multiplier_override": 0.5,
    }
    event = EventData.from_wire(raw)
    assert (event.fee_type_override, event.fee_multiplier_override) == ("flat", Fraction(1, 2))
