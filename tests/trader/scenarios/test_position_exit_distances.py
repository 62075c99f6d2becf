"""The dashboard's "To TP" / "To SL" for a position under the default price-space exit rules.

With ``price_exit_metric = "move"`` (the default) both columns read "–" for every position: the
row carried distances in pnl% only, which that metric does not use. The row now carries how far
the exit price (the held side's bid) may still rise before take profit and fall before stop loss,
in $0.0001, as the rules measure it (from the exit price at entry).
"""

from __future__ import annotations

from tests.trader.scenarios.scenario_kit import Scenario, buy, scenario_config

from kalshiflow.dashboard.views import position_rows
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count
from kalshiflow.trader.config import PriceExitMetric


async def test_a_position_under_the_move_rules_shows_its_distances_in_price(env: Scenario) -> None:
    ticker = env.tickers[0]
    env.quote(ticker)  # YES 0.44 / 0.45
    config = scenario_config(
        price_exit_metric=PriceExitMetric.MOVE, take_profit_cents=3, stop_loss_cents=5, scale_to_range=False
    )
    core = await env.new_core(config, stream=False)
    placed = await core.open_position(
        ticker, buy(OutcomeSide.YES), env.ask_of(ticker, OutcomeSide.YES), Count.contracts(2)
    )
    assert placed.execution is not None
    await env.calibrate()  # without a stream, the calibration books the fill
    assert core.ledger.position(ticker).position == Count.contracts(2)
    [row] = position_rows(core)
    assert row.exit_price is not None
    assert row.to_take_profit_e2 is None  # pnl% distances: not what these rules measure
    assert row.to_stop_loss_e2 is None
    # Bought at 0.45 with the bid at 0.44: the exit price at entry is 0.44 and has not moved.
    assert row.to_take_profit_e4 == 300
    assert row.to_stop_loss_e4 == 500
