"""Calibration benchmark: ``Reconciler.calibrate`` against the simulator served in-process on loopback.

The account holds 50 positions and 100 resting orders over a 200-market universe (built directly
through the engine for speed: a counterparty rests liquidity, the account takes it or rests its own
orders). Each pass reads balance, positions, resting orders, fills, settlements, exchange status,
the 200 watched markets and their order books (two batched reads of 100, no BookStore), applies
the snapshot and runs the checks. Wall time is measured around ``calibrate()``; the server runs on
the same event loop, so the figures include the simulator's own work.

Rate limits: simulator and client pacer both use the PRESTIGE tier (10,000 reads/s), so pacing
never waits -- this measures calibration, not a rate limit.

Target (issue 4): p50 <= 150 ms; REST calls per pass independent of the number of positions.

    PYTHONPATH=src python bench/bench_calibration.py [--passes 50] [--markets 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from kalshiflow.clock import SystemClock
from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.ratelimits import Tier
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.auth import RequestSigner, generate_key_pair
from kalshiflow.exchange.ratelimit import Pacer, PacerConfig
from kalshiflow.exchange.rest import KalshiRestClient
from kalshiflow.sim import lifecycle
from kalshiflow.sim.engine import OrderRequest
from kalshiflow.sim.exchange import SimExchange
from kalshiflow.sim.server.app import build_app
from kalshiflow.sim.server.serve import running_server
from kalshiflow.sim.universe import generate_listings
from kalshiflow.trader.calibration.reconcile import Reconciler
from kalshiflow.trader.state.ledger import Ledger

TIER = Tier.PRESTIGE
TARGET_P50_MS = 150.0


def _order(ticker: str, side: BookSide, price: str, contracts: int, tif: TimeInForce) -> OrderRequest:
    return OrderRequest(
        ticker=ticker,
        side=side,
        yes_price=int(Price.parse(price)),
        count=int(Count.contracts(contracts)),
        time_in_force=tif,
        self_trade_prevention=SelfTradePrevention.TAKER_AT_CROSS,
    )


def build_sim(
    clock: SystemClock, markets: int, positions: int, resting: int
) -> tuple[SimExchange, list[str], bytes]:
    """A universe where ``alice`` holds ``positions`` positions and ``resting`` resting orders."""
    sim = SimExchange.create(clock, seed=3, tier=TIER)
    now = clock.now_ms()
    for listing in generate_listings(11, markets, now):
        sim.engine.add_market(listing.series, listing.event, listing.market)
    lifecycle.advance(sim.engine, now)
    alice_private, alice_public = generate_key_pair()
    _, bob_public = generate_key_pair()
    sim.register_account("alice", alice_public, Money.dollars(100_000))
    sim.register_account("bob", bob_public, Money.dollars(1_000_000))
    engine, gtc, ioc = sim.engine, TimeInForce.GOOD_TILL_CANCELED, TimeInForce.IMMEDIATE_OR_CANCEL
    tickers = sorted(engine.markets)
    for ticker in tickers:  # a two-sided book everywhere: bob bids YES at 0.40 and NO at 0.40
        grid = engine.markets[ticker].grid
        if not (grid.is_valid(Price.parse("0.4000")) and grid.is_valid(Price.parse("0.6000"))):
            continue
        engine.create_order("bob", _order(ticker, BookSide.BID, "0.4000", 500, gtc))
        engine.create_order("bob", _order(ticker, BookSide.ASK, "0.6000", 500, gtc))
    tradable = [t for t in tickers if engine.books[t].yes.best() is not None]
    for i, ticker in enumerate(tradable[:positions]):  # take bob's offers: YES or NO positions
        side = BookSide.BID if i % 2 == 0 else BookSide.ASK
        engine.create_order(
            "alice", _order(ticker, side, "0.4000" if side is BookSide.ASK else "0.6000", 5, ioc)
        )
    for i in range(resting):  # resting bids below bob's, spread over the universe
        ticker = tradable[i % len(tradable)]
        engine.create_order(
            "alice", _order(ticker, BookSide.BID, "0.1000" if i < len(tradable) else "0.2000", 2, gtc)
        )
    return sim, tickers, alice_private


async def run(markets: int, positions: int, resting: int, passes: int) -> tuple[list[float], list[int], str]:
    clock = SystemClock()
    sim, tickers, private_pem = build_sim(clock, markets, positions, resting)
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, RSAPrivateKey)
    async with running_server(build_app(sim)) as address:
        client = KalshiRestClient(
            address.rest_url,
            RequestSigner("alice", key),
            clock=clock,
            pacer=Pacer(clock, PacerConfig(tier=TIER)),
        )
        async with client:
            ledger = Ledger()
            reconciler = Reconciler(client, ledger, clock)
            first = await reconciler.calibrate(tickers)  # startup: adopt everything
            assert len(ledger.open_positions()) == positions, first.summary()
            assert len(ledger.live_orders()) == resting
            times, calls = [], []
            for _ in range(passes):
                started = time.perf_counter()
                report = await reconciler.calibrate(tickers)
                times.append((time.perf_counter() - started) * 1000)
                calls.append(report.rest_calls)
                assert not report.drift, report.drift
            return times, calls, report.summary()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=50)
    parser.add_argument("--markets", type=int, default=200)
    args = parser.parse_args()
    times, calls, summary = await run(args.markets, 50, 100, args.passes)
    p50 = statistics.median(times)
    print(f"markets={args.markets} positions=50 resting=100 passes={args.passes} tier={TIER}")
    print(f"wall ms: p50={p50:.1f} p95={_pct(times, 0.95):.1f} max={max(times):.1f} min={min(times):.1f}")
    print(f"REST calls per calibration: {sorted(set(calls))}")
    print(f"last: {summary}")
    print(f"target p50 <= {TARGET_P50_MS:.0f} ms: {'MET' if p50 <= TARGET_P50_MS else 'MISSED'}")
    for n in (10, 50):
        _, n_calls, _ = await run(args.markets, n, 100, 3)
        print(f"positions={n:>3}: REST calls per calibration {sorted(set(n_calls))}")


if __name__ == "__main__":
    asyncio.run(main())
