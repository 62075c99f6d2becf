"""Fixtures of the reconciliation tests: the real simulator on loopback with two funded accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.exchange.client.exchange_client_kit import Key, make_client
from tests.loopback_sim import LoopbackSim
from tests.trader.calibration.recon_kit import ReconEnv, cent_market_with_plain_fees

from kalshiflow.trader.calibration.reconcile import Reconciler
from kalshiflow.trader.config import CalibrationConfig
from kalshiflow.trader.state.ledger import Ledger


@pytest.fixture
async def env(loopback_sim: LoopbackSim, alice_key: Key, bob_key: Key) -> AsyncIterator[ReconEnv]:
    sim, clock, address = loopback_sim.sim, loopback_sim.clock, loopback_sim.address
    engine = sim.engine

    def fee_type_of(ticker: str):  # type: ignore[no-untyped-def]
        series = engine.series[engine.events[engine.markets[ticker].event_ticker].series_ticker]
        return series.fee_type, series.fee_multiplier

    alice = make_client(address.rest_url, alice_key, clock)
    by_hand = make_client(address.rest_url, alice_key, clock)
    bob = make_client(address.rest_url, bob_key, clock)
    admin = httpx.AsyncClient(base_url=address.base_url + "/sim/admin", timeout=10)
    ledger = Ledger(fee_type_of)
    config = CalibrationConfig(not_found_misses_before_gone=3)
    reconciler = Reconciler(alice, ledger, clock, config)
    try:
        yield ReconEnv(
            sim, clock, alice, by_hand, bob, admin, ledger, reconciler, cent_market_with_plain_fees(sim)
        )
    finally:
        for client in (alice, by_hand, bob):
            await client.aclose()
        await admin.aclose()
