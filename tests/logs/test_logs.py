"""Logs (issue 8): structured fields, written off the caller's thread, to a rotating file; HOLD
decisions are counted and sampled at debug, never one info line each."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from kalshiflow.commands.action_log import ActionLogger
from kalshiflow.domain.units import Count, Price
from kalshiflow.events.trader import ActionResult, TraderAction
from kalshiflow.logs import LogConfig, start_logging


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def action(result: ActionResult, n: int = 0) -> TraderAction:
    return TraderAction(
        ts_ms=n,
        ticker="T",
        action="HOLD" if result is ActionResult.HOLD else "BUY_YES",
        price=None if result is ActionResult.HOLD else Price.parse("0.40"),
        size=Count.contracts(1),
        reason="r",
        result=result,
        client_order_id=None if result is ActionResult.HOLD else f"kf-{n}",
    )


def test_fields_are_keys_and_records_are_written_by_another_thread(tmp_path: Path) -> None:
    path = tmp_path / "kf.log"
    handle = start_logging(LogConfig(path=path))
    writers: set[str] = set()
    handle.on_write = lambda: writers.add(threading.current_thread().name)
    try:
        logging.getLogger("kalshiflow.test").info("order.placed", extra={"ticker": "T", "price": "0.4000"})
    finally:
        handle.close()  # drains the queue
    [entry] = [e for e in lines(path) if e["event"] == "order.placed"]
    assert (entry["ticker"], entry["price"]) == ("T", "0.4000")
    assert writers
    assert threading.current_thread().name not in writers


def test_a_formatted_message_keeps_its_event_name_and_key_value_pairs_as_fields(tmp_path: Path) -> None:
    path = tmp_path / "kf.log"
    handle = start_logging(LogConfig(path=path))
    log = logging.getLogger("kalshiflow.test")
    try:
        log.warning(
            "calibration.failed reason=%s", "timed out"
        )  # a value with a space: the text keeps it all
        log.info("run.rate_limits tier=%s read=%s", "basic", "BucketSpec(refill_per_s=200, capacity=400)")
        log.info("restore.orders %d orders in flight restored from the store", 3)
        log.info("actor.decision ticker=%s", "FROM-TEXT", extra={"ticker": "FROM-EXTRA"})
    finally:
        handle.close()
    failed, limits, restored, actor = lines(path)
    assert (failed["event"], failed["message"]) == ("calibration.failed", "reason=timed out")
    assert (limits["event"], limits["tier"]) == ("run.rate_limits", "basic")
    assert limits["read"] == "BucketSpec(refill_per_s=200, capacity=400)"
    assert "refill_per_s" not in limits
    assert (restored["event"], restored["message"]) == (
        "restore.orders",
        "3 orders in flight restored from the store",
    )
    assert actor["ticker"] == "FROM-EXTRA"


def test_the_file_rotates_at_its_size_keeping_the_configured_count(tmp_path: Path) -> None:
    path = tmp_path / "kf.log"
    handle = start_logging(LogConfig(path=path, max_bytes=2_000, backups=2))
    try:
        for n in range(200):
            logging.getLogger("kalshiflow.test").info("tick", extra={"n": n})
    finally:
        handle.close()
    rotated = sorted(p.name for p in tmp_path.iterdir())
    assert rotated == ["kf.log", "kf.log.1", "kf.log.2"]
    assert all(p.stat().st_size <= 2_000 for p in tmp_path.iterdir())


def test_hold_decisions_are_counted_and_sampled_at_debug_not_logged_at_info(tmp_path: Path) -> None:
    path = tmp_path / "kf.log"
    handle = start_logging(LogConfig(path=path, level=logging.DEBUG))
    actions = ActionLogger(hold_sample_every=100)
    try:
        for n in range(1_000):
            actions(action(ActionResult.HOLD, n), {})
        actions(action(ActionResult.PLACED, 1), {"f": 1.0})
    finally:
        handle.close()
    assert actions.holds == 1_000
    entries = [e for e in lines(path) if str(e["event"]).startswith("trader_action")]
    info = [e for e in entries if e["level"] == "info"]
    assert [e["result"] for e in info] == ["placed"]
    sampled = [e for e in entries if e["event"] == "trader_action.hold_sampled"]
    assert len(sampled) == 10
    assert all(e["level"] == "debug" for e in sampled)
    assert sampled[-1]["holds"] == 1_000
