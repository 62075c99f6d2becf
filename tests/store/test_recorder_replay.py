"""Recording order-book messages and replaying them, on SQLite and PostgreSQL.

The writer is held with the recorder's ``writer_gate`` wherever a test needs to know what the writer
has (not) done yet, so nothing here depends on timing.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from tests.store.store_kit import START_MS, Message, delta, simulated_stream, snapshot, synthetic_deltas

from kalshiflow.clock import ManualClock
from kalshiflow.domain.units import Count, Price
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.recorder import Recorder, public_url
from kalshiflow.marketdata.replay import RecordingGap, ReplayItem, ReplayReader, list_sessions
from kalshiflow.store.models import BookDeltaRow, BookSnapshotRow, GapReason, RecordingGapRow, SessionStatus

WS_URL = "wss://demo-api.kalshi.co/trade-api/ws/v2"


def replay(engine: Engine, session_id: int, chunk_size: int = 5_000) -> list[ReplayItem]:
    with ReplayReader(engine, session_id, chunk_size=chunk_size) as reader:
        return list(reader)


def assert_exact_units(items: list[ReplayItem]) -> None:
    for item in items:
        if isinstance(item, OrderbookDelta):
            assert type(item.price) is Price
            assert type(item.delta) is Count
        elif isinstance(item, OrderbookSnapshot):
            assert all(type(p) is Price and type(c) is Count for p, c in item.yes + item.no)


def assert_every_seq_no_accounted_for(engine: Engine, session_id: int, seen: int) -> None:
    """Each number 1..seen is a stored message or inside exactly one gap: nothing lost silently."""
    with engine.connect() as connection:
        covered = [
            *connection.execute(
                select(BookSnapshotRow.seq_no).where(BookSnapshotRow.session_id == session_id)
            ).scalars(),
            *connection.execute(
                select(BookDeltaRow.seq_no).where(BookDeltaRow.session_id == session_id)
            ).scalars(),
        ]
        gaps = connection.execute(
            select(RecordingGapRow.after_seq_no, RecordingGapRow.dropped_count).where(
                RecordingGapRow.session_id == session_id
            )
        ).all()
    for after_seq_no, dropped_count in gaps:
        covered.extend(range(after_seq_no + 1, after_seq_no + dropped_count + 1))
    assert sorted(covered) == list(range(1, seen + 1))


@pytest.mark.parametrize("chunk_size", [5_000, 97])
def test_simulated_session_replays_message_for_message(
    engine: Engine, clock: ManualClock, chunk_size: int
) -> None:
    messages = simulated_stream()
    assert sum(isinstance(m, OrderbookSnapshot) for m in messages) >= 12
    assert any(isinstance(m, OrderbookDelta) and m.client_order_id for m in messages)
    recorder = Recorder(engine, clock, batch_size=64, flush_interval_s=0.01)
    session_id = recorder.start_session("sim", WS_URL, sorted({m.ticker for m in messages}))
    assert all(recorder.record(m) for m in messages)
    recorder.close()

    replayed = replay(engine, session_id, chunk_size)
    assert replayed == messages
    assert_exact_units(replayed)
    metrics = recorder.metrics()
    assert metrics.rows_written == len(messages)
    assert metrics.batches_written >= len(messages) // 64
    assert metrics.messages_dropped == metrics.write_errors == 0


def test_record_returns_before_the_writer_has_run(engine: Engine, clock: ManualClock) -> None:
    gate = threading.Event()  # held: the writer cannot drain
    recorder = Recorder(engine, clock, batch_size=10, flush_interval_s=0.01, writer_gate=gate)
    session_id = recorder.start_session("sim", WS_URL, ["KXTEST-26JAN01-T1"])
    messages = synthetic_deltas(500)
    assert all(recorder.record(m) for m in messages)
    metrics = recorder.metrics()
    assert (metrics.batches_written, metrics.rows_written) == (0, 0)
    assert metrics.buffer_len == metrics.buffer_high_water == 500
    gate.set()
    recorder.close()
    assert replay(engine, session_id) == messages


def test_full_buffer_drops_counts_and_records_a_gap(engine: Engine, clock: ManualClock) -> None:
    gate = threading.Event()
    recorder = Recorder(engine, clock, batch_size=4, flush_interval_s=0.01, max_buffer=10, writer_gate=gate)
    session_id = recorder.start_session("sim", WS_URL, ["KXTEST-26JAN01-T1"])
    messages = synthetic_deltas(18)
    accepted = [recorder.record(m) for m in messages[:10]]
    clock.advance(1.5)
    overflow = [recorder.record(m) for m in messages[10:15]]
    assert all(accepted)
    assert not any(overflow)
    assert recorder.metrics().messages_dropped == 5
    gate.set()
    assert recorder.flush(timeout_s=30)
    assert all(recorder.record(m) for m in messages[15:])
    recorder.close()

    gap = RecordingGap(
        after_seq_no=10, dropped_count=5, reason=GapReason.BUFFER_OVERFLOW, at_ms=START_MS + 1_500
    )
    assert replay(engine, session_id) == [*messages[:10], gap, *messages[15:]]
    assert replay(engine, session_id, chunk_size=1) == [*messages[:10], gap, *messages[15:]]
    assert_every_seq_no_accounted_for(engine, session_id, seen=18)
    metrics = recorder.metrics()
    assert (metrics.messages_seen, metrics.messages_dropped, metrics.gaps_written) == (18, 5, 1)
    (info,) = list_sessions(engine)
    assert (info.messages_seen, info.messages_dropped) == (18, 5)


def test_gap_is_written_when_the_writer_catches_up_without_new_messages(
    engine: Engine, clock: ManualClock
) -> None:
    gate = threading.Event()
    recorder = Recorder(engine, clock, batch_size=100, flush_interval_s=0.01, max_buffer=3, writer_gate=gate)
    session_id = recorder.start_session("sim", WS_URL, [])
    messages = synthetic_deltas(5)
    for message in messages:
        recorder.record(message)
    gate.set()
    assert recorder.flush(timeout_s=30)
    assert recorder.metrics().gaps_written == 1  # already stored, before any further message or close
    recorder.close()
    assert replay(engine, session_id)[-1] == RecordingGap(3, 2, GapReason.BUFFER_OVERFLOW, START_MS)


def test_refused_batch_becomes_a_write_failed_gap(engine: Engine, clock: ManualClock) -> None:
    gate = threading.Event()
    recorder = Recorder(engine, clock, batch_size=100, flush_interval_s=0.01, writer_gate=gate)
    session_id = recorder.start_session("sim", WS_URL, [])
    messages = synthetic_deltas(8)
    refusals: list[str] = []

    def refuse_once(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not refusals and "INSERT INTO book_deltas" in statement:
            refusals.append(statement)
            raise RuntimeError("disk full (simulated)")

    event.listen(engine, "before_cursor_execute", refuse_once)
    try:
        for message in messages[:5]:
            recorder.record(message)
        gate.set()
        assert recorder.flush(timeout_s=30)
        for message in messages[5:]:
            recorder.record(message)
        recorder.close()
    finally:
        event.remove(engine, "before_cursor_execute", refuse_once)

    assert refusals
    assert replay(engine, session_id) == [RecordingGap(0, 5, GapReason.WRITE_FAILED, START_MS), *messages[5:]]
    assert_every_seq_no_accounted_for(engine, session_id, seen=8)
    metrics = recorder.metrics()
    assert (metrics.write_errors, metrics.messages_write_failed) == (1, 5)


def test_close_flushes_everything_and_ends_the_session(engine: Engine, clock: ManualClock) -> None:
    # The writer would not wake by itself for a minute: only close() can have written the rows.
    recorder = Recorder(engine, clock, batch_size=1_000_000, flush_interval_s=60)
    session_id = recorder.start_session("kalshi-demo", WS_URL, ["A", "B"], notes="nightly")
    messages: list[Message] = [snapshot(1, 1, "A", [(4_000, 500)], []), *synthetic_deltas(300)]
    for message in messages:
        recorder.record(message)
    clock.advance(60)
    recorder.close()
    recorder.close()  # idempotent

    assert replay(engine, session_id) == messages
    (info,) = list_sessions(engine)
    assert info.id == session_id
    assert info.status is SessionStatus.ENDED
    assert (info.started_at_ms, info.ended_at_ms) == (START_MS, START_MS + 60_000)
    assert (info.exchange, info.markets, info.notes) == ("kalshi-demo", ("A", "B"), "nightly")
    assert (info.messages_seen, info.messages_dropped) == (301, 0)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(BookDeltaRow)).scalar() == 300


def test_record_outside_a_session_is_an_error(engine: Engine, clock: ManualClock) -> None:
    recorder = Recorder(engine, clock)
    with pytest.raises(RuntimeError, match="session"):
        recorder.record(delta(1))
    recorder.start_session("sim", WS_URL, [])
    recorder.close()
    with pytest.raises(RuntimeError, match="session"):
        recorder.record(delta(2))
    with pytest.raises(RuntimeError, match="one session"):
        recorder.start_session("sim", WS_URL, [])


def test_sessions_are_listed_and_replayed_separately(db_url: str, clock: ManualClock) -> None:
    # Given a URL, the recorder opens and migrates the database itself.
    first = Recorder(db_url, clock)
    first_id = first.start_session("sim", "wss://trader:pw@localhost:8765/trade-api/ws/v2?key=abc", ["A"])
    first.record(delta(1, "A"))
    first.close()
    second = Recorder(db_url, clock)
    second_id = second.start_session("sim", WS_URL, ["B"])
    second.record(delta(1, "B"))
    second.record(delta(2, "B"))
    second.close()

    sessions = list_sessions(db_url)
    assert [s.id for s in sessions] == [first_id, second_id]
    assert sessions[0].source_url == "wss://localhost:8765/trade-api/ws/v2"  # no credentials, no query
    with ReplayReader(db_url, first_id) as reader:
        assert reader.session().markets == ("A",)
        assert list(reader) == [delta(1, "A")]
        assert list(reader) == [delta(1, "A")]  # iterating again starts over
    with ReplayReader(db_url, second_id) as reader:
        assert list(reader) == [delta(1, "B"), delta(2, "B")]


def test_unknown_session_is_a_lookup_error(engine: Engine) -> None:
    with ReplayReader(engine, 12345) as reader:
        with pytest.raises(LookupError):
            reader.session()
        assert list(reader) == []


async def test_recorder_on_the_event_loop(engine: Engine, clock: ManualClock) -> None:
    recorder = Recorder(engine, clock, batch_size=50, flush_interval_s=0.01)
    session_id = recorder.start_session("sim", WS_URL, [])
    messages = synthetic_deltas(1_000)
    for i, message in enumerate(messages):
        recorder.record(message)
        if i % 100 == 0:
            await asyncio.sleep(0)
    await recorder.aclose()
    assert replay(engine, session_id) == messages


def test_public_url_strips_secrets() -> None:
    assert public_url("wss://u:p@api.elections.kalshi.com/trade-api/ws/v2?token=x#f") == (
        "wss://api.elections.kalshi.com/trade-api/ws/v2"
    )
