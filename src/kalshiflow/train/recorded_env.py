"""The gymnasium environment over recorded sessions: ``TradingEnv``'s contract on a replayed book.

Same API, observation, actions and reward as ``train.env.TradingEnv`` (read its docstring): a step
is one decision of the actor on a market whose book changed; the observation is the schema-v1
vector the live observer computes (float64, bit for bit what ``run`` would feed a policy); the
five actions are priced and sent by the actor through the risk gate and execution; the reward is
the change in mark-to-market equity after fees, in dollars / ``reward_scale_dollars``. The market
is a recorded session replayed by ``RecordedVenue`` (the backtest's fill model, see
``kalshiflow.sim.recorded.fill_model``) instead of the seeded simulator.

Episodes. ``reset`` picks one of ``sessions`` (a recording database URL and a session id each)
with the environment's seeded ``np_random``, or takes ``options["session"]`` (an index into
``sessions``), and replays it from its start; an episode is truncated at the recording's end or
after ``episode_s`` simulated seconds, whichever comes first (never terminated). The same session
and the same actions give the same episode. Database engines are opened once per URL and kept, and
each session is read and decoded once (``decode_recording``) and replayed from memory by every
later episode, while the sessions held stay under ``MAX_DECODED_MESSAGES`` messages in all (a
session past that is streamed from the database each episode, as a backtest does).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any, Final

import gymnasium as gym
from sqlalchemy import Engine as DbEngine

from kalshiflow.policy.base import Policy
from kalshiflow.store import db
from kalshiflow.trader.risk.daily_pnl import DAY_MS
from kalshiflow.train.env import RewardMark, SessionEnv
from kalshiflow.train.recorded_venue import (
    MAX_DECODED_MESSAGES,
    DecodedRecording,
    RecordedVenue,
    RecordingSpan,
    decode_recording,
    recording_span,
)
from kalshiflow.train.session import SessionConfig, TradingSession

RECORDED_ENV_ID: Final = "kalshiflow/RecordedTrading-v1"


async def start_recorded_session(
    database: DbEngine,
    session_id: int,
    config: SessionConfig,
    policy: Policy | None = None,
    *,
    span: RecordingSpan | None = None,
    decoded: DecodedRecording | None = None,
) -> TradingSession:
    """The trader (``TradingSession``) on one recorded session, calibrated and ready to trade.
    ``span`` and ``decoded``: the session's, when the caller already has them."""
    if decoded is not None:
        span = decoded.span
    if span is None:
        span = _span(database, session_id)
    venue = RecordedVenue(database, span, config.balance, config.plumbing, decoded)
    return await TradingSession.start(session_id, config, policy, venue=venue)


def settle_decoded_heap() -> None:
    """Move what is alive now -- a session just decoded above all -- out of the collector's
    generations (``gc.collect`` first, so no garbage is kept; ``run`` does the same after startup).

    Why: a decoded session is tens of thousands of tracked objects (its prices, counts and tuples)
    kept for the environment's life, and every full or middle collection walked them again: ~6 %
    of a 20-market episode with random actions went to the collector, ~2.5 % after. Frozen objects
    are still freed by their reference counts (the decoded values hold no cycles); only a cycle
    among them would stay, so this runs once per decoded session, never per episode.
    """
    gc.collect()
    gc.freeze()


def _span(database: DbEngine, session_id: int) -> RecordingSpan:
    span = recording_span(database, session_id)
    if span is None:
        raise LookupError(f"recording session {session_id} holds no messages")
    return span


class RecordedTradingEnv(SessionEnv):
    """One trader on one recorded session at a time; see the module docstring."""

    def __init__(
        self,
        sessions: Sequence[tuple[str, int]],
        episode_s: float | None = None,
        config: SessionConfig | None = None,
        *,
        passive: bool = False,
        reward_scale_dollars: float = 1.0,
        incremental_mark: bool = True,
        reward_mark: RewardMark = RewardMark.EXIT,
    ) -> None:
        if not sessions:
            raise ValueError("RecordedTradingEnv needs at least one (database URL, session id)")
        super().__init__(
            config, passive=passive, reward_scale_dollars=reward_scale_dollars, reward_mark=reward_mark
        )
        self.sessions = tuple((str(url), int(sid)) for url, sid in sessions)
        self.episode_ms = None if episode_s is None else round(episode_s * 1000)
        self.incremental_mark = incremental_mark
        self._mark_key: tuple[int, int] | None = None
        self._equity_now = 0
        self._engines: dict[str, DbEngine] = {}
        # Per session: its span and, while they fit in the budget, its decoded messages.
        self._recordings: dict[tuple[str, int], tuple[RecordingSpan, DecodedRecording | None]] = {}
        self._decoded_messages = 0
        self.session_id: int | None = None

    async def _start_session(self, options: dict[str, Any]) -> tuple[TradingSession, int]:
        index = options.get("session")
        if index is None:
            index = int(self.np_random.integers(len(self.sessions)))
        url, session_id = self.sessions[int(index)]
        database = self._engines.get(url)
        if database is None:
            database = self._engines[url] = db.open_engine(url)
        self.session_id = session_id
        known = self._recordings.get((url, session_id))
        if known is None:
            span = _span(database, session_id)
            decoded = decode_recording(database, span, MAX_DECODED_MESSAGES - self._decoded_messages)
            if decoded is not None:
                self._decoded_messages += span.messages
                settle_decoded_heap()
            known = self._recordings[(url, session_id)] = (span, decoded)
        span, decoded = known
        session = await start_recorded_session(database, session_id, self.config, span=span, decoded=decoded)
        venue = session.venue
        assert isinstance(venue, RecordedVenue)
        end_ms = venue.end_ms
        if self.episode_ms is not None:
            end_ms = min(end_ms, session.now_ms() + self.episode_ms)
        self._mark_key = None
        return session, end_ms

    def _source_info(self) -> dict[str, Any]:
        return {"session_id": self.session_id}

    def close(self) -> None:
        super().close()
        for database in self._engines.values():
            database.dispose()
        self._engines.clear()
        self._recordings.clear()
        self._decoded_messages = 0

    def _mark(self, session: TradingSession) -> int:
        """The equity (Money) ``reward_mark`` gives, recomputed only when it may have changed.

        Either mark depends on the ledger (our orders among it), the books and the markets, which change only when the
        trader learns something -- a frame or a REST response, or a book the venue invalidated
        (``state_version``); ``pnl_view`` also reads the UTC day (its daily realized P&L starts at
        a day's first reading), so a new day recomputes too. Otherwise the last mark is the value
        ``pnl_view`` would return, and skipping it changes no state: its peak update would be a
        no-op. ``incremental_mark=False`` recomputes every step (the tests compare the two).
        """
        venue = session.venue
        key = (venue.state_version(), session.now_ms() // DAY_MS)
        if not self.incremental_mark or key != self._mark_key:
            self._mark_key = key
            self._equity_now = self._equity_of(session)
        return self._equity_now


def register_recorded() -> None:
    """Register ``kalshiflow/RecordedTrading-v1`` with gymnasium (idempotent)."""
    if RECORDED_ENV_ID not in gym.registry:
        gym.register(id=RECORDED_ENV_ID, entry_point="kalshiflow.train.recorded_env:RecordedTradingEnv")
