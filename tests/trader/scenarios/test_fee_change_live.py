"""A fee change scheduled mid-run takes effect at its time on the trader's clock, not at the next
calibration: orders before it pay (and are expected to pay) the old fee, orders after it the new
one, and the fee the trader expects is what the exchange charges on each fill. An event override the
exchange pushes (``event_fee_update``) applies as soon as it arrives.

The clock only moves when the test moves it, and nothing recalibrates between the change's time
and the orders after it: the trader learnt of the change (pending) at a calibration before.
"""

from __future__ import annotations

from fractions import Fraction

from tests.trader.scenarios.scenario_kit import ALICE, Scenario, buy, scenario_config
from tests.waiting import until

from kalshiflow.domain.fees import FeeType, trade_fee
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.sim import fee_schedule
from kalshiflow.trader.state.fees import DEFAULT_FEE_TERMS

NEW_TERMS = (FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(2))


def _expected(env: Scenario, ticker: str, own_price: Price, contracts: int, is_taker: bool) -> Money:
    """The fee the trader expects for a fill now: its own schedule's terms for the market."""
    fee_type, multiplier = env.the_core.fees(ticker)
    return trade_fee(fee_type, is_taker, own_price, Count.contracts(contracts), multiplier)


def _last_fill_fee(env: Scenario) -> tuple[Money, bool]:
    fill = env.sim.engine.account(ALICE).fills[-1]
    return Money(fill.fee), fill.is_taker


async def test_a_scheduled_series_fee_change_applies_at_its_time_for_risk_views_and_fills(
    env: Scenario,
) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)  # YES 0.44 / 0.45
    core = await env.new_core(scenario_config(), stream=True)
    engine = env.sim.engine
    series_ticker = engine.events[engine.markets[ticker].event_ticker].series_ticker
    effective_ms = env.clock.now_ms() + 60_000
    fee_schedule.schedule(
        engine,
        series_ticker=series_ticker,
        event_ticker=None,
        fee_type=NEW_TERMS[0],
        fee_multiplier=NEW_TERMS[1],
        scheduled_ms=effective_ms,
    )
    await env.calibrate()  # the trader learns of the change; it is not in force yet
    assert [c.scheduled_ms for c in core.fees.pending] == [effective_ms]
    assert core.fees(ticker) == DEFAULT_FEE_TERMS

    # Before: the old fee, expected and charged.
    ask = env.ask_of(ticker, OutcomeSide.YES)
    expected_before = _expected(env, ticker, ask, 4, is_taker=True)
    await env.hold(ticker, OutcomeSide.YES, 4)
    assert _last_fill_fee(env) == (expected_before, True)

    env.clock.set_ms(effective_ms - 1)
    assert core.fees(ticker) == DEFAULT_FEE_TERMS  # one millisecond early: still the old terms
    env.clock.set_ms(effective_ms)  # no calibration, no read: the clock alone
    assert core.fees(ticker) == NEW_TERMS
    assert core.fees.pending == ()
    view = core.market_views()[ticker]  # what the risk checks, policies and valuations read
    assert (view.fee_type, view.fee_multiplier) == NEW_TERMS
    # Every market of the series moves; the others keep their terms.
    others = [
        t for t in env.tickers if engine.events[engine.markets[t].event_ticker].series_ticker != series_ticker
    ]
    assert all(core.fees(t) == DEFAULT_FEE_TERMS for t in others)

    # After: the new fee, expected and charged (taker)...
    expected_after = _expected(env, ticker, ask, 4, is_taker=True)
    assert expected_after != trade_fee(
        DEFAULT_FEE_TERMS[0], True, ask, Count.contracts(4), DEFAULT_FEE_TERMS[1]
    )
    result = await core.open_position(ticker, buy(OutcomeSide.YES), ask, Count.contracts(4))
    assert result.execution is not None
    assert result.execution.error_code is None
    assert _last_fill_fee(env) == (expected_after, True)

    # ... and maker: a resting order holds back the new maker fee, and is charged it when filled.
    bid = Price.parse("0.40")
    resting = await core.open_position(ticker, buy(OutcomeSide.YES), bid, Count.contracts(3), post_only=True)
    assert resting.execution is not None
    assert resting.execution.error_code is None
    order = core.ledger.orders[resting.execution.client_order_id]
    assert order.order_id is not None
    assert order.reserved == engine.orders[order.order_id].reserved  # the fee held back agrees
    expected_maker = _expected(env, ticker, bid, 3, is_taker=False)
    assert expected_maker > 0  # maker fees exist only under the new terms
    env.cancel_bob(ticker)  # so Bob's sell reaches the trader's bid
    env.sell_to_bids(ticker, OutcomeSide.YES, "0.40", 3)
    assert _last_fill_fee(env) == (expected_maker, False)
    await env.calibrate()
    assert core.ledger.orders[order.client_order_id].fees == expected_maker  # what the ledger booked


async def test_an_event_override_pushed_by_the_exchange_applies_at_once_without_a_read(env: Scenario) -> None:
    """A change the trader could not have read ahead (set to apply at once, after its last
    calibration) reaches it as ``event_fee_update`` on ``market_lifecycle_v2``."""
    ticker = env.tickers[0]
    env.quote(ticker)
    core = await env.new_core(scenario_config(), stream=True)
    assert env.stream is not None
    await env.stream.subscribe(["market_lifecycle_v2"])
    engine = env.sim.engine
    event_ticker = engine.markets[ticker].event_ticker
    fee_schedule.schedule(
        engine,
        series_ticker=None,
        event_ticker=event_ticker,
        fee_type=FeeType.FLAT,
        fee_multiplier=Fraction(1, 2),
        scheduled_ms=env.clock.now_ms(),
    )
    await until(lambda: core.fees(ticker) == (FeeType.FLAT, Fraction(1, 2)), 10, "the pushed override")
    assert core.fees.pending == ()  # not learnt from a read
    view = core.market_views()[ticker]
    assert (view.fee_type, view.fee_multiplier) == (FeeType.FLAT, Fraction(1, 2))

    ask = env.ask_of(ticker, OutcomeSide.YES)
    expected = _expected(env, ticker, ask, 4, is_taker=True)
    assert expected != trade_fee(DEFAULT_FEE_TERMS[0], True, ask, Count.contracts(4), DEFAULT_FEE_TERMS[1])
    await env.hold(ticker, OutcomeSide.YES, 4)
    assert _last_fill_fee(env) == (expected, True)

    # Cleared again: the series' terms are back.
    fee_schedule.schedule(
        engine,
        series_ticker=None,
        event_ticker=event_ticker,
        fee_type=None,
        fee_multiplier=None,
        scheduled_ms=env.clock.now_ms(),
    )
    await until(lambda: core.fees(ticker) == DEFAULT_FEE_TERMS, 10, "the pushed clearing")
    assert core.fees(ticker) == engine.fee_schedule(event_ticker)
