"""One exchange outage is one warning, not one per retry: the stale-order cancels and the resume
calibrations that fail while the exchange cannot be reached log their retries at info (the REST
transport said ``rest.unreachable`` once, and says ``rest.reachable`` when it answers again).

The outage is real: the trader's REST client is pointed at a port nothing listens on (as a stopped
simulator is), then back at the simulator.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from tests.trader.scenarios.scenario_kit import Scenario, trading_recalibrator

from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.trader.execution.intents import ExecOutcome, OrderIntent
from kalshiflow.trader.lifecycle.states import TraderState

NOBODY = "http://127.0.0.1:1/trade-api/v2/"  # connection refused, as a stopped exchange


@contextmanager
def outage(rest: KalshiRestClient) -> Iterator[None]:
    http = rest._http
    there = http.base_url
    http.base_url = httpx.URL(NOBODY)
    try:
        yield
    finally:
        http.base_url = there


def warnings_of(caplog: pytest.LogCaptureFixture, event: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.getMessage().startswith(event)
    ]


async def test_the_cancel_retries_of_a_stale_order_during_an_outage_warn_once(
    env: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    core = await env.new_core(stream=False)
    placed = await core.executor.place(
        OrderIntent(env.tickers[0], BookSide.BID, Price.parse("0.05"), Count.contracts(1))
    )
    assert placed.outcome is ExecOutcome.PLACED
    caplog.set_level(logging.INFO)
    with outage(core.rest):
        await env.clock.sleep(core.config.open_orders.ttl_s)  # expired: it is to be cancelled
        for _ in range(6):  # six tries, the backoff's waits between them (up to its minute)
            assert await core.exits.cancel_stale_open_orders()
            await env.clock.sleep(60)
        assert core.rest.unreachable
    tries = [r for r in caplog.records if r.getMessage().startswith("exits.cancel_failed")]
    assert len(tries) == 6
    assert len(warnings_of(caplog, "exits.cancel_failed")) == 1, "the first failure only"
    await core.exits.cancel_stale_open_orders()  # the exchange answers again: the cancel goes through
    assert not core.ledger.orders[placed.client_order_id].is_live
    assert len(warnings_of(caplog, "rest.reachable")) == 1


async def test_the_resume_calibrations_during_an_outage_warn_once(
    env: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    core, life, recal = await trading_recalibrator(env)
    caplog.set_level(logging.INFO)
    with outage(core.rest):
        for _ in range(5):  # the failed pass that pauses, then the resume attempts
            await recal.run_once("resume")
            assert life.state is TraderState.PAUSED
    failed = [r for r in caplog.records if r.getMessage().startswith("calibration.failed")]
    assert len(failed) == 5
    assert len(warnings_of(caplog, "calibration.failed")) == 1, "the first failure only"
    await env.refresh_books()
    await recal.run_once("resume")
    assert life.state is TraderState.TRADING
    assert len(warnings_of(caplog, "rest.reachable")) == 1
    every = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(every) <= 3, every  # rest.unreachable, the first failed pass, rest.reachable
