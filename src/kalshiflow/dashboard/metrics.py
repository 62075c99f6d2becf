"""Prometheus metrics of the running trader (``GET /metrics``), through prometheus-client.

Two sources, each where it is cheapest: counters and histograms of things that happen (decisions by
result, risk denials by reason, calibrations and their durations, decision lag) are fed by the
dashboard's bus subscriber; levels (state, cash, P&L, positions, deltas applied, stream gaps and
resyncs) are read from the trader when Prometheus scrapes, so nothing is computed between scrapes.
A registry per dashboard (not the process-global one), so several apps in one process (tests) do
not collide. Money becomes float dollars only here, at the metrics boundary, because Prometheus
samples are floats.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kalshiflow.dashboard.messages import PortfolioSummary
from kalshiflow.dashboard.views import TraderParts
from kalshiflow.events.trader import (
    ActionResult,
    CalibrationCompleted,
    RiskDenied,
    TraderAction,
    TraderState,
)
from kalshiflow.trader.risk.types import RiskReason

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The decisions that sent an order (as ``ActorMetrics.orders_sent`` counts them): a paper trade, a
# denial, a decision without a price, a stale one or one stopped by its order group sent nothing.
ORDER_SENT_RESULTS = frozenset({ActionResult.PLACED, ActionResult.REJECTED, ActionResult.UNKNOWN})
CALIBRATION_RESULTS = ("ok", "failed")
_E6 = 1_000_000


def _dollars(money_e6: int) -> float:
    return money_e6 / _E6


class _TraderLevels(Collector):
    """Gauges and counters read from the trader at scrape time."""

    def __init__(self, parts: TraderParts) -> None:
        self.parts = parts
        self.last_portfolio: PortfolioSummary | None = None

    def collect(self) -> Iterator[Metric]:
        parts = self.parts
        state = GaugeMetricFamily("kalshiflow_state", "1 for the trader's current state", labels=["state"])
        for member in TraderState:
            state.add_metric([member.value], 1.0 if parts.lifecycle.state is member else 0.0)
        yield state
        yield GaugeMetricFamily(
            "kalshiflow_state_seconds",
            "time in the current state, on the trader's clock (simulated seconds under --speed; a"
            " calibration, every minute by default, is a state of its own)",
            value=parts.lifecycle.time_in_state_ms() / 1000,
        )
        core = parts.core
        if core is not None:
            ledger = core.ledger
            yield GaugeMetricFamily("kalshiflow_cash_dollars", "cash available", value=_dollars(ledger.cash))
            yield GaugeMetricFamily(
                "kalshiflow_reserved_dollars", "cash held for resting buys", value=_dollars(ledger.reserved)
            )
            yield GaugeMetricFamily(
                "kalshiflow_open_positions", "markets with a position", value=len(ledger.open_positions())
            )
            realized = sum(p.realized_pnl for p in ledger.positions.values())
            yield GaugeMetricFamily(
                "kalshiflow_realized_pnl_dollars", "realized P&L after fees", value=_dollars(realized)
            )
            yield GaugeMetricFamily(
                "kalshiflow_kill_switch",
                "1 when the kill switch is on",
                value=float(core.kill_switch_text() is not None),
            )
        summary = self.last_portfolio
        if summary is not None:
            yield GaugeMetricFamily(
                "kalshiflow_unrealized_pnl_dollars",
                "unrealized P&L at exit prices (last dashboard tick)",
                value=_dollars(summary.unrealized_pnl),
            )
            yield GaugeMetricFamily(
                "kalshiflow_portfolio_value_dollars",
                "cash, reserved and positions at exit prices (last dashboard tick)",
                value=_dollars(summary.portfolio_value),
            )
        feed = parts.feed
        if feed is not None:
            stream = feed.stream.metrics
            yield CounterMetricFamily(
                "kalshiflow_deltas_applied", "order book deltas applied", value=stream.deltas_applied
            )
            yield CounterMetricFamily("kalshiflow_stream_gaps", "sequence gaps seen", value=stream.gaps)
            yield CounterMetricFamily(
                "kalshiflow_stream_resyncs", "snapshot requests and resubscriptions", value=stream.resyncs
            )
            yield CounterMetricFamily(
                "kalshiflow_stream_reconnects", "connections opened after the first", value=stream.reconnects
            )


class DashboardMetrics:
    def __init__(self, parts: TraderParts) -> None:
        # No ``*_created`` gauge per series: with the counter's own HELP text they read as a second
        # count ("kalshiflow_decisions_created decisions by result"); this process exports nothing else.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        self._levels = _TraderLevels(parts)
        self.registry.register(self._levels)
        self.decisions = Counter(
            "kalshiflow_decisions", "decisions by result", ["result"], registry=self.registry
        )
        self.orders = Counter(
            "kalshiflow_orders",
            "orders sent to the exchange, by result (placed, rejected, unknown)",
            ["result"],
            registry=self.registry,
        )
        self.denials = Counter(
            "kalshiflow_risk_denials",
            "orders the risk gate refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.calibrations = Counter(
            "kalshiflow_calibrations", "calibration passes by result", ["result"], registry=self.registry
        )
        self.calibration_seconds = Histogram(
            "kalshiflow_calibration_duration_seconds",
            "calibration duration",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.decision_lag = Histogram(
            "kalshiflow_decision_lag_seconds",
            "time from a market's book change to its decision",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
            registry=self.registry,
        )
        # Every series exists from the start: a counter that first appears at 1 is no increase to
        # Prometheus (``increase(kalshiflow_calibrations_total{result="failed"}[10m]) > 0`` missed
        # the first failed calibration, the one an operator's alert is for).
        for result in ActionResult:
            self.decisions.labels(result.value)
        for result in ORDER_SENT_RESULTS:
            self.orders.labels(result.value)
        for reason in RiskReason:
            if reason is not RiskReason.OK:
                self.denials.labels(reason.value)
        for outcome in CALIBRATION_RESULTS:
            self.calibrations.labels(outcome)

    def observe(self, event: object) -> None:
        """Count one bus event (called by the dashboard's subscriber, off the decision path)."""
        if isinstance(event, TraderAction):
            self.decisions.labels(event.result.value).inc()
            if event.result in ORDER_SENT_RESULTS:
                self.orders.labels(event.result.value).inc()
            self.decision_lag.observe(event.decision_lag_ms / 1000)
        elif isinstance(event, RiskDenied):
            self.denials.labels(event.reason).inc()
        elif isinstance(event, CalibrationCompleted):
            self.calibrations.labels(CALIBRATION_RESULTS[0] if event.ok else CALIBRATION_RESULTS[1]).inc()
            self.calibration_seconds.observe(event.duration_ms / 1000)

    def portfolio(self, summary: PortfolioSummary) -> None:
        self._levels.last_portfolio = summary

    def render(self) -> bytes:
        return generate_latest(self.registry)
