"""The backtest's statistics, by hand: drawdown, interval, and the per-contract decomposition."""

from __future__ import annotations

import pytest

from kalshiflow.commands.backtest.metrics import decompose, max_drawdown, mean_ci95, sharpe
from kalshiflow.commands.backtest.runner import BacktestUsageError, parse_seeds
from kalshiflow.commands.backtest.session import FillRecord
from kalshiflow.domain.units import Money, Price


def _fill(direction: int, price: str, mid: float, later: float, fee: str = "0.0100") -> FillRecord:
    return FillRecord(
        ts_ms=0,
        ticker="T",
        client_order_id="c",
        direction=direction,
        yes_price=Price.parse(price),
        count=100,
        fee=Money.parse(fee),
        is_taker=True,
        purpose="open",
        close_reason=None,
        mid=mid,
        true_probability=mid,
        markouts={"10s": later, "60s": later, "settle": later},
    )


def test_max_drawdown_is_the_largest_fall_from_a_peak() -> None:
    equity = [(0, Money(100)), (1, Money(150)), (2, Money(90)), (3, Money(160)), (4, Money(120))]
    assert max_drawdown(equity) == Money(60)
    assert max_drawdown([]) == Money(0)


@pytest.mark.parametrize("direction", [1, -1])
def test_decomposition_charges_the_spread_and_credits_the_move_on_both_sides(direction: int) -> None:
    # Buying YES at 0.52 with the mid at 0.50 pays 2 cents; the mid then moving 3 cents our way earns 3.
    price = "0.5200" if direction == 1 else "0.4800"
    later = 0.50 + 0.03 * direction
    d = decompose([_fill(direction, price, 0.50, later)])
    assert d.fee == pytest.approx(1.0)
    assert d.spread_vs_mid == pytest.approx(2.0)
    assert d.markouts["10s"] == pytest.approx(3.0)
    assert d.markouts["settle"] == pytest.approx(3.0)


def test_interval_and_sharpe_of_a_few_runs() -> None:
    mean, half = mean_ci95([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert half == pytest.approx(1.96 / 3**0.5)
    assert sharpe([1.0, 2.0, 3.0]) == pytest.approx(2.0)
    assert sharpe([1.0]) is None
    assert mean_ci95([4.0]) == (4.0, 0.0)


def test_seed_lists_and_ranges() -> None:
    assert parse_seeds("1-3") == [1, 2, 3]
    assert parse_seeds("7") == [7]
    assert parse_seeds("1,4,9-10") == [1, 4, 9, 10]
    for bad in ("", "a", "3-1", "1-"):
        with pytest.raises(BacktestUsageError):
            parse_seeds(bad)
