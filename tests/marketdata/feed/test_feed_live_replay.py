"""The feed keeps live books equal to the simulator's through WS faults, and the recording alone
(grids, messages, invalidations; nothing borrowed from the live feed) replays into identical books
with identical validity (SQLite always; PostgreSQL when ``KALSHIFLOW_TEST_PG_URL`` is set)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.marketdata.feed.feed_kit import (
    advance,
    book_ladders,
    comparable_metrics,
    engine_ladders,
    recorded_grids,
    replay_session,
    running_feed,
    sim_on_manual_clock,
    store_ladders,
    wait_books_match,
)
from tests.store.store_kit import fresh_database_url

from kalshiflow.marketdata.discovery import DiscoveryConfig
from kalshiflow.marketdata.feed import FeedConfig
from kalshiflow.marketdata.recorder import Recorder
from kalshiflow.marketdata.replay import list_sessions
from kalshiflow.store.models import SessionStatus

STEP_S = 5.0  # simulated seconds per scheduler step: enough trading per step to move every book
FAULT_ROUNDS = (
    {"ws_seq_gap_rate": 0.05},
    {"ws_drop_rate": 0.05},
    {"ws_duplicate_rate": 0.05},
)
NO_FAULTS = {"ws_seq_gap_rate": 0.0, "ws_drop_rate": 0.0, "ws_duplicate_rate": 0.0}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_live_books_follow_the_simulator_through_faults_and_replay_identically(
    backend: str, tmp_path: Path
) -> None:
    with fresh_database_url(backend, str(tmp_path)) as db_url:
        async with sim_on_manual_clock(tmp_path) as (handle, clock):
            recorder = Recorder(db_url, clock)
            config = FeedConfig(discovery=DiscoveryConfig(top_n=4), refresh_s=0)
            async with running_feed(handle, clock, config, recorder) as feed:
                assert len(feed.tickers) == 4
                await feed.wait_books_valid()
                await wait_books_match(feed, handle)
                for faults in FAULT_ROUNDS:
                    handle.sim.faults.update(faults)
                    await advance(handle, clock, STEP_S, steps=8)
                    handle.sim.faults.update(NO_FAULTS)
                    # fault-free traffic lets a lost last message show as a gap (or hit the deadline)
                    await advance(handle, clock, STEP_S)
                    await wait_books_match(feed, handle)
                handle.sim.faults.trigger_ws_disconnect()
                await feed.stream.wait_for(lambda: feed.progress().reconnects >= 1, 10.0)
                await advance(handle, clock, STEP_S, steps=4)
                await wait_books_match(feed, handle)
                progress = feed.progress()
                live = {t: store_ladders(feed.books, t) for t in feed.tickers}
            # After stop (the stream is closed): everything the live store saw is recorded.
            live_validity = {t: feed.books.is_valid(t) for t in feed.books.tickers}
            live_metrics = comparable_metrics(feed.books)
            assert progress.gaps > 0, "the injected faults never showed"
            assert progress.resyncs > 0
            assert progress.reconnects >= 1
            assert live == {t: engine_ladders(handle, t) for t in live}

        session_id = recorder.session_id
        assert session_id is not None
        (session,) = list_sessions(db_url)
        assert session.status is SessionStatus.ENDED
        assert session.messages_seen == progress.recorded > 100
        assert session.messages_dropped == 0
        assert recorded_grids(db_url, session_id) == feed.grids
        replayed, summary = replay_session(db_url, session_id)
        assert summary.messages == session.messages_seen
        assert (summary.markets, summary.gaps) == (4, 0)
        assert summary.invalidations > 0, "the stream's invalidations were not recorded"
        # Closing the stream distrusted every book (disconnected), live and so replayed: compare the
        # ladders as they are, and validity separately.
        assert {t: book_ladders(replayed, t) for t in live} == live
        assert {t: replayed.is_valid(t) for t in replayed.tickers} == live_validity
        # Every snapshot, delta and invalidation had the same effect: valid -> invalid transitions,
        # deltas ignored on invalid books, integrity errors all match the live store's.
        assert comparable_metrics(replayed) == live_metrics
