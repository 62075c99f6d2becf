"""Recorded episodes, pinned: a faster replay must not change what the trader or the exchange sees.

The DIRECT-vs-WIRE parity tests compare two plumbings over the *same* tape and engine, so a change
to the replay itself (how the tape reaches the engine, how a session is read, how the environment
drives the trader) passes them whatever it changes. Here seeded episodes over a recorded session --
random actions that cross and rest, with and without an invalidation in the recording, and a second
episode of the same environment (a reused session) -- are reduced to one SHA-256 over every
observation, reward and info, the trader's fills and orders at the exchange, every market's
volume, open interest and last price, the engine's id generator state and priority counter, and
the tape's metrics. The digests are literals: a refactoring never changes them; a change meant to
change the fill model updates them and says so in its commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import pytest
from tests.train.recorded_kit import Recorded, recorded_session

from kalshiflow.marketdata.replay import ReplayItem, ReplayReader
from kalshiflow.train import recorded_env
from kalshiflow.train.recorded_env import RecordedTradingEnv
from kalshiflow.train.recorded_venue import RecordedVenue
from kalshiflow.train.session import SessionConfig
from kalshiflow.train.venue import TRADER_ACCOUNT

PINNED = {
    ("plain", False): "d68d0007d8c5bcf5f2445f85d5ebefacb9507c1d80c9deccd0cdb09d4ad91c24",
    ("plain", True): "18904e8ffca298756e3bdff025e44879bda589db3f238990d148080283717f46",
    ("invalidated", False): "bfc864b019c04012d4d8c471de8da22591e234cac90a64f4a96fc541b719e266",
    ("invalidated", True): "fc411e61fa0aa579cd23073a735b0717c13a8b36af59728cd7a473ff7c507127",
}


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    with recorded_session("sqlite", str(tmp_path_factory.mktemp("rec"))) as rec:
        yield rec


@pytest.fixture(scope="module")
def invalidated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    with recorded_session("sqlite", str(tmp_path_factory.mktemp("inv")), invalidate_at_s=150.0) as rec:
        yield rec


def _episode(env: RecordedTradingEnv, sha: hashlib._Hash, seed: int) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed, options={"session": 0})
    sha.update(obs.tobytes())
    steps = 0
    while True:
        obs, reward, _, truncated, info = env.step(int(rng.integers(0, 5)))
        sha.update(obs.tobytes())
        sha.update(repr((reward, info["ticker"], info["now_ms"], info["equity_dollars"])).encode())
        steps += 1
        if truncated:
            break
    session = env._session
    assert session is not None
    venue = session.venue
    assert isinstance(venue, RecordedVenue)
    engine = venue.engine
    account = engine.accounts[TRADER_ACCOUNT]
    for f in account.fills:
        sha.update(
            repr(
                (f.trade_id, f.order_id, f.ticker, f.side, f.yes_price, f.count, f.fee, f.is_taker, f.ts_ms)
            ).encode()
        )
    for order_id in account.order_ids:
        o = engine.orders[order_id]
        sha.update(
            repr(
                (o.order_id, o.ticker, o.side, o.yes_price, o.status, o.remaining_count, o.fill_count)
            ).encode()
        )
    for ticker, market in sorted(engine.markets.items()):
        sha.update(repr((ticker, market.volume, market.open_interest, market.last_price)).encode())
    sha.update(
        repr((engine.rng.getstate(), engine._priority, len(engine.trades), engine.fees_collected)).encode()
    )
    sha.update(repr(venue.tape.metrics).encode())
    return steps, venue.tape.metrics.seals


def _digest(recorded: Recorded, passive: bool) -> tuple[str, int, int]:
    env = RecordedTradingEnv([(recorded.url, recorded.session_id)], config=SessionConfig(), passive=passive)
    sha = hashlib.sha256()
    try:
        (steps, seals), (more, _) = _episode(env, sha, 7), _episode(env, sha, 8)  # the second reuses the env
    finally:
        env.close()
    return sha.hexdigest(), steps + more, seals


@pytest.mark.parametrize("passive", [False, True], ids=["aggressive", "passive"])
@pytest.mark.parametrize("which", ["plain", "invalidated"])
def test_a_recorded_episode_is_unchanged(which: str, passive: bool, request: pytest.FixtureRequest) -> None:
    recorded: Recorded = request.getfixturevalue(which)
    digest, steps, seals = _digest(recorded, passive)
    assert steps > 500  # busy episodes: the digest covers a lot of behaviour
    assert (seals > 0) == (which == "invalidated")
    assert digest == PINNED[(which, passive)], f"{which} passive={passive}: {digest} over {steps} steps"


def test_a_streamed_session_replays_as_the_decoded_one(
    plain: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no room to decode (the environment's budget spent), every episode streams the session
    from the database, as a backtest does: the same episodes."""
    monkeypatch.setattr(recorded_env, "MAX_DECODED_MESSAGES", 0)
    digest, _, _ = _digest(plain, False)
    assert digest == PINNED[("plain", False)]


def test_an_environment_reads_each_session_once(plain: Recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = 0
    real_iter = ReplayReader.__iter__

    def counting_iter(self: ReplayReader) -> Iterator[ReplayItem]:
        nonlocal reads
        reads += 1
        return real_iter(self)

    monkeypatch.setattr(ReplayReader, "__iter__", counting_iter)
    env = RecordedTradingEnv([(plain.url, plain.session_id)], episode_s=30.0)
    try:
        for seed in range(3):
            env.reset(seed=seed)
            env.step(0)
        assert reads == 1
        session = env._session
        assert session is not None
        assert isinstance(session.venue, RecordedVenue)
        assert session.venue._reader is None  # replayed from memory
    finally:
        env.close()
