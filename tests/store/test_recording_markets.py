"""Self-contained recordings (migration 0003): market grids and book invalidations are recorded in
order with the messages, and ``replay_into`` rebuilds books and their validity from a session alone.

Runs on SQLite and on PostgreSQL (``KALSHIFLOW_TEST_PG_URL``, one schema per test).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, event, insert, inspect, select
from tests.store.recording_kit import CENT, NEW_TABLES, ODD, WS_URL, replay
from tests.store.store_kit import START_MS, delta, snapshot

from kalshiflow.clock import ManualClock
from kalshiflow.exchange.ws_models import OrderbookSnapshot
from kalshiflow.marketdata.recorder import Recorder
from kalshiflow.marketdata.replay import (
    RecordedInvalidation,
    RecordedMarket,
    RecordingGap,
    ReplayItem,
)
from kalshiflow.store import db
from kalshiflow.store.models import (
    BookSnapshotRow,
    GapReason,
    RecordingInvalidationRow,
    RecordingMarketRow,
    RecordingSession,
)


def test_0003_creates_the_tables_on_an_empty_database(db_url: str) -> None:
    engine = db.open_engine(db_url)
    try:
        db.migrate(engine)
        assert db.current_revision(engine) == db.head_revision()  # 0003 and every later step
        assert set(inspect(engine).get_table_names()) >= NEW_TABLES
        indexes = {ix["name"] for table in NEW_TABLES for ix in inspect(engine).get_indexes(table)}
        assert indexes == {"ix_recording_markets_session_id", "ix_recording_invalidations_session_id"}
    finally:
        engine.dispose()


def test_0003_revises_0002() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config()).get_revision("0003")
    assert script is not None
    assert script.down_revision == "0002"


def test_0003_upgrades_a_0002_database_keeping_its_recordings(db_url: str) -> None:
    engine = db.open_engine(db_url)
    try:
        db.migrate(engine, "0002")
        assert not NEW_TABLES & set(inspect(engine).get_table_names())
        with engine.begin() as connection:
            connection.execute(
                insert(RecordingSession).values(
                    id=7,
                    started_at_ms=START_MS,
                    exchange="sim",
                    source_url=WS_URL,
                    markets=["A"],
                    status="ended",
                    messages_seen=1,
                    messages_dropped=0,
                )
            )
            connection.execute(
                insert(BookSnapshotRow).values(
                    session_id=7,
                    seq_no=1,
                    sid=1,
                    seq=1,
                    ticker="A",
                    received_ns=1_007,
                    yes_levels_e4_e2="[]",
                    no_levels_e4_e2="[]",
                )
            )
        db.migrate(engine, "0003")
        assert db.current_revision(engine) == "0003"
        # An old session replays as before: messages only, no markets.
        assert replay(engine, 7) == [snapshot(1, 1, "A", [], [])]
    finally:
        engine.dispose()


def test_downgrade_to_0002_drops_only_the_new_tables_and_upgrade_restores_them(engine: Engine) -> None:
    before = set(inspect(engine).get_table_names())
    command.downgrade(db.alembic_config(engine), "0002")
    assert db.current_revision(engine) == "0002"
    assert set(inspect(engine).get_table_names()) == before - NEW_TABLES - {"trader_runs"}  # 0004's too
    db.migrate(engine)
    assert set(inspect(engine).get_table_names()) == before


# ------------------------------------------------------------------ recording and replaying


def test_markets_and_invalidations_replay_in_order_with_the_messages(
    engine: Engine, clock: ManualClock
) -> None:
    recorder = Recorder(engine, clock, batch_size=3, flush_interval_s=0.01)
    session_id = recorder.start_session("sim", WS_URL, ["A", "B"])
    recorder.record_market("A", CENT)
    recorder.record_market("B", ODD)
    snap_a = snapshot(1, 1, "A", [(4_000, 500)], [(5_000, 300)])
    snap_b = snapshot(1, 2, "B", [(1_000, 100)], [])
    d3 = delta(3, "A", price=4_000, change=-100)
    recorder.record(snap_a)
    recorder.record(snap_b)
    recorder.record(d3)
    tickers = ["A", "B"]
    recorder.record_invalidation(tickers, "sequence gap on sid 1")
    tickers.append("C")  # the recorder kept its own copy
    recorder.record_market("C", CENT)
    d4 = delta(4, "A")
    recorder.record(d4)
    recorder.close()

    expected: list[ReplayItem] = [
        RecordedMarket("A", CENT, 0),
        RecordedMarket("B", ODD, 0),
        snap_a,
        snap_b,
        d3,
        RecordedMarket("C", CENT, 3),
        RecordedInvalidation(("A", "B"), "sequence gap on sid 1", 3),
        d4,
    ]
    assert replay(engine, session_id) == expected
    assert replay(engine, session_id, chunk_size=1) == expected
    replayed_odd = replay(engine, session_id)[1]
    assert isinstance(replayed_odd, RecordedMarket)
    assert replayed_odd.grid.levels == ODD.levels
    metrics = recorder.metrics()
    assert (metrics.messages_seen, metrics.markets_written, metrics.invalidations_written) == (4, 3, 1)
    assert metrics.rows_written == 8
    with engine.connect() as connection:
        (row,) = connection.execute(
            select(RecordingInvalidationRow).where(RecordingInvalidationRow.session_id == session_id)
        ).all()
        assert (row.after_seq_no, row.tickers, row.at_ms) == (3, ["A", "B"], START_MS)
        structures = connection.execute(
            select(RecordingMarketRow.ticker, RecordingMarketRow.price_level_structure).order_by(
                RecordingMarketRow.id
            )
        ).all()
    assert [tuple(r) for r in structures] == [
        ("A", "linear_cent"),
        ("B", "custom_test"),
        ("C", "linear_cent"),
    ]


def test_flush_waits_for_markets_and_invalidations_too(engine: Engine, clock: ManualClock) -> None:
    recorder = Recorder(engine, clock, batch_size=1_000, flush_interval_s=60)
    session_id = recorder.start_session("sim", WS_URL, ["A"])
    recorder.record(snapshot(1, 1, "A", [], []))
    assert recorder.flush(timeout_s=30)
    recorder.record_market("A", CENT)  # no message after it: only the market is pending
    recorder.record_invalidation(["A"], "unsubscribed")
    assert recorder.flush(timeout_s=30)
    assert recorder.metrics().markets_written == recorder.metrics().invalidations_written == 1
    assert [type(item) for item in replay(engine, session_id)] == [
        OrderbookSnapshot,
        RecordedMarket,
        RecordedInvalidation,
    ]
    recorder.close()


def test_a_full_buffer_drops_messages_but_never_markets_or_invalidations(
    engine: Engine, clock: ManualClock
) -> None:
    gate = threading.Event()
    recorder = Recorder(engine, clock, batch_size=4, flush_interval_s=0.01, max_buffer=3, writer_gate=gate)
    session_id = recorder.start_session("sim", WS_URL, ["A"])
    recorder.record_market("A", CENT)
    first = [delta(seq, "A") for seq in (1, 2)]
    assert all(recorder.record(m) for m in first)
    assert not recorder.record(delta(3, "A"))  # buffer full: dropped into a gap after seq_no 2
    recorder.record_invalidation(["A"], "resync")  # still taken, after the gap
    recorder.record_market("B", ODD)
    assert recorder.metrics().buffer_len == 6
    gate.set()
    assert recorder.flush(timeout_s=30)
    last = delta(4, "A")
    assert recorder.record(last)
    recorder.close()
    assert replay(engine, session_id) == [
        RecordedMarket("A", CENT, 0),
        *first,
        RecordingGap(2, 1, GapReason.BUFFER_OVERFLOW, START_MS),
        RecordedMarket("B", ODD, 3),
        RecordedInvalidation(("A",), "resync", 3),
        last,
    ]


def test_market_recorded_before_a_loss_replays_ahead_of_its_gap(engine: Engine, clock: ManualClock) -> None:
    gate = threading.Event()
    recorder = Recorder(engine, clock, batch_size=10, flush_interval_s=0.01, max_buffer=2, writer_gate=gate)
    session_id = recorder.start_session("sim", WS_URL, ["A"])
    assert recorder.record(delta(1, "A"))
    recorder.record_market("A", CENT)  # at position 1; fills the buffer
    assert not recorder.record(delta(2, "A"))  # gap after seq_no 1, same position as the market
    gate.set()
    recorder.close()
    assert replay(engine, session_id) == [
        delta(1, "A"),
        RecordedMarket("A", CENT, 1),
        RecordingGap(1, 1, GapReason.BUFFER_OVERFLOW, START_MS),
    ]


def test_a_refused_batch_keeps_its_markets_and_invalidations_for_the_next(
    engine: Engine, clock: ManualClock
) -> None:
    gate = threading.Event()
    recorder = Recorder(engine, clock, batch_size=100, flush_interval_s=0.01, writer_gate=gate)
    session_id = recorder.start_session("sim", WS_URL, ["A"])
    refusals: list[str] = []

    def refuse_once(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not refusals and "INSERT INTO recording_markets" in statement:
            refusals.append(statement)
            raise RuntimeError("disk full (simulated)")

    messages = [delta(seq, "A") for seq in range(1, 5)]
    event.listen(engine, "before_cursor_execute", refuse_once)
    try:
        recorder.record(messages[0])
        recorder.record_market("A", CENT)
        recorder.record(messages[1])
        recorder.record_invalidation(["A"], "reconnect")
        recorder.record(messages[2])
        gate.set()
        assert recorder.flush(timeout_s=30)
        recorder.record(messages[3])
        recorder.close()
    finally:
        event.remove(engine, "before_cursor_execute", refuse_once)
    assert refusals
    # The messages of the refused batch are lost (gaps, one per run between kept items); the market
    # and the invalidation were written with the next batch, at their own positions.
    assert replay(engine, session_id) == [
        RecordingGap(0, 1, GapReason.WRITE_FAILED, START_MS),
        RecordedMarket("A", CENT, 1),
        RecordingGap(1, 1, GapReason.WRITE_FAILED, START_MS),
        RecordedInvalidation(("A",), "reconnect", 2),
        RecordingGap(2, 1, GapReason.WRITE_FAILED, START_MS),
        messages[3],
    ]
    metrics = recorder.metrics()
    assert (metrics.messages_write_failed, metrics.markets_written, metrics.invalidations_written) == (
        3,
        1,
        1,
    )


def test_markets_and_invalidations_need_a_session(engine: Engine, clock: ManualClock) -> None:
    recorder = Recorder(engine, clock)
    with pytest.raises(RuntimeError, match="session"):
        recorder.record_market("A", CENT)
    recorder.start_session("sim", WS_URL, [])
    recorder.close()
    with pytest.raises(RuntimeError, match="session"):
        recorder.record_invalidation(["A"], "late")


# ------------------------------------------------------------------ replay_into
