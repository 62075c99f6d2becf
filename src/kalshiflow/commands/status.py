"""``kalshiflow status``: the trader's last known state, read from the store.

It answers whether or not the trader is running: status, cash, positions (``ticker`` and signed
``position_fp``, as Kalshi writes them), resting orders and the last calibration.
"""

from __future__ import annotations

import json
from typing import Any

from kalshiflow.clock import SystemClock
from kalshiflow.domain.units import Count, Money, Price
from kalshiflow.store.trader_repo import TraderStore


def read_status(db_url: str) -> dict[str, Any]:
    store = TraderStore(db_url, SystemClock())
    try:
        history = store.status_history(limit=1)
        cash = store.last_cash()
        calibration = store.last_calibration()
        return {
            "status": None
            if not history
            else {"status": history[0].status, "result": history[0].result_text, "ts_ms": history[0].ts_ms},
            "cash_dollars": None if cash is None else Money(cash.cash_e6).dollars_str(),
            "positions": [
                {
                    "ticker": p.ticker,
                    "position_fp": Count(p.position_e2).fp_str(),
                    "cost_basis_dollars": Money(p.cost_basis_e6).dollars_str(),
                    "realized_pnl_dollars": Money(p.realized_pnl_e6).dollars_str(),
                }
                for p in store.latest_positions()
            ],
            "resting_orders": [
                {
                    "client_order_id": o.client_order_id,
                    "ticker": o.ticker,
                    "side": o.side,
                    "yes_price_dollars": Price(o.yes_price_e4).dollars_str(),
                    "remaining_fp": Count(o.remaining_e2).fp_str(),
                    "state": o.state,
                    "purpose": o.purpose,
                    "close_reason": o.close_reason,
                }
                for o in store.resting_orders()
            ],
            "last_calibration": None
            if calibration is None
            else {
                "started_ms": calibration.started_ms,
                "duration_ms": calibration.duration_ms,
                "ok": calibration.ok,
                "failure_reason": calibration.failure_reason,
                "rest_calls": calibration.rest_calls,
                "drift_events": calibration.drift_count,
            },
        }
    finally:
        store.close()


def format_status(status: dict[str, Any]) -> str:
    lines = []
    state = status["status"]
    lines.append("status: " + ("never ran" if state is None else f"{state['status']} ({state['result']})"))
    lines.append(f"cash: {'unknown' if status['cash_dollars'] is None else '$' + status['cash_dollars']}")
    lines.append(f"positions: {len(status['positions'])}")
    lines.extend(
        f"  {p['ticker']}  {p['position_fp']}  cost ${p['cost_basis_dollars']}" for p in status["positions"]
    )
    lines.append(f"resting orders: {len(status['resting_orders'])}")
    lines.extend(
        f"  {o['ticker']}  {o['side']} {o['remaining_fp']} @ {o['yes_price_dollars']}  {o['state']}"
        for o in status["resting_orders"]
    )
    cal = status["last_calibration"]
    if cal is not None:
        result = "ok" if cal["ok"] else f"failed: {cal['failure_reason']}"
        lines.append(f"last calibration: {result}, {cal['duration_ms']} ms, {cal['rest_calls']} REST calls")
    return "\n".join(lines)


def status_json(status: dict[str, Any]) -> str:
    return json.dumps(status, indent=2)
