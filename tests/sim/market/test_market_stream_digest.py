"""The simulated market's whole stream, pinned: a refactoring of the market must not change it.

A seeded run of many markets over their whole life -- listings, maker quotes, takers, the informed
trader, news, a shock, a market listed by someone else (adopted), closes, determinations,
settlements and fresh listings to keep the count -- is reduced to one SHA-256 over every book
change, trade and lifecycle event in order, and the model's outcomes and true probabilities at
the end. Same seed, same digest, on any machine (the model's randomness is per market and seeded
by name; nothing reads the wall clock or the process's hash seed).

The digest is pinned as a literal. A change that is meant to change the market (a new participant,
a recalibrated default) updates it, and says so in its commit; a refactoring never does.
"""

from __future__ import annotations

import hashlib

from tests.sim.market.sim_harness import build_market

from kalshiflow.domain.units import PRICE_SCALE
from kalshiflow.sim import lifecycle
from kalshiflow.sim.events import BookDelta, LifecycleEvent, TradeEvent
from kalshiflow.sim.market.model import MarketModel
from kalshiflow.sim.universe import generate_listings

SEED = 11
MARKETS = 10
LIFE_S = 1_200  # every market closes after 20 simulated minutes, so several generations settle
RUN_S = 3 * LIFE_S
PINNED_DIGEST = "1db4ae7fe64b5d0c8aa4f9ec54eb03f29761960b9dc20bf12a9509ae58f94ae6"


def _stream_digest() -> tuple[str, int]:
    market = build_market(seed=SEED, n_markets=MARKETS, keep_alive=True, close_in_s=LIFE_S)
    model: MarketModel = market.model
    market.run(LIFE_S / 4, step_s=3.0)
    model.shock(sorted(model.markets)[0], 1.5)  # unscheduled public news on one market
    # A market listed by someone else (the admin API, a test): the model adopts it on its next step.
    now = market.headless.now_ms()
    stranger = next(
        listing
        for listing in generate_listings(SEED + 1_000, 40, now)
        if listing.market.ticker not in market.engine.markets
    )
    market.engine.add_market(stranger.series, stranger.event, stranger.market)
    lifecycle.advance(market.engine, now)
    market.run(RUN_S - LIFE_S / 4, step_s=7.0)
    assert stranger.market.ticker in model.outcomes or stranger.market.ticker in model.markets
    sha = hashlib.sha256()
    rows = 0
    for event in market.events:
        row: tuple[object, ...]
        if isinstance(event, BookDelta):
            row = ("delta", event.ticker, event.side, event.price, event.delta, event.ts_ms, event.account_id)
        elif isinstance(event, TradeEvent):
            row = ("trade", event.ticker, event.yes_price, event.count, event.taker_book_side, event.ts_ms)
        elif isinstance(event, LifecycleEvent):
            row = ("life", event.market.ticker, event.event_type, event.ts_ms)
        else:
            continue
        sha.update(repr(row).encode())
        rows += 1
    for ticker, outcome in sorted(model.outcomes.items()):
        sha.update(repr((ticker, outcome.result, round(outcome.probability_at_close * PRICE_SCALE))).encode())
    for ticker in sorted(model.markets):
        sha.update(repr((ticker, round(model.markets[ticker].q * PRICE_SCALE))).encode())
    sha.update(repr((model.events_processed, model.listings_added, len(market.engine.markets))).encode())
    return sha.hexdigest(), rows


def test_the_market_stream_of_a_seeded_run_is_unchanged() -> None:
    digest, rows = _stream_digest()
    assert rows > 10_000  # a busy run: the digest covers a lot of behaviour
    assert digest == PINNED_DIGEST
