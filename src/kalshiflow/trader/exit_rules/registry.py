"""The exit-rule registry and the one entry point that runs it.

``EXIT_RULES`` lists the rules in priority order; adding a rule is one module and one line here.
``evaluate_exits`` yields at most one decision per ticker: the first rule (in this order) that fires
for a ticker wins, so its reason is the one recorded.

Priority: stuck (positions that already have a closing order are only ever re-priced, never closed a
second time) > market_closing > stop_loss > take_profit > max_hold_time > cash_recovery. Cash
recovery runs last because it counts the proceeds of the closes decided before it.

Inputs the rules cannot value are skipped, not guessed: flat positions, positions whose market is
unknown. A position whose book is missing or invalid, or has no bid on the side held, has no
valuation and yields no decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kalshiflow.features.valuation import BookView, CashView, MarketView, PositionView
from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.exit_rules.base import (
    ClosingOrderView,
    ExitContext,
    ExitDecision,
    ExitRule,
    Holding,
)
from kalshiflow.trader.exit_rules.cash_recovery import CashRecovery
from kalshiflow.trader.exit_rules.market_closing import MarketClosing
from kalshiflow.trader.exit_rules.max_hold import MaxHold
from kalshiflow.trader.exit_rules.stop_loss import StopLoss
from kalshiflow.trader.exit_rules.stuck import Stuck
from kalshiflow.trader.exit_rules.take_profit import TakeProfit

EXIT_RULES: tuple[ExitRule, ...] = (
    Stuck(),
    MarketClosing(),
    StopLoss(),
    TakeProfit(),
    MaxHold(),
    CashRecovery(),
)

# Price rules react to every book change of a held market and every fill; time rules run on a short
# timer (ARCHITECTURE §6). Both keep the priority order of ``EXIT_RULES``; calibration runs them all.
PRICE_RULES: tuple[ExitRule, ...] = tuple(r for r in EXIT_RULES if isinstance(r, StopLoss | TakeProfit))
TIME_RULES: tuple[ExitRule, ...] = tuple(r for r in EXIT_RULES if r not in PRICE_RULES)


def build_context(
    positions: Iterable[PositionView],
    books: Mapping[str, BookView],
    markets: Mapping[str, MarketView],
    cash: CashView,
    closing_orders: Iterable[ClosingOrderView],
    now_ms: int,
    config: ExitRulesConfig,
) -> ExitContext:
    """Every open position (valued once, when a rule first reads it); closing orders by ticker (the
    oldest one per ticker)."""
    holdings: list[Holding] = []
    for position in positions:
        market = markets.get(position.ticker)
        if position.position == 0 or market is None:
            continue
        holdings.append(Holding(position, market, books.get(position.ticker)))  # valued on first read
    orders: dict[str, ClosingOrderView] = {}
    for order in closing_orders:
        known = orders.get(order.ticker)
        if known is None or order.placed_at_ms < known.placed_at_ms:
            orders[order.ticker] = order
    return ExitContext(
        holdings=tuple(holdings),
        closing_orders=orders,
        cash=cash,
        now_ms=now_ms,
        config=config,
        by_ticker={h.ticker: h for h in holdings},
    )


def evaluate_exits(
    positions: Iterable[PositionView],
    books: Mapping[str, BookView],
    markets: Mapping[str, MarketView],
    cash: CashView,
    closing_orders: Iterable[ClosingOrderView],
    now_ms: int,
    config: ExitRulesConfig,
    rules: tuple[ExitRule, ...] = EXIT_RULES,
) -> list[ExitDecision]:
    """Run every enabled rule in priority order; one decision per ticker, in the order decided."""
    ctx = build_context(positions, books, markets, cash, closing_orders, now_ms, config)
    decided: dict[str, ExitDecision] = {}
    for rule in rules:
        if not rule.enabled(config):
            continue
        for decision in rule.evaluate(ctx, decided):
            decided.setdefault(decision.ticker, decision)
    return list(decided.values())
