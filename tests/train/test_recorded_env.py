"""The environment over recorded sessions: gymnasium's checker, determinism, the vector API, paused
trading where the recording is invalid, and the parity of its observations with the live actor path
over the same recording (same decisions -> the same bits)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from sqlalchemy import insert, select
from tests.store.store_kit import BACKENDS
from tests.train.recorded_kit import Recorded, recorded_session

from kalshiflow.exchange.ws_models import OrderbookSnapshot
from kalshiflow.features import SCHEMA_V1
from kalshiflow.marketdata.book import OrderBook
from kalshiflow.marketdata.replay import RecordedInvalidation, ReplayReader
from kalshiflow.policy.base import Action, Decision
from kalshiflow.policy.random_policy import RandomPolicy
from kalshiflow.store import db
from kalshiflow.store.models import BookDeltaRow, GapReason, RecordingGapRow
from kalshiflow.train.recorded_env import (
    RECORDED_ENV_ID,
    RecordedTradingEnv,
    register_recorded,
    start_recorded_session,
)
from kalshiflow.train.recorded_venue import RecordedVenue, recording_span
from kalshiflow.train.session import SessionConfig

CONFIG = SessionConfig()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    with recorded_session("sqlite", str(tmp_path_factory.mktemp("rec"))) as rec:
        yield rec


@pytest.fixture(params=BACKENDS)
def recorded_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Recorded]:
    with recorded_session(request.param, str(tmp_path)) as rec:
        yield rec


def _env(rec: Recorded, episode_s: float | None = None) -> RecordedTradingEnv:
    return RecordedTradingEnv([(rec.url, rec.session_id)], episode_s=episode_s, config=CONFIG)


def _rollout(env: RecordedTradingEnv, actions: Sequence[int]) -> tuple[list[bytes], list[float]]:
    obs, _ = env.reset(seed=0)
    seen, rewards = [obs.tobytes()], []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        seen.append(obs.tobytes())
        rewards.append(reward)
        assert not terminated
        if truncated:
            break
    return seen, rewards


def test_gymnasium_check_env_passes(recorded: Recorded) -> None:
    env = _env(recorded, 120.0)
    try:
        check_env(env, skip_render_check=True)
    finally:
        env.close()


def test_same_session_and_actions_give_the_same_episode(recorded: Recorded) -> None:
    actions = [int(a) for a in np.random.default_rng(3).integers(0, 5, size=400)]
    first, second = _env(recorded), _env(recorded)
    try:
        one, two = _rollout(first, actions), _rollout(second, actions)
    finally:
        first.close()
        second.close()
    assert one == two
    assert len(one[0]) > 50
    assert any(r != 0.0 for r in one[1])  # the actions traded: fees and marks moved the equity


def test_an_episode_ends_with_the_recording_and_rewards_follow_equity(recorded: Recorded) -> None:
    env = _env(recorded)
    rng = np.random.default_rng(1)
    try:
        obs, info = env.reset(seed=1)
        start = info["equity_dollars"]
        total, truncated = 0.0, False
        while not truncated:
            assert env.observation_space.contains(obs)
            obs, reward, _, truncated, info = env.step(int(rng.integers(0, 5)))
            total += reward
        database = db.open_engine(recorded.url)
        span = recording_span(database, recorded.session_id)
        database.dispose()
        assert span is not None
        assert info["now_ms"] >= span.start_ms + span.duration_ms  # the whole recording was replayed
        assert total == pytest.approx(info["equity_dollars"] - start, abs=1e-9)
    finally:
        env.close()


class _Recording:
    """A seeded random policy that remembers what it saw and did (the live actor's policy)."""

    def __init__(self, seed: int) -> None:
        self.inner = RandomPolicy(SCHEMA_V1, seed)
        self.name, self.schema_hash = "recording", SCHEMA_V1.hash
        self.seen: list[bytes] = []
        self.actions: list[Action] = []

    def decide(self, observation: Sequence[float]) -> Decision:
        decision = self.inner.decide(observation)
        self.seen.append(np.asarray(observation, dtype=np.float64).tobytes())
        self.actions.append(decision.action)
        return decision


def test_environment_observations_equal_the_live_actor_path_bit_for_bit(recorded_any: Recorded) -> None:
    """The live path (``Actor.drain`` with a policy) over the recording, and the environment fed the
    same decisions over the same recording (SQLite, and PostgreSQL when configured)."""
    policy = _Recording(seed=4)
    database = db.open_engine(recorded_any.url)

    async def live() -> int:
        session = await start_recorded_session(database, recorded_any.session_id, CONFIG, policy)
        try:
            venue = session.venue
            assert isinstance(venue, RecordedVenue)
            await session.run_actor(venue.end_ms)
            return session.actor.metrics.orders_sent
        finally:
            await session.aclose()

    try:
        orders_sent = asyncio.run(live())
    finally:
        database.dispose()
    assert len(policy.seen) > 50
    assert orders_sent > 0  # the stream includes our own orders, fills and position features
    env = _env(recorded_any)
    try:
        obs, _ = env.reset(seed=0)
        seen = [obs.tobytes()]
        for action in policy.actions[:-1]:
            obs, _, _, truncated, _ = env.step(env.actions.index(action))
            assert not truncated
            seen.append(obs.tobytes())
    finally:
        env.close()
    assert seen == policy.seen


def test_trading_pauses_in_an_invalidated_market_until_its_next_snapshot(tmp_path: Path) -> None:
    with recorded_session("sqlite", str(tmp_path), invalidate_at_s=120.0) as rec:
        ticker = rec.recording.invalidated
        assert ticker is not None
        database = db.open_engine(rec.url)
        try:
            span = recording_span(database, rec.session_id)
            assert span is not None
            invalid_from = resumed_at = None
            last_ms = span.start_ms
            with ReplayReader(database, rec.session_id) as reader:
                for item in reader:
                    if isinstance(item, OrderbookSnapshot):
                        last_ms = max(last_ms, span.time_ms(item.received_ns))
                        if invalid_from is not None and resumed_at is None and item.ticker == ticker:
                            resumed_at = last_ms
                    elif isinstance(item, RecordedInvalidation) and ticker in item.tickers:
                        invalid_from = last_ms
                    elif hasattr(item, "received_ns"):
                        last_ms = max(last_ms, span.time_ms(item.received_ns))
            assert invalid_from is not None
            assert resumed_at is not None
            observed: list[tuple[str, int]] = []
            validity: list[tuple[int, bool]] = []

            async def live() -> None:
                session = await start_recorded_session(
                    database, rec.session_id, CONFIG, RandomPolicy(SCHEMA_V1, 2)
                )
                observe = session.observer.observe

                def watching(name: str, book: OrderBook) -> Sequence[float] | None:
                    observed.append((name, session.now_ms()))
                    return observe(name, book)

                session.observer.observe = watching  # type: ignore[method-assign]

                def check_validity(now_ms: int) -> None:
                    book = session.books.book(ticker)
                    validity.append((now_ms, book is not None and book.valid))

                session.venue.on_advanced = check_validity
                try:
                    assert isinstance(session.venue, RecordedVenue)
                    await session.run_actor(session.venue.end_ms)
                finally:
                    await session.aclose()

            asyncio.run(live())
        finally:
            database.dispose()
    # The trader's book of that market is invalid from the invalidation to the next snapshot only.
    assert all(valid for ms, valid in validity if ms < invalid_from)
    assert not any(valid for ms, valid in validity if invalid_from <= ms < resumed_at)
    assert all(valid for ms, valid in validity if ms >= resumed_at)
    assert len([ms for ms, _ in validity if invalid_from <= ms < resumed_at]) > 10
    times = [ms for name, ms in observed if name == ticker]
    assert any(ms < invalid_from for ms in times)  # decided on before the invalidation
    assert any(ms >= resumed_at for ms in times)  # and again from its next snapshot
    assert not [ms for ms in times if invalid_from <= ms < resumed_at]  # never in between


def test_the_recorded_environment_registers_and_steps_under_the_vector_api(recorded: Recorded) -> None:
    register_recorded()
    register_recorded()  # idempotent
    assert RECORDED_ENV_ID in gym.registry
    vec = gym.make_vec(
        RECORDED_ENV_ID,
        num_envs=2,
        vectorization_mode="sync",
        sessions=[(recorded.url, recorded.session_id)],
        episode_s=60.0,
        config=CONFIG,
    )
    try:
        obs, _ = vec.reset(seed=0)
        assert obs.shape == (2, SCHEMA_V1.size)
        for _ in range(20):
            obs, _, terminated, _, _ = vec.step(np.array([0, 1]))
            assert obs.shape == (2, SCHEMA_V1.size)
            assert not terminated.any()
    finally:
        vec.close()


def test_sessions_are_required() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RecordedTradingEnv([])


def test_a_gap_in_the_recording_pauses_every_market_until_its_next_snapshot(tmp_path: Path) -> None:
    with recorded_session("sqlite", str(tmp_path), minutes=4.0) as rec:
        database = db.open_engine(rec.url)
        try:
            span = recording_span(database, rec.session_id)
            assert span is not None
            # A gap (messages lost) in the middle of the session; the recording has no snapshot after it.
            with database.begin() as connection:
                deltas = BookDeltaRow.__table__
                middle = connection.execute(
                    select(deltas.c.seq_no, deltas.c.received_ns)
                    .where(deltas.c.session_id == rec.session_id)
                    .order_by(deltas.c.seq_no)
                    .offset(100)
                    .limit(1)
                ).one()
                connection.execute(
                    insert(RecordingGapRow.__table__).values(
                        session_id=rec.session_id,
                        after_seq_no=middle.seq_no,
                        dropped_count=3,
                        reason=GapReason.BUFFER_OVERFLOW.value,
                        at_ms=span.time_ms(middle.received_ns),
                    )
                )
            gap_ms = span.time_ms(middle.received_ns)
            validity: list[tuple[int, int]] = []

            async def live() -> None:
                session = await start_recorded_session(
                    database, rec.session_id, CONFIG, RandomPolicy(SCHEMA_V1, 3)
                )

                def count_valid(now_ms: int) -> None:
                    books = [session.books.book(t) for t in session.books.tickers]
                    validity.append((now_ms, sum(1 for b in books if b is not None and b.valid)))

                session.venue.on_advanced = count_valid
                try:
                    assert isinstance(session.venue, RecordedVenue)
                    await session.run_actor(session.venue.end_ms)
                finally:
                    await session.aclose()

            asyncio.run(live())
        finally:
            database.dispose()
    assert all(valid > 0 for ms, valid in validity if ms < gap_ms)
    assert not any(valid for ms, valid in validity if ms > gap_ms)  # no snapshot follows the gap
    assert len([ms for ms, _ in validity if ms > gap_ms]) > 10
