"""What the status console says of a calibration pass whose reads failed (the exchange was down).

The sync line read "cash $9,999.97 -> $9,999.97, 0 positions, drift $0.00 | failed: ..." and the
markets line "0/0 markets viable": a sync and a market check that never happened, shown as done.
"""

from __future__ import annotations

from tests.trader.scenarios.scenario_kit import Scenario, trading_recalibrator

from kalshiflow.trader.lifecycle.states import TraderState


async def test_a_pass_whose_reads_failed_says_nothing_was_synced_or_checked(env: Scenario) -> None:
    _, life, recal = await trading_recalibrator(env)
    await env.admin.post("/faults/schedule", json={"http_5xx": 50})
    try:
        await recal.run_once("scheduled")
    finally:
        await env.admin.post("/faults/reset")
    assert life.state is TraderState.PAUSED
    lines = {entry.status: entry.result_text for entry in list(life.history)[-4:]}
    sync = lines["calibrating -> syncing state"]
    assert sync.startswith("failed: state sync failed"), sync
    assert "->" not in sync, sync  # no cash move
    assert "drift" not in sync, sync  # no drift measured
    assert "nothing synced" in sync, sync
    assert lines["calibrating -> monitoring markets"] == "not checked (calibration failed)"
