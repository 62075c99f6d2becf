"""The simulated market (sim.market.model): deterministic in simulated time, books that never cross,
money conserved, event outcomes that determine and settle every market of an event."""

from __future__ import annotations

import pytest
from tests.sim.market.sim_harness import Market, build_market, money_in_system

from kalshiflow.domain.settlement import MarketResult
from kalshiflow.domain.units import COUNT_SCALE, PRICE_SCALE
from kalshiflow.sim.market.profile import MarketProfile
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


@pytest.mark.parametrize("step_s", [0.1, 7.0, 600.0])
def test_the_market_does_not_depend_on_how_time_is_sliced(step_s: float) -> None:
    """What a server at any --speed does: it steps whenever it wakes; the events are the same."""
    reference, sliced = build_market(seed=5, n_markets=10), build_market(seed=5, n_markets=10)
    reference.run(1200, step_s=1.0)
    sliced.run(1200, step_s=step_s)
    assert len(reference.trace()) > 200
    assert sliced.trace() == reference.trace()
    assert sliced.books() == reference.books()


def _check_invariants(market: Market) -> None:
    for ticker, book in market.engine.books.items():
        assert not book.is_crossed(), ticker
    assert money_in_system(market.engine) == market.engine.deposits


def test_books_never_cross_and_money_is_conserved_after_every_step() -> None:
    market = build_market(seed=7, n_markets=8, close_in_s=900)
    market.run(900 + 30 + 60 + 5, step_s=5, check=_check_invariants)
    statuses = {m.status for m in market.engine.markets.values()}
    assert statuses == {MarketStatus.FINALIZED}
    assert sum(1 for e in market.trace() if e[0] == "trade") > 10


def test_markets_reaching_close_are_closed_determined_and_settled_paying_the_winning_side() -> None:
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
    paid = 0
    for ticker, m in market.engine.markets.items():
        assert m.status is MarketStatus.FINALIZED
        assert m.result is market.model.outcomes[ticker].result
    for account in market.engine.accounts.values():
        assert not account.positions
        for row in account.settlements:
            position = holdings.get((account.account_id, row.ticker), 0)
            won = position > 0 if row.result is MarketResult.YES else position < 0
            assert row.revenue == (abs(position) * PRICE_SCALE if won else 0)
            paid += row.revenue
    assert paid > 0
    assert money_in_system(market.engine) == market.engine.deposits


def test_every_market_of_an_event_is_determined_from_one_outcome() -> None:
    """Ladders: YES on "above k" implies YES on every lower strike; ranges: exactly one YES."""
    market = build_market(seed=8, n_markets=40, close_in_s=600)
    market.run(600 + 30 + 60)
    by_event: dict[str, list[tuple[float, float | None, MarketResult]]] = {}
    for m in market.engine.markets.values():
        assert m.result is not None
        by_event.setdefault(m.event_ticker, []).append((m.floor_strike or -1e9, m.cap_strike, m.result))
    checked = 0
    for event_ticker, rows in by_event.items():
        event = market.engine.events[event_ticker]
        if event.mutually_exclusive:
            assert sum(1 for *_, r in rows if r is MarketResult.YES) == 1, event_ticker
            checked += 1
        elif len(rows) > 1:
            ladder = [r for _, _, r in sorted(rows, key=lambda row: row[0])]
            first_no = ladder.index(MarketResult.NO) if MarketResult.NO in ladder else len(ladder)
            assert all(r is MarketResult.NO for r in ladder[first_no:]), event_ticker
            checked += 1
    assert checked >= 5


def test_some_markets_close_before_their_outcome_is_known() -> None:
    market = build_market(seed=6, n_markets=30, profile=MarketProfile().scaled_life(0.05))
    market.run(2 * 3600, step_s=600)
    waited = [
        o
        for t, o in market.model.outcomes.items()
        if o.resolved_ms > market.engine.markets[t].close_ms + 60_000
    ]
    assert waited, "an event closed before its news and was determined later"


def test_keep_alive_lists_fresh_markets_after_settlement() -> None:
    market = build_market(seed=2, n_markets=4, keep_alive=True, close_in_s=300)
    market.run(300 + 30 + 60 + 2)
    live = [m for m in market.engine.markets.values() if m.status is MarketStatus.ACTIVE]
    assert len(live) >= 4
    assert market.model.listings_added == 4
    assert all(m.ticker in market.model.markets for m in live), "new markets get traders"


def test_news_moves_the_book_and_the_informed_trader_trades_first() -> None:
    market = build_market(seed=11, n_markets=20)
    market.run(1800, step_s=10)
    ticker = next(t for t, m in market.engine.markets.items() if m.status is MarketStatus.ACTIVE)
    before = market.model.true_probability(ticker)
    assert before is not None
    market.model.shock(ticker, 1.0)
    market.run(120, step_s=1)
    after = market.model.true_probability(ticker)
    assert after is not None
    assert after > before
    informed = market.engine.accounts[market.model.informed_account]
    assert informed.fills, "the informed trader traded"


def test_deep_resting_orders_sit_far_from_the_touch() -> None:
    market = build_market(seed=12, n_markets=40)
    market.run(60)
    deep = [
        o for o in market.engine.orders.values() if o.account_id == market.model.deep_account and o.is_resting
    ]
    assert len(deep) >= 20
    far = 0
    for order in deep:
        q = market.model.true_probability(order.ticker)
        assert q is not None
        if abs(order.yes_price - q * PRICE_SCALE) >= 5 * 100:
            far += 1
    assert far == len(deep)
    assert max(o.remaining_count for o in deep) >= 10_000 * COUNT_SCALE, "heavy-tailed sizes"


def test_silenced_participants_stop_trading_but_markets_still_settle() -> None:
    market = build_market(seed=3, n_markets=6, close_in_s=600)
    market.run(60)
    market.model.participants_active = False
    trades = sum(1 for e in market.trace() if e[0] == "trade")
    market.run(540 + 30 + 60)
    assert sum(1 for e in market.trace() if e[0] == "trade") == trades
    assert all(m.status is MarketStatus.FINALIZED for m in market.engine.markets.values())


def test_makers_never_take_each_others_quotes() -> None:
    market = build_market(seed=13, n_markets=30)
    for _ in range(30):
        market.run(20, step_s=20)
        for book in market.engine.books.values():
            assert not book.is_crossed()
    makers = set(market.model.maker_accounts)
    taker_fills = [
        f for a in market.engine.accounts.values() if a.account_id in makers for f in a.fills if f.is_taker
    ]
    assert not taker_fills, "makers only ever provide liquidity"
