"""The terminal results table: columns stay aligned whatever the policy spec, and one seed shows
no interval rather than a false ``± 0.00``."""

from __future__ import annotations

from kalshiflow.commands.backtest.metrics import Decomposition, PolicySummary
from kalshiflow.commands.backtest.report import render_text


def _summary(policy: str, seeds: list[int], ci95: float) -> PolicySummary:
    decomposition = Decomposition(
        contracts=10.0,
        fee=1.25,
        spread_vs_mid=-0.5,
        spread_vs_true=-0.4,
        markouts={"10s": 0.1, "60s": 0.2, "settle": 0.3},
    )
    return PolicySummary(
        policy=policy,
        seeds=seeds,
        pnl_dollars=[1.0] * len(seeds),
        pnl_mean=1.0,
        pnl_ci95=ci95,
        pnl_at_true_mean=2.0,
        pnl_at_true_ci95=ci95,
        pnl_at_true=[2.0] * len(seeds),
        sharpe=None,
        max_drawdown_dollars=0.5,
        orders=4,
        open_orders=2,
        close_orders=2,
        fills=3,
        fill_rate=0.75,
        maker_share=0.5,
        decomposition=decomposition,
        open_decomposition=decomposition,
        exit_reasons={},
        state_share={},
    )


def test_long_policy_spec_keeps_the_columns_aligned() -> None:
    table = render_text(
        [_summary("hold", [1, 2], 0.5), _summary("maker:min_spread_ticks=6+max_mid=0.8", [1, 2], 0.5)]
    ).splitlines()
    assert len({len(line) for line in table}) == 1  # every row as wide as the header
    header, short, long = table
    assert header.index("P&L") > len("maker:min_spread_ticks=6+max_mid=0.8")
    assert short.index("+1.00") == long.index("+1.00")


def test_single_seed_shows_no_interval() -> None:
    table = render_text([_summary("hold", [7], 0.0)])
    assert "± 0.00" not in table
    assert "+1.00 ± n/a" in table
    assert "+2.00 ± n/a" in table


def test_several_seeds_show_the_interval() -> None:
    table = render_text([_summary("hold", [1, 2, 3], 0.42)])
    assert "+1.00 ± 0.42" in table
