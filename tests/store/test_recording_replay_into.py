"""Standalone replay of a recording into a BookStore (markets, invalidations, gaps) and the
``KALSHIFLOW_DB`` default."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine
from tests.store.recording_kit import CENT, WS_URL, comparable_metrics, ladders
from tests.store.store_kit import START_MS, Message, delta, simulated_stream, snapshot

from kalshiflow.clock import ManualClock
from kalshiflow.domain.grid import PriceGrid
from kalshiflow.domain.orders import OutcomeSide
from kalshiflow.domain.units import Count
from kalshiflow.exchange.ws_models import OrderbookDelta, OrderbookSnapshot
from kalshiflow.marketdata.bookstore import BookStore
from kalshiflow.marketdata.recorder import Recorder
from kalshiflow.marketdata.replay import (
    ReplayReader,
    ReplaySummary,
    replay_into,
)
from kalshiflow.sim.universe import generate_listings
from kalshiflow.store import db


def _record_live(
    recorder: Recorder, live: BookStore, grids: dict[str, PriceGrid], messages: list[Message]
) -> None:
    """Feed ``live`` the way MarketDataFeed + RecordingSink do, recording every step."""
    for ticker, grid in grids.items():
        live.register(ticker, grid)
        recorder.record_market(ticker, grid)
    for i, message in enumerate(messages):
        if isinstance(message, OrderbookSnapshot):
            live.on_snapshot(message)
        else:
            live.on_delta(message)
        recorder.record(message)
        if i % 997 == 500:  # the stream distrusts a book now and then (sequence gap)
            tickers = [message.ticker]
            live.on_invalid(tickers, "sequence gap")
            recorder.record_invalidation(tickers, "sequence gap")


def test_replay_into_rebuilds_books_and_validity_with_no_outside_grids(
    engine: Engine, clock: ManualClock
) -> None:
    messages = simulated_stream()
    grids = {listing.market.ticker: listing.market.grid for listing in generate_listings(3, 6, START_MS)}
    assert {m.ticker for m in messages} == set(grids)
    live = BookStore(ManualClock())
    recorder = Recorder(engine, clock, batch_size=256, flush_interval_s=0.01)
    session_id = recorder.start_session("sim", WS_URL, sorted(grids))
    _record_live(recorder, live, grids, messages)
    # A bad delta (a negative size) breaks a book live; replayed it must break at the same point.
    broken = sorted(grids)[0]
    bad = OrderbookDelta(
        sid=1,
        seq=len(messages) + 1,
        ticker=broken,
        side=OutcomeSide.YES,
        price=grids[broken].tradable[0],
        delta=Count(-(10**9)),
    )
    assert live.is_valid(broken)
    live.on_delta(bad)
    recorder.record(bad)
    recorder.close()

    replayed = BookStore(ManualClock())
    with ReplayReader(engine, session_id, chunk_size=333) as reader:
        summary = replay_into(replayed, reader)
    assert summary == ReplaySummary(
        markets=6,
        snapshots=sum(isinstance(m, OrderbookSnapshot) for m in messages),
        deltas=sum(isinstance(m, OrderbookDelta) for m in messages) + 1,
        invalidations=recorder.metrics().invalidations_written,
        gaps=0,
    )
    assert summary.invalidations > 0
    assert summary.messages == recorder.metrics().messages_seen
    assert ladders(replayed) == ladders(live)
    assert {t: replayed.is_valid(t) for t in grids} == {t: live.is_valid(t) for t in grids}
    assert not replayed.is_valid(broken)
    assert comparable_metrics(replayed) == comparable_metrics(live)
    for ticker, grid in grids.items():
        book = replayed.book(ticker)
        assert book is not None
        assert book.grid == grid


def test_a_gap_invalidates_every_book_of_the_session_until_its_next_snapshot(
    engine: Engine, clock: ManualClock
) -> None:
    gate = threading.Event()
    recorder = Recorder(engine, clock, batch_size=10, flush_interval_s=0.01, max_buffer=5, writer_gate=gate)
    session_id = recorder.start_session("sim", WS_URL, ["A", "B"])
    recorder.record_market("A", CENT)
    recorder.record_market("B", CENT)
    recorder.record(snapshot(1, 1, "A", [(4_000, 500)], []))
    recorder.record(snapshot(1, 2, "B", [(3_000, 200)], []))
    recorder.record(delta(3, "A", price=4_000, change=100))
    assert not recorder.record(delta(4, "B", price=3_000, change=100))  # lost: buffer full
    gate.set()
    assert recorder.flush(timeout_s=30)
    recorder.record(delta(5, "A", price=4_000, change=100))  # ignored on replay: A is distrusted
    recorder.record(snapshot(1, 6, "B", [(3_000, 300)], []))  # B is trusted again
    recorder.close()

    replayed = BookStore(ManualClock())
    with ReplayReader(engine, session_id) as reader:
        summary = replay_into(replayed, reader)
    assert (summary.gaps, summary.markets, summary.messages) == (1, 2, 5)
    assert not replayed.is_valid("A")
    a = replayed.book("A")
    assert a is not None
    assert "recording gap" in (a.invalid_reason or "")
    assert replayed.is_valid("B")
    assert ladders(replayed)["B"] == (((3_000, 300),), ())
    metrics = replayed.metrics()
    assert (metrics.invalidations, metrics.deltas_ignored) == (2, 1)


def test_a_market_registered_again_starts_a_fresh_book(engine: Engine, clock: ManualClock) -> None:
    recorder = Recorder(engine, clock, flush_interval_s=0.01)
    session_id = recorder.start_session("sim", WS_URL, ["A"])
    recorder.record_market("A", CENT)
    recorder.record(snapshot(1, 1, "A", [(4_000, 500)], []))
    recorder.record_invalidation(["A"], "unsubscribed")
    recorder.record(snapshot(1, 2, "A", [(4_000, 600)], []))  # in flight after the unsubscribe
    recorder.record_market("A", CENT)  # subscribed again: fresh book until its snapshot
    recorder.close()
    replayed = BookStore(ManualClock())
    with ReplayReader(engine, session_id) as reader:
        replay_into(replayed, reader)
    assert not replayed.is_valid("A")


# ------------------------------------------------------------------ KALSHIFLOW_DB


def test_default_db_url_reads_kalshiflow_db() -> None:
    assert db.default_db_url({}) == db.DEFAULT_DB_URL
    assert db.default_db_url({"KALSHIFLOW_DB": "  "}) == db.DEFAULT_DB_URL
    assert db.default_db_url({"KALSHIFLOW_DB": " sqlite:///x.db "}) == "sqlite:///x.db"


def test_default_db_url_reads_only_the_variables_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KALSHIFLOW_DB", "postgresql+psycopg://u@h/d")
    assert db.default_db_url({}) == db.DEFAULT_DB_URL
