"""Synthetic traders (sim.participants): deterministic, realistic books, resolution and conservation."""

from __future__ import annotations

import random
import statistics

import pytest
from tests.sim_market.sim_harness import Market, build_market, money_in_system

from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import BookSide
from kalshiflow.domain.settlement import MarketResult
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE
from kalshiflow.sim.participants import ParticipantsConfig
from kalshiflow.sim.participants.fair import FairValue
from kalshiflow.sim.participants.makers import MakerParams, MarketMaker
from kalshiflow.sim.state import MarketStatus


def test_same_seed_gives_identical_events_and_books() -> None:
    first, second = build_market(seed=3), build_market(seed=3)
    first.run(600)
    second.run(600)
    assert len(first.trace()) > 100
    assert first.trace() == second.trace()
    assert first.books() == second.books()


def test_different_seeds_give_different_markets() -> None:
    first, second = build_market(seed=1), build_market(seed=2)
    first.run(120)
    second.run(120)
    assert first.trace() != second.trace()


def _observe(market: Market, minutes: int) -> tuple[list[int], list[int]]:
    """Spreads on active whole-cent markets with a mid-range fair, and every level size, each 10 s."""
    spreads: list[int] = []
    sizes: list[int] = []
    for _ in range(minutes * 6):
        market.run(10)
        for ticker, book in market.engine.books.items():
            m = market.engine.markets[ticker]
            fair = market.participants.fair(ticker)
            if not m.is_trading or fair is None:
                continue
            sizes += [size for _, size in book.yes.descending()] + [size for _, size in book.no.descending()]
            bid, ask = book.best_yes_bid(), book.best_yes_ask()
            if m.grid.structure == "linear_cent" and 0.1 < fair < 0.9 and bid is not None and ask is not None:
                spreads.append(ask - bid)
    return spreads, sizes


