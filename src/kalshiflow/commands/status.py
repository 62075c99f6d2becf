"""``kalshiflow status``: the trader's last known state, read from the store.

It answers whether or not the trader is running: whether the last run is running, stopped cleanly,
not responding (its process alive but its heartbeat stale: hung, stopped) or not running since its
last heartbeat (crashed: ``kill -9``, power loss), its last status, cash,
positions (``ticker`` and signed ``position_fp``, as Kalshi writes them), resting orders and the
last calibration. Money is shown as the live view shows it (``$10,000.00``). A SQLite database
that does not exist is reported, never created.

Two clocks, named wherever a time is shown: the run's start, heartbeat and stop are wall-clock
stamps (``commands.heartbeat``), while the status history is stamped by the trader's clock, which
runs ``--speed`` times faster than the wall clock with the embedded simulator (and follows the
exchange's market time against an external one). The store keeps no mapping between them, so
status does not convert one into the other; it labels each and says when the trader's clock ran
ahead of the wall clock, so a history stamp hours after the stop reads as simulated time.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from kalshiflow.clock import SystemClock
from kalshiflow.commands.heartbeat import STALE_AFTER_S, wall_ms
from kalshiflow.domain.units import Count, Money, Price, display_dollars, held_contracts
from kalshiflow.marketdata.replay import list_sessions
from kalshiflow.store import db
from kalshiflow.store.db import normalize_url
from kalshiflow.store.trader_repo import TraderStore
from kalshiflow.store.trader_runs import StoredRun, read_last_run
from kalshiflow.textfmt import plural


class MissingDatabaseError(FileNotFoundError):
    """``status`` was pointed at a SQLite file that does not exist."""


class RunState(StrEnum):
    NEVER = "never ran"
    RUNNING = "running"
    STOPPED = "stopped"
    CRASHED = "crashed"
    NOT_RESPONDING = "not responding"  # the process is alive but its heartbeat went stale (hung)


def run_state(run: StoredRun | None, now_ms: int, pid_alive: bool | None) -> RunState:
    """Pure: a stop stamp means stopped; a fresh heartbeat of a live process (or of one that cannot
    be checked from here) means running; a stale heartbeat of a process still alive means not
    responding (hung, not crashed); anything else did not stop cleanly."""
    if run is None:
        return RunState.NEVER
    if run.stopped_ms is not None:
        return RunState.STOPPED
    if pid_alive is False:
        return RunState.CRASHED
    if now_ms - run.heartbeat_ms > STALE_AFTER_S * 1000:
        return RunState.NOT_RESPONDING if pid_alive else RunState.CRASHED
    return RunState.RUNNING


def _pid_alive(run: StoredRun) -> bool | None:
    """Whether the run's process still exists; None when it ran on another host."""
    if run.host != socket.gethostname():
        return None
    try:
        os.kill(run.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StampClock(StrEnum):
    WALL = "wall clock"
    TRADER = "trader clock"


def trader_clock_ahead(run: StoredRun | None, history_ts_ms: int | None) -> bool:
    """Pure: the last history stamp is later than the run's last wall-clock stamp allows.

    That stamp is the stop, or the last heartbeat while no stop is recorded; a history entry may
    follow it by up to ``STALE_AFTER_S`` at wall speed (heartbeats are ``HEARTBEAT_S`` apart, and
    a run silent for longer counts as crashed), so only a larger lead is the clock, not the timing.
    """
    if run is None or history_ts_ms is None:
        return False
    last_wall_ms = run.stopped_ms if run.stopped_ms is not None else run.heartbeat_ms
    return history_ts_ms > last_wall_ms + int(STALE_AFTER_S * 1000)


def check_exists(db_url: str) -> None:
    url = normalize_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise MissingDatabaseError(f"no database at {url.database} (check --db / KALSHIFLOW_DB)")


def running_trader(db_url: str) -> StoredRun | None:
    """The store's last run when it is still running (``run`` refuses to start a second trader on
    the same store: both would restore, adopt and at their stop cancel each other's orders, and
    ``status`` would read whichever stopped last). None for a database that does not exist yet."""
    try:
        check_exists(db_url)
    except MissingDatabaseError:
        return None
    store = TraderStore(db_url, SystemClock())
    try:
        run = read_last_run(store.engine)
    finally:
        store.close()
    if run is None or run_state(run, wall_ms(), _pid_alive(run)) is not RunState.RUNNING:
        return None
    return run


NEVER_RAN: dict[str, Any] = {
    "run": None,
    "status": None,
    "cash": None,
    "cash_dollars": None,
    "positions": [],
    "resting_orders": [],
    "last_calibration": None,
    "recordings": [],
}

RECORDINGS_SHOWN = 5  # the newest sessions listed by the text output (--json lists them all)


def _read_only_engine(db_url: str) -> Engine | None:
    """The store's engine when its schema is this code's, None when it has none (a database no
    trader wrote: nothing to read); status only reads, so it never creates or upgrades the schema
    of a store another kalshiflow may be running on. ``DatabaseUnavailableError`` otherwise."""
    engine = db.open_engine(db_url)
    revision, head = db.current_revision(engine), db.head_revision()
    if revision == head:
        return engine
    engine.dispose()
    if revision is None:
        return None
    raise db.DatabaseUnavailableError(
        f"{db.SETTING_NAME} {db.redact_url(db_url)}: its schema is at revision {revision!r}, not this "
        f"kalshiflow's {head!r}; status reads a store and never migrates it (a trader may be running "
        "on it): use the kalshiflow that wrote it, or let this version's `run` upgrade it"
    )


def read_status(db_url: str) -> dict[str, Any]:
    check_exists(db_url)
    engine = _read_only_engine(db_url)
    if engine is None:
        return dict(NEVER_RAN)
    store = TraderStore(engine, SystemClock())
    try:
        history = store.status_history(limit=1)
        cash = store.last_cash()
        calibration = store.last_calibration()
        run = read_last_run(store.engine)
        now_ms = wall_ms()
        state = run_state(run, now_ms, None if run is None else _pid_alive(run))
        last_ts_ms = history[0].ts_ms if history else None
        return {
            "run": None
            if run is None
            else {
                "state": state.value,
                "pid": run.pid,
                "started_ms": run.started_ms,
                "heartbeat_ms": run.heartbeat_ms,
                "heartbeat_age_s": max(0, now_ms - run.heartbeat_ms) // 1000,
                "stopped_ms": run.stopped_ms,
                "exit_code": run.exit_code,
                "clock": StampClock.WALL.value,
            },
            "status": None
            if not history
            else {
                "status": history[0].status,
                "result": history[0].result_text,
                "ts_ms": history[0].ts_ms,
                # In this state since (trading: since the start of its stretch, through the
                # periodic calibrations), as the page and the terminal view say it.
                "since_ms": store.state_since(),
                "clock": StampClock.TRADER.value,
                "trader_clock_ahead_of_wall": trader_clock_ahead(run, last_ts_ms),
            },
            "cash": None if cash is None else display_dollars(Money(cash.cash_e6)),
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
            "recordings": [
                {
                    "session_id": r.id,
                    "exchange": r.exchange,
                    "markets": len(r.markets),
                    "started_ms": r.started_at_ms,
                    "ended_ms": r.ended_at_ms,
                    "status": r.status.value,
                    "messages": r.messages_seen,
                }
                for r in list_sessions(store.engine)
            ],
        }
    finally:
        store.close()
        engine.dispose()


def _stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _run_line(run: dict[str, Any] | None) -> str:
    if run is None:
        return "never ran"
    state = RunState(run["state"])
    if state is RunState.STOPPED:
        code = "" if run["exit_code"] in (0, None) else f", exit code {run['exit_code']}"
        return f"stopped at {_stamp(run['stopped_ms'])} (started {_stamp(run['started_ms'])}{code})"
    if state is RunState.RUNNING:
        return f"running since {_stamp(run['started_ms'])} (pid {run['pid']})"
    if state is RunState.NOT_RESPONDING:
        return (
            f"not responding (pid {run['pid']} alive, last heartbeat {run['heartbeat_age_s']}s ago; "
            f"started {_stamp(run['started_ms'])})"
        )
    return (
        f"not running since {_stamp(run['heartbeat_ms'])} (crashed: no clean stop recorded; "
        f"pid {run['pid']}, started {_stamp(run['started_ms'])})"
    )


def _held(position_fp: str) -> str:
    """``"-3.00"`` -> ``"-3.00 (3.00 contracts NO)"``: the signed count as Kalshi writes it, and what it means."""
    return f"{position_fp} ({held_contracts(Count.parse(position_fp))})"


def _state_text(state: dict[str, Any]) -> str:
    """``trading since T1; last entry at T2 (calibration ok)``, or ``stopped at T (...)`` when the
    last entry is the state's own start: the last entry alone (a note, a calibration's end every
    minute) read as if the trader had just begun trading."""
    since_ms = state.get("since_ms")
    last = f"{_stamp(state['ts_ms'])} ({state['result']})"
    if since_ms is None or since_ms == state["ts_ms"]:
        return f"{state['status']} at {last}"
    return f"{state['status']} since {_stamp(since_ms)}; last entry at {last}"


def format_status(status: dict[str, Any]) -> str:
    lines = []
    state = status["status"]
    if status["run"] is None and state is None:
        lines.append("status: never ran")
    else:
        lines.append(f"trader ({StampClock.WALL.value}): {_run_line(status['run'])}")
        if state is not None:
            lines.append(f"last state ({StampClock.TRADER.value}): {_state_text(state)}")
            if state.get("trader_clock_ahead_of_wall"):
                lines.append(
                    "  (the trader's clock ran ahead of the wall clock: simulated time under --speed)"
                )
    lines.append(f"cash: {status['cash'] or 'unknown'}")
    lines.append(f"positions: {len(status['positions'])}")
    lines.extend(
        f"  {p['ticker']}  {_held(p['position_fp'])}  cost {display_dollars(Money.parse(p['cost_basis_dollars']))}"
        for p in status["positions"]
    )
    lines.append(f"resting orders: {len(status['resting_orders'])}")
    lines.extend(
        f"  {o['ticker']}  {o['side']} {o['remaining_fp']} contracts @ ${o['yes_price_dollars']} (YES price)"
        f"  {o['state']}"
        for o in status["resting_orders"]
    )
    cal = status["last_calibration"]
    if cal is not None:
        result = "ok" if cal["ok"] else f"failed: {cal['failure_reason']}"
        lines.append(f"last calibration: {result}, {cal['duration_ms']} ms, {cal['rest_calls']} REST calls")
    recordings = status.get("recordings") or []
    if recordings:
        lines.append(f"recorded sessions: {len(recordings)}")
        if len(recordings) > RECORDINGS_SHOWN:
            lines.append(f"  ... {len(recordings) - RECORDINGS_SHOWN} older (--json lists them all)")
        lines.extend(f"  {_recording_line(r)}" for r in recordings[-RECORDINGS_SHOWN:])
    return "\n".join(lines)


def _recording_line(r: dict[str, Any]) -> str:
    """``session 1  sim  5 markets  from 2026-12-07 17:13:20 UTC, 15 s, 317 messages (closed)``."""
    span = (
        "still recording or crashed"
        if r["ended_ms"] is None
        else f"{(r['ended_ms'] - r['started_ms']) // 1000} s"
    )
    return (
        f"session {r['session_id']}  {r['exchange']}  {plural(r['markets'], 'market')}  from {_stamp(r['started_ms'])}, "
        f"{span}, {r['messages']:,} {'message' if r['messages'] == 1 else 'messages'} ({r['status']})"
    )


def status_json(status: dict[str, Any]) -> str:
    return json.dumps(status, indent=2)
