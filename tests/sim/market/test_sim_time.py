"""The simulator steps in simulated time and checks signatures against the wall clock.

* A client signing with the real time is accepted by a simulator whose market clock runs fast (or
  started a day ago); a signature stamped with the market's own time is refused as stale.
* The server's driver steps the same market model a headless run steps: the same seed gives the
  same book at any speed (here: the server driven by a manual clock in coarse and fine ticks).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from tests.exchange.client.exchange_client_kit import make_key
from tests.marketdata.feed.feed_kit import advance
from tests.sim.market.sim_harness import START_MS, build_market

from kalshiflow.clock import ManualClock
from kalshiflow.domain.units import Money
from kalshiflow.sim.runner import AccountSpec, SimulatorConfig, start_simulator

DAY_MS = 86_400_000


async def test_wall_clock_signatures_are_fresh_however_fast_the_market_runs(tmp_path: Path) -> None:
    key = make_key("speedy")
    pem = tmp_path / "key.pub.pem"
    pem.write_bytes(key.public_pem)
    wall_ms = time.time_ns() // 1_000_000
    config = SimulatorConfig(
        port=0,
        n_markets=2,
        speed=50.0,
        start_ms=wall_ms - DAY_MS,  # the market's clock is a day behind the wall clock
        data_dir=tmp_path,
        accounts=(AccountSpec("speedy", pem, Money.dollars(100)),),
    )
    async with start_simulator(config) as handle, httpx.AsyncClient() as client:
        path = "/trade-api/v2/portfolio/balance"
        url = handle.address.rest_url + "/portfolio/balance"
        signer = key.signer()
        wall = await client.get(url, headers=signer.headers("GET", path, time.time_ns() // 1_000_000))
        market_time = handle.sim.engine.clock.now_ms()
        stale = await client.get(url, headers=signer.headers("GET", path, market_time))
    assert wall.status_code == 200, wall.text
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "stale_timestamp"
    assert abs(market_time - (wall_ms - DAY_MS)) < DAY_MS // 2, "the market keeps its own clock"


async def _served_book(tmp_path: Path, step_s: float) -> dict[str, tuple[list[tuple[int, int]], ...]]:
    clock = ManualClock(START_MS)
    config = SimulatorConfig(port=0, seed=5, n_markets=10, data_dir=tmp_path, keep_alive=False)
    async with start_simulator(config, clock=clock) as handle:
        target = START_MS + 600_000
        while clock.now_ms() < target:
            await advance(handle, clock, min(step_s, (target - clock.now_ms()) / 1000))
        engine = handle.sim.engine
        return {t: (b.yes.ascending(), b.no.ascending()) for t, b in engine.books.items()}


async def test_served_market_is_the_headless_market_at_any_tick(tmp_path: Path) -> None:
    coarse = await _served_book(tmp_path / "a", 45.0)
    fine = await _served_book(tmp_path / "b", 1.5)
    headless = build_market(seed=5, n_markets=10)
    headless.run(600, step_s=600)
    assert coarse == fine == headless.books()
    assert sum(len(yes) + len(no) for yes, no in coarse.values()) > 20