def test_spreads_are_one_to_five_cents_on_most_observations() -> None:
    spreads, _ = _observe(build_market(seed=5, n_markets=20), minutes=20)
    assert len(spreads) > 500
    typical = sum(1 for s in spreads if 100 <= s <= 500)
    assert typical / len(spreads) >= 0.8, sorted(spreads)[:: len(spreads) // 20]


def test_depth_per_level_ranges_from_tens_to_thousands_of_contracts() -> None:
    _, sizes = _observe(build_market(seed=5, n_markets=20), minutes=5)
    contracts = sorted(size / COUNT_SCALE for size in sizes)
    assert contracts[len(contracts) // 10] < 100
    assert contracts[-len(contracts) // 10] > 1_000
    assert 30 <= statistics.median(contracts) <= 3_000
    assert any(size % COUNT_SCALE for size in sizes), "some levels carry fractional contracts"


def _check_invariants(market: Market) -> None:
    for ticker, book in market.engine.books.items():
        assert not book.is_crossed(), ticker
    assert money_in_system(market.engine) == market.engine.deposits


def test_books_never_cross_and_money_is_conserved_after_every_step() -> None:
    market = build_market(seed=7, n_markets=8, close_in_s=900)
    market.run(900 + 30 + 60 + 5, check=_check_invariants)
    statuses = {m.status for m in market.engine.markets.values()}
    assert statuses == {MarketStatus.FINALIZED}
    assert sum(1 for e in market.trace() if e[0] == "trade") > 50


def test_fair_value_jumps_move_the_book() -> None:
    market = build_market(seed=11, n_markets=6, config=ParticipantsConfig(jump_rate_per_hour=12.0))
    market.run(1800)
    jumps = sum(p.fair.jumps for p in market.participants.profiles.values())
    assert jumps >= 3
    # After the dust settles, every book's mid is close to its fair value again.
    for ticker, book in market.engine.books.items():
        fair = market.participants.fair(ticker)
        bid, ask = book.best_yes_bid(), book.best_yes_ask()
        if fair is None or bid is None or ask is None:
            continue
        assert abs((bid + ask) / 2 - fair * PRICE_SCALE) <= 500, ticker


def test_informed_trader_picks_off_stale_quotes_after_news() -> None:
    market = build_market(seed=11, n_markets=6, config=ParticipantsConfig(jump_rate_per_hour=12.0))
    market.run(1800)
    informed = market.engine.accounts[market.participants.informed.account_id]
    assert informed.fills, "the informed trader traded"


def test_market_reaching_close_is_closed_determined_and_settled_paying_the_winning_side() -> None:
    market = build_market(seed=4, n_markets=12, close_in_s=600)
    market.run(600)
    assert all(m.status is MarketStatus.CLOSED for m in market.engine.markets.values())
    market.run(30)
    assert all(m.status is MarketStatus.DETERMINED for m in market.engine.markets.values())
    holdings = {
        (a.account_id, t): p.position for a in market.engine.accounts.values() for t, p in a.positions.items()
    }
    market.run(60)
    results = {m.result for m in market.engine.markets.values()}
    assert results == {MarketResult.YES, MarketResult.NO}, "both outcomes occur among 12 markets"
    for ticker, m in market.engine.markets.items():
        assert m.status is MarketStatus.FINALIZED
        assert m.result is market.scheduler.outcomes[ticker].result
    paid = 0
    for account in market.engine.accounts.values():
        assert not account.positions
        for row in account.settlements:
            position = holdings.get((account.account_id, row.ticker), 0)
            won = position > 0 if row.result is MarketResult.YES else position < 0
            assert row.revenue == (abs(position) * PRICE_SCALE if won else 0)
            paid += row.revenue
    assert paid > 0
    assert money_in_system(market.engine) == market.engine.deposits


def test_outcome_is_mostly_priced_in_at_the_close() -> None:
    market = build_market(seed=9, n_markets=16, close_in_s=1200)
    market.run(1200 + 30)
    probabilities = [o.probability_at_close for o in market.scheduler.outcomes.values()]
    assert len(probabilities) == 16
    assert sum(1 for p in probabilities if p < 0.02 or p > 0.98) >= 12


def test_keep_alive_lists_fresh_markets_after_settlement() -> None:
    market = build_market(seed=2, n_markets=4, keep_alive=True, close_in_s=300)
    market.run(300 + 30 + 60 + 2)
    live = [m for m in market.engine.markets.values() if m.status is MarketStatus.ACTIVE]
    assert len(live) == 4
    assert market.scheduler.listings_added == 4
    assert all(m.ticker in market.participants.profiles for m in live), "new markets get traders"


@pytest.mark.parametrize("side", [BookSide.BID, BookSide.ASK])
def test_maker_never_quotes_through_its_own_center(side: BookSide) -> None:
    rng = random.Random(0)
    for structure in ("linear_cent", "deci_cent", "tapered_deci_cent", "center_half_edge_deci_cent"):
        grid = PriceGrid.named(structure)
        for _ in range(200):
            params = MakerParams.draw(rng, grid)
            maker = MarketMaker.__new__(MarketMaker)
            maker.rng = rng
            fair = rng.randint(50, 9_950)
            quotes = [q for q in maker.desired_quotes(grid, params, fair, 0) if q.side is side]
            prices = [q.yes_price for q in quotes]
            assert all(grid.is_valid(p) for p in prices)
            if side is BookSide.BID:
                assert all(p < fair for p in prices)
                assert prices == sorted(prices, reverse=True)
            else:
                assert all(p > fair for p in prices)
                assert prices == sorted(prices)


@pytest.mark.parametrize("held_sign", [1, -1])
def test_inventory_skews_quotes_against_the_position(held_sign: int) -> None:
    grid = PriceGrid.named("linear_cent")
    params = MakerParams.draw(random.Random(1), grid)
    maker = MarketMaker.__new__(MarketMaker)
    maker.rng = random.Random(0)
    flat = maker.desired_quotes(grid, params, 5_000, 0)
    skewed = maker.desired_quotes(grid, params, 5_000, held_sign * 1_000 * COUNT_SCALE)
    flat_bid = max(q.yes_price for q in flat if q.side is BookSide.BID)
    skewed_bid = max(q.yes_price for q in skewed if q.side is BookSide.BID)
    assert (skewed_bid - flat_bid) * held_sign < 0, "long YES lowers the quotes, long NO raises them"


def test_fair_value_drifts_to_zero_or_one_by_the_close() -> None:
    ends = []
    for seed in range(200):
        rng = random.Random(seed)
        fair = FairValue.start(0.5, 0)
        close_ms = 3_600_000
        for t in range(60_000, close_ms + 1, 60_000):
            fair.advance(t, close_ms, rng)
        ends.append(fair.probability)
    assert sum(1 for p in ends if p < 0.01 or p > 0.99) >= 180
    assert 0.35 <= sum(1 for p in ends if p > 0.5) / len(ends) <= 0.65, "a martingale from 0.5"
