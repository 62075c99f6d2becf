"""The feed keeps live books equal to the simulator's through WS faults, and the recording replays
into identical books (SQLite always; PostgreSQL when ``KALSHIFLOW_TEST_PG_URL`` is set)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.marketdata_feed.feed_kit import (
    advance,
    engine_ladders,
    replay_into_store,
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
        replayed, messages = replay_into_store(db_url, session_id, feed)
        assert messages == session.messages_seen
        assert {t: store_ladders(replayed, t) for t in live} == live
