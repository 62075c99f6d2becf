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
and the same actions give the same episode. Database engines are opened once per URL and kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from sqlalchemy import Engine as DbEngine

from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.base import Action, Decision, Policy
from kalshiflow.policy.export_tools import DEFAULT_ACTION_MAP
from kalshiflow.store import db
from kalshiflow.trader.risk.daily_pnl import DAY_MS
from kalshiflow.train.env import Obs
from kalshiflow.train.recorded_venue import RecordedVenue, recording_span
from kalshiflow.train.session import SessionConfig, TradingSession

RECORDED_ENV_ID: Final = "kalshiflow/RecordedTrading-v1"
_MONEY_PER_DOLLAR: Final = 1_000_000


async def start_recorded_session(
    database: DbEngine, session_id: int, config: SessionConfig, policy: Policy | None = None
) -> TradingSession:
    """The trader (``TradingSession``) on one recorded session, calibrated and ready to trade."""
    span = recording_span(database, session_id)
    if span is None:
        raise LookupError(f"recording session {session_id} holds no messages")
    venue = RecordedVenue(database, span, config.balance)
    return await TradingSession.start(session_id, config, policy, venue=venue)


class RecordedTradingEnv(gym.Env[Obs, np.int64]):
    """One trader on one recorded session at a time; see the module docstring."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012  # gymnasium's class attribute

    def __init__(
        self,
        sessions: Sequence[tuple[str, int]],
        episode_s: float | None = None,
        config: SessionConfig | None = None,
        *,
        passive: bool = False,
        reward_scale_dollars: float = 1.0,
        incremental_mark: bool = True,
    ) -> None:
        if not sessions:
            raise ValueError("RecordedTradingEnv needs at least one (database URL, session id)")
        self.sessions = tuple((str(url), int(sid)) for url, sid in sessions)
        self.episode_ms = None if episode_s is None else round(episode_s * 1000)
        self.config = config or SessionConfig()
        self.passive = passive
        self.reward_scale = reward_scale_dollars * _MONEY_PER_DOLLAR
        self.incremental_mark = incremental_mark
        self._mark_key: tuple[int, int] | None = None
        self.actions: tuple[Action, ...] = DEFAULT_ACTION_MAP
        self.observation_space = spaces.Box(
            low=np.asarray(SCHEMA_V1.lows, dtype=np.float64),
            high=np.asarray(SCHEMA_V1.highs, dtype=np.float64),
            dtype=np.float64,
        )
        self.action_space = spaces.Discrete(len(self.actions))
        self._engines: dict[str, DbEngine] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: TradingSession | None = None
        self._queue: list[tuple[str, int]] = []
        self._current: tuple[str, int] | None = None
        self._last_obs: Obs = np.zeros(SCHEMA_V1.size, dtype=np.float64)
        self._equity = 0
        self._equity_now = 0
        self._end_ms = 0
        self.session_id: int | None = None

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Obs, dict[str, Any]]:
        super().reset(seed=seed)
        self._close_session()
        index = (options or {}).get("session")
        if index is None:
            index = int(self.np_random.integers(len(self.sessions)))
        url, session_id = self.sessions[int(index)]
        database = self._engines.get(url)
        if database is None:
            database = self._engines[url] = db.open_engine(url)
        self.session_id = session_id
        loop = self._loop = asyncio.new_event_loop()
        session = self._session = loop.run_until_complete(
            start_recorded_session(database, session_id, self.config)
        )
        venue = session.venue
        assert isinstance(venue, RecordedVenue)
        self._end_ms = venue.end_ms
        if self.episode_ms is not None:
            self._end_ms = min(self._end_ms, session.now_ms() + self.episode_ms)
        self._queue = []
        self._current = None
        self._mark_key = None
        self._equity = self._mark(session)
        loop.run_until_complete(self._next_observation())
        return self._last_obs.copy(), self._info()

    def step(self, action: np.int64 | int) -> tuple[Obs, float, bool, bool, dict[str, Any]]:
        session, loop = self._session, self._loop
        if session is None or loop is None:
            raise RuntimeError("call reset() before step()")
        truncated = loop.run_until_complete(self._act_and_observe(session, self.actions[int(action)]))
        equity = self._mark(session)
        reward = (equity - self._equity) / self.reward_scale
        self._equity = equity
        return self._last_obs.copy(), reward, False, truncated, self._info()

    def close(self) -> None:
        self._close_session()
        for database in self._engines.values():
            database.dispose()
        self._engines.clear()

    # ------------------------------------------------------------------ internals
    async def _act_and_observe(self, session: TradingSession, chosen: Action) -> bool:
        """One step inside the loop: the decision on the current market, then the next observation
        (one ``run_until_complete`` a step instead of two: the loop's entry costs as much as a frame)."""
        if self._current is not None:
            ticker, first_ms = self._current
            decision = Decision(chosen, "agent", passive=self.passive and chosen is not Action.HOLD)
            await session.act(ticker, first_ms, decision)
        return await self._next_observation()

    async def _next_observation(self) -> bool:
        """Move to the next market the actor would decide on; True when the episode's time is up."""
        session = self._session
        assert session is not None
        self._current = None
        while True:
            while self._queue:
                ticker, first_ms = self._queue.pop(0)
                observation = await session.prepare(ticker)
                if observation is not None:
                    self._current = (ticker, first_ms)
                    self._last_obs = np.asarray(observation, dtype=np.float64)
                    return False
            await session.after_decisions()
            if session.now_ms() >= self._end_ms:
                return True
            session.advance()
            self._queue = session.dirty()

    def _mark(self, session: TradingSession) -> int:
        """The trader's equity (Money), recomputed only when it may have changed.

        The mark depends on the ledger, the books and the markets, which change only when the
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
            self._equity_now = int(session.equity())
        return self._equity_now

    def _info(self) -> dict[str, Any]:
        session = self._session
        return {
            "session_id": self.session_id,
            "ticker": None if self._current is None else self._current[0],
            "now_ms": None if session is None else session.now_ms(),
            "equity_dollars": self._equity / _MONEY_PER_DOLLAR,
        }

    def _close_session(self) -> None:
        session, loop = self._session, self._loop
        self._session = self._loop = None
        if loop is None:
            return
        if session is not None:
            loop.run_until_complete(session.aclose())
        loop.close()


def register_recorded() -> None:
    """Register ``kalshiflow/RecordedTrading-v1`` with gymnasium (idempotent)."""
    if RECORDED_ENV_ID not in gym.registry:
        gym.register(id=RECORDED_ENV_ID, entry_point="kalshiflow.train.recorded_env:RecordedTradingEnv")
