"""The exit context values a position only when a rule reads its valuation (``Holding``): the time
rules run every second over every position and close few, so valuing each one every tick was most
of a tick. What a rule reads is still exactly ``value_position`` of the inputs."""

from __future__ import annotations

import pytest
from tests.trader.rules.rules_kit import NOW, SIDES, held_book, market, position

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Money
from kalshiflow.features.valuation import CashView, value_position
from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.exit_rules import base
from kalshiflow.trader.exit_rules.registry import TIME_RULES, build_context, evaluate_exits


@pytest.mark.parametrize("side", SIDES)
def test_a_holding_reads_the_valuation_of_its_inputs(side: OutcomeSide) -> None:
    held = position(side, 100, "48.60")
    book, mkt = held_book(side, "0.60", "0.35"), market()
    ctx = build_context(
        [held], {"MKT": book}, {"MKT": mkt}, CashView(Money.dollars(10)), (), NOW, ExitRulesConfig()
    )
    (holding,) = ctx.holdings
    assert holding.valuation == value_position(held, book, mkt)
    assert holding.valuation is holding.valuation  # valued once


def test_a_holding_without_a_book_has_no_valuation() -> None:
    held = position(OutcomeSide.YES, 100, "48.60")
    ctx = build_context(
        [held], {}, {"MKT": market()}, CashView(Money.dollars(10)), (), NOW, ExitRulesConfig()
    )
    assert ctx.holdings[0].valuation is None


def test_time_rules_that_close_nothing_value_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    valued: list[str] = []
    real = base.value_position

    def counting(*args: object) -> object:
        valued.append("x")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(base, "value_position", counting)
    held = position(OutcomeSide.YES, 100, "48.60")  # held briefly, plenty of cash: no time rule fires
    decisions = evaluate_exits(
        [held],
        {"MKT": held_book(OutcomeSide.YES, "0.60", "0.35")},
        {"MKT": market()},
        CashView(Money.dollars(10_000)),
        (),
        NOW,
        ExitRulesConfig(),
        TIME_RULES,
    )
    assert decisions == []
    assert valued == []
