"""Properties of exit decisions over random portfolios, grids, books and times."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st
from tests.trader.rules.rules_kit import NOW

from kalshiflow.domain.grid import STRUCTURES, PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.exchange.models_market import MarketStatus
from kalshiflow.features.valuation import CashView, MarketView, PositionView, value_position
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.exit_rules.base import ClosingOrderView
from kalshiflow.trader.exit_rules.registry import evaluate_exits


@dataclass(frozen=True)
class Portfolio:
    positions: list[PositionView]
    books: dict[str, OrderBook]
    markets: dict[str, MarketView]
    closing: list[ClosingOrderView]


@st.composite
def portfolios(draw: st.DrawFn, allow_closing: bool = True) -> Portfolio:
    n = draw(st.integers(1, 6))
    positions, books, markets, closing = [], {}, {}, []
    for i in range(n):
        ticker = f"M{i}"
        grid = PriceGrid.named(draw(st.sampled_from(sorted(STRUCTURES))))
        levels = grid.tradable
        yes = draw(st.none() | st.sampled_from(levels))
        no_levels = [lv for lv in levels if yes is None or lv + yes < 10_000]
        no = draw(st.none() | st.sampled_from(no_levels)) if no_levels else None
        ob = OrderBook(ticker, grid)
        ob.apply_snapshot([(yes, 10_000)] if yes else [], [(no, 10_000)] if no else [], NOW)
        count = draw(st.integers(1, 50_000))
        signed = count if draw(st.booleans()) else -count
        cost = draw(st.integers(0, count * 10_000))
        opened = NOW - draw(st.integers(0, 3 * 3_600_000))
        positions.append(PositionView(ticker, Count(signed), Money(cost), opened))
        status = draw(st.sampled_from([MarketStatus.ACTIVE, MarketStatus.ACTIVE, MarketStatus.CLOSED]))
        markets[ticker] = MarketView(ticker, status, NOW + draw(st.integers(-60_000, 7_200_000)), grid)
        books[ticker] = ob
        if allow_closing and draw(st.booleans()):
            yes_price = draw(st.sampled_from(levels))
            placed = NOW - draw(st.integers(0, 600_000))
            closing.append(ClosingOrderView(ticker, f"c-{i}", placed, Price(yes_price), Count(count)))
    return Portfolio(positions, books, markets, closing)


@given(portfolios(), st.integers(0, 200_000_000))
def test_decisions_close_the_full_position_on_the_grid(portfolio: Portfolio, cash: int) -> None:
    decisions = evaluate_exits(
        portfolio.positions,
        portfolio.books,
        portfolio.markets,
        CashView(Money(cash)),
        portfolio.closing,
        NOW,
        ExitRulesConfig(),
    )
    held = {h.ticker: h for h in portfolio.positions}
    assert len({d.ticker for d in decisions}) == len(decisions)
    for decision in decisions:
        position = held[decision.ticker].position
        grid = portfolio.markets[decision.ticker].grid
        assert decision.close_count == abs(position)
        assert decision.side is (OutcomeSide.YES if position > 0 else OutcomeSide.NO)
        assert 0 < decision.limit_price < 10_000
        assert grid.is_valid(decision.limit_price)
        assert grid.is_valid(decision.yes_price)
        assert decision.limit_price >= decision.valuation.exit_price


RECOVERY_ONLY = ExitRulesConfig(
    take_profit_enabled=False,
    stop_loss_enabled=False,
    max_hold_enabled=False,
    market_closing_enabled=False,
    stuck_enabled=False,
)


@given(portfolios(allow_closing=False), st.integers(0, 200_000_000))
def test_cash_recovery_restores_reserve_plus_buffer_when_positions_allow(
    portfolio: Portfolio, cash: int
) -> None:
    config = RECOVERY_ONLY
    decisions = evaluate_exits(
        portfolio.positions, portfolio.books, portfolio.markets, CashView(Money(cash)), (), NOW, config
    )
    if cash >= config.cash_reserve_dollars:
        assert decisions == []
        return
    target = config.cash_reserve_dollars + config.cash_recovery_buffer_dollars
    valuations = [
        v
        for h in portfolio.positions
        if (v := value_position(h, portfolio.books[h.ticker], portfolio.markets[h.ticker])) is not None
    ]
    projected = cash + sum(d.valuation.net_proceeds for d in decisions)
    if cash + sum(v.net_proceeds for v in valuations) >= target:
        assert projected >= target
        # ...and no more than needed: without the last close it would still fall short.
        assert projected - decisions[-1].valuation.net_proceeds < target
    else:
        assert len(decisions) == len(valuations)
    pcts = [d.valuation.pnl_pct for d in decisions if d.valuation.pnl_pct is not None]
    assert pcts == sorted(pcts)
