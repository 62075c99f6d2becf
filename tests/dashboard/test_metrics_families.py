"""What ``/metrics`` counts as orders, and which series it exposes (no ``*_created`` twins).

``kalshiflow_orders_total`` ("decisions that reached the order path") counted every decision that was
not a hold: a paper run's trades (never sent), risk denials, decisions without a price and stale
ones all showed up as orders by result. It now counts the orders sent (placed, rejected, unknown),
as the run's summary line does. prometheus-client's ``*_created`` gauges (a timestamp per series,
with the counter's own HELP text, e.g. ``kalshiflow_decisions_created decisions by result``) read
as a second count of decisions; they are not exposed.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from kalshiflow.clock import SystemClock
from kalshiflow.commands.app_state import AppState
from kalshiflow.dashboard.metrics import DashboardMetrics
from kalshiflow.domain.units import Count, Price
from kalshiflow.events.trader import ActionResult, TraderAction
from kalshiflow.trader.lifecycle.init_tracker import InitTracker
from kalshiflow.trader.lifecycle.states import Lifecycle
from kalshiflow.trader.risk.types import RiskReason


def _families(metrics: DashboardMetrics) -> dict[str, list[tuple[dict[str, str], float, str]]]:
    return {
        f.name: [(s.labels, s.value, s.name) for s in f.samples]
        for f in text_string_to_metric_families(metrics.render().decode())
    }


def test_orders_count_only_orders_sent_and_no_created_series() -> None:
    clock = SystemClock()
    metrics = DashboardMetrics(AppState(Lifecycle(clock), InitTracker(clock)))
    for result in ActionResult:
        if result is ActionResult.HOLD:
            continue
        metrics.observe(TraderAction(0, "T", "BUY_YES", Price.parse("0.40"), Count.contracts(1), "r", result))
    families = _families(metrics)
    orders = {
        labels["result"]: value
        for labels, value, name in families["kalshiflow_orders"]
        if name.endswith("_total")
    }
    assert orders == {"placed": 1.0, "rejected": 1.0, "unknown": 1.0}
    decisions = {
        labels["result"]: value
        for labels, value, name in families["kalshiflow_decisions"]
        if name.endswith("_total")
    }
    assert decisions["paper"] == 1.0  # the decisions still count every result
    created = [name for samples in families.values() for _, _, name in samples if name.endswith("_created")]
    assert created == []


def test_the_time_in_state_names_its_clock() -> None:
    """Under ``--speed 10`` kalshiflow_state_seconds ran ten times faster than the wall clock, and it
    restarted at every calibration; its HELP said only "time in the current state"."""
    clock = SystemClock()
    text = DashboardMetrics(AppState(Lifecycle(clock), InitTracker(clock))).render().decode()
    [help_line] = [line for line in text.splitlines() if line.startswith("# HELP kalshiflow_state_seconds ")]
    assert "trader's clock" in help_line
    assert "--speed" in help_line
    assert "calibration" in help_line


def test_every_labelled_series_exists_at_zero_before_its_first_event() -> None:
    """``kalshiflow_calibrations_total{result="failed"}`` (and the orders and risk denials by label)
    appeared only at its first event, at 1: Prometheus sees no increase in a series that starts at
    1, so an alert on ``increase(...[10m]) > 0`` missed the first failed calibration."""
    clock = SystemClock()
    families = _families(DashboardMetrics(AppState(Lifecycle(clock), InitTracker(clock))))

    def totals(family: str, label: str) -> dict[str, float]:
        return {labels[label]: value for labels, value, name in families[family] if name.endswith("_total")}

    assert totals("kalshiflow_calibrations", "result") == {"ok": 0.0, "failed": 0.0}
    assert totals("kalshiflow_orders", "result") == {"placed": 0.0, "rejected": 0.0, "unknown": 0.0}
    denials = totals("kalshiflow_risk_denials", "reason")
    assert denials == {reason.value: 0.0 for reason in RiskReason if reason is not RiskReason.OK}
