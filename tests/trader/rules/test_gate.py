"""The gate as a whole: registry order, first denial wins, and the counters."""

from __future__ import annotations

from tests.trader.rules.rules_kit import NOW, book, market, p

from kalshiflow.domain.units import Count, Money
from kalshiflow.features.valuation import CashView
from kalshiflow.trader.config import RiskLimits
from kalshiflow.trader.risk.counters import RiskCounters
from kalshiflow.trader.risk.gate import RISK_CHECKS, check_order
from kalshiflow.trader.risk.types import (
    ALLOWED,
    MarketRiskState,
    OrderIntent,
    RiskContext,
    RiskDecision,
    RiskReason,
    TradeAction,
)


def test_every_check_has_a_unique_name_and_one_line_description() -> None:
    names = [c.name for c in RISK_CHECKS]
    assert len(names) == len(set(names))
    assert all(c.short_desc and "\n" not in c.short_desc for c in RISK_CHECKS)


def test_only_shape_breaker_and_market_active_apply_to_closes() -> None:
    assert [c.name for c in RISK_CHECKS if c.applies_to_closing] == [
        "order_shape",
        "circuit_breaker",
        "market_active",
    ]


def test_first_denial_wins_and_names_its_check() -> None:
    context = RiskContext(
        market=market(close_in_s=10),
        book=book("0.38", "0.58"),
        positions={},
        cash=CashView(Money(0)),
        market_state=MarketRiskState(last_order_at_ms=NOW),
    )
    intent = OrderIntent("MKT", TradeAction.BUY_YES, p("0.40"), Count.contracts(50))
    decision = check_order(intent, context, RiskLimits(), NOW)
    assert decision.reason is RiskReason.MARKET_CLOSING_SOON
    assert decision.check == "market_viability"
    assert not decision.allowed
    assert "closes in 10s" in decision.detail


def test_counters_tally_denials_per_reason_and_allowed_orders() -> None:
    counters = RiskCounters()
    counters.record(ALLOWED)
    counters.record(RiskDecision(False, RiskReason.THROTTLED, "x"))
    counters.record(RiskDecision(False, RiskReason.THROTTLED, "y"))
    counters.record(RiskDecision(False, RiskReason.CASH_RESERVE, "z"))
    counts = counters.as_dict()
    assert counts["throttled"] == 2
    assert counts["cash_reserve"] == 1
    assert counts["ok"] == 1
    assert counts["kill_switch_drawdown"] == 0
    assert set(counts) == {r.value for r in RiskReason}
    assert counters.total_denied == 3
    assert counters.denials(RiskReason.THROTTLED) == 2
