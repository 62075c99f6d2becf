"""Take profit and stop loss in price space: moves of the exit price from the exit price at entry.

Worked numbers: YES or NO held, 100 contracts bought at the ask 0.42 while the bid was 0.40 (the
exit price at entry, 0.40); thresholds 6¢ (``SIX``). The position is at -2¢ x 100 minus fees the
moment it fills -- the pnl% rule would call that a loss; the move rule sees 0.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.trader.rules.rules_kit import NOW, SIDES, held_book, market, p, position

from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Money
from kalshiflow.features.valuation import CashView, PositionView
from kalshiflow.trader.config import ExitRulesConfig, PriceExitMetric
from kalshiflow.trader.exit_rules.base import ExitDecision, ExitReason
from kalshiflow.trader.exit_rules.entries import EntryReferences
from kalshiflow.trader.exit_rules.registry import PRICE_RULES, evaluate_exits

RICH = CashView(Money.dollars(10_000))
SIX = ExitRulesConfig(take_profit_cents=6, stop_loss_cents=6)  # type: ignore[arg-type]


def held(side: OutcomeSide, entry_bid: str | None = "0.40", cost: str = "42.00") -> PositionView:
    pos = position(side, 100, cost)
    return replace(pos, entry_exit_price=None if entry_bid is None else p(entry_bid))


def exits(
    pos: PositionView, side: OutcomeSide, bid: str, config: ExitRulesConfig | None = None
) -> list[ExitDecision]:
    return evaluate_exits(
        [pos],
        {"MKT": held_book(side, bid, "0.30")},
        {"MKT": market()},
        RICH,
        (),
        NOW,
        config or SIX,
        PRICE_RULES,
    )


@pytest.mark.parametrize("side", SIDES)
def test_the_entry_spread_alone_never_stops_out(side: OutcomeSide) -> None:
    # Bought at 0.22 with the bid at 0.20: -14% after the exit fee at once, a 0¢ move.
    cheap = held(side, "0.20", "22.00")
    assert exits(cheap, side, "0.20") == []
    pct = ExitRulesConfig(price_exit_metric=PriceExitMetric.PCT)
    assert exits(cheap, side, "0.20", ExitRulesConfig()) == []  # the default thresholds too
    assert [d.reason for d in exits(cheap, side, "0.20", pct)] == [ExitReason.STOP_LOSS]


@pytest.mark.parametrize("side", SIDES)
def test_stop_loss_fires_at_the_configured_adverse_move_of_the_exit_price(side: OutcomeSide) -> None:
    assert exits(held(side), side, "0.35") == []  # -5¢
    [decision] = exits(held(side), side, "0.34")  # -6¢
    assert decision.reason is ExitReason.STOP_LOSS
    assert decision.side is side
    assert decision.limit_price == p("0.34")
    assert "moved -0.0600 from 0.4000" in decision.detail


@pytest.mark.parametrize("side", SIDES)
def test_take_profit_fires_at_the_configured_favourable_move(side: OutcomeSide) -> None:
    assert exits(held(side), side, "0.45") == []
    [decision] = exits(held(side), side, "0.46")
    assert decision.reason is ExitReason.TAKE_PROFIT
    assert "moved +0.0600" in decision.detail


@pytest.mark.parametrize("side", SIDES)
def test_range_scaling_lets_take_profit_fire_near_one_dollar(side: OutcomeSide) -> None:
    # Entry exit price 0.93: 7¢ of room, so 6¢ x 7/50 = 0.84¢, at least one tick (1¢).
    scaled = SIX.model_copy(update={"scale_to_range": True})
    pos = held(side, "0.93", "94.00")
    assert exits(pos, side, "0.94") == []
    assert [d.reason for d in exits(pos, side, "0.94", scaled)] == [ExitReason.TAKE_PROFIT]
    assert exits(pos, side, "0.93", scaled) == []


@pytest.mark.parametrize("side", SIDES)
def test_unknown_entry_measures_from_the_average_entry_price(side: OutcomeSide) -> None:
    # Adopted position, cost 0.42 per contract: a 6¢ fall from 0.42 is a bid of 0.36.
    pos = held(side, None)
    assert exits(pos, side, "0.37") == []
    assert [d.reason for d in exits(pos, side, "0.36")] == [ExitReason.STOP_LOSS]


def test_entry_reference_averages_adds_keeps_on_reduce_and_restarts_on_flip() -> None:
    refs = EntryReferences()
    yes_at = {bid: held_book(OutcomeSide.YES, bid, "0.30") for bid in ("0.40", "0.50")}
    refs.update("MKT", 100, yes_at["0.40"])
    refs.update("MKT", 300, yes_at["0.50"])  # +200 at 0.50: (100 x 0.40 + 200 x 0.50) / 300
    assert refs.reference("MKT") == p("0.4666")
    refs.update("MKT", 100, yes_at["0.40"])  # reduced: same reference
    assert refs.reference("MKT") == p("0.4666")
    no_book = held_book(OutcomeSide.NO, "0.55", "0.30")
    refs.update("MKT", -100, no_book)  # flipped to NO: the NO bid now
    assert refs.reference("MKT") == p("0.55")
    refs.update("MKT", 0, no_book)
    assert refs.reference("MKT") is None


def test_positions_found_at_startup_have_no_reference_until_flat() -> None:
    refs = EntryReferences()
    refs.adopt({"MKT": 100})
    refs.update("MKT", 200, held_book(OutcomeSide.YES, "0.40", "0.30"))
    assert refs.reference("MKT") is None
    refs.update("MKT", 0, None)
    refs.update("MKT", 100, held_book(OutcomeSide.YES, "0.40", "0.30"))
    assert refs.reference("MKT") == p("0.40")
