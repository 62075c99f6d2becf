"""The gymnasium environment: the trader's decisions on the in-process simulator, one step each.

Why this shape. Live, the actor decides once for every market whose book changed, on the newest
book, through the risk gate and execution. The environment keeps exactly that cadence and path
(``TradingSession``): a step is one such decision. Its observation is the schema-v1 vector the
live observer computes for that market (float64, bit for bit what ``run`` would feed a policy);
its action is one of the five policy actions, priced and sent by the actor (touch price, or
post-only inside the touch with ``passive=True``) and subject to every risk check; its reward is
the change in mark-to-market equity after fees since the previous step, in dollars divided by
``reward_scale_dollars`` (a float derived from exact ``Money``), with open positions marked as
``reward_mark`` says (``RewardMark``). Between decisions the simulator
runs on its own clock in steps of ``step_ms``: participants trade, exits and calibration run.

Episodes. ``reset`` draws a simulator seed from ``seeds`` with the environment's seeded
``np_random`` (or takes ``options["sim_seed"]``) and starts a fresh session; an episode is
truncated after ``episode_s`` simulated seconds (never terminated: the market goes on). The same
seed and the same actions give the same episode. Training seeds (default 1000-1999) are disjoint
from the evaluation seeds the backtest uses (1-999).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Final

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.base import Action, Decision
from kalshiflow.policy.export_tools import DEFAULT_ACTION_MAP
from kalshiflow.train.session import SessionConfig, TradingSession

ENV_ID: Final = "kalshiflow/Trading-v1"
TRAIN_SEEDS: Final = range(1000, 2000)
_MONEY_PER_DOLLAR: Final = 1_000_000

Obs = npt.NDArray[np.float64]


class RewardMark(StrEnum):
    """Where the reward values open positions; cash, reserved cash and realized P&L are the same.

    * ``EXIT``: at the exit price (the bid of the side held, after the estimated exit fee) -- the
      trader's own equity (``pnl_view``). A passive quote's spread shows only when the position is
      unwound, often hundreds of decisions after the fill, by when the discount has eaten it: PPO
      refining a market maker on it learned to quote less (issue 12).
    * ``MID``: at the mid of the public book (without our own resting orders, so our quote cannot
      move our mark), after the same estimated exit fee (``TradingSession.equity_at_mid``). The
      spread a passive fill captures is credited at the fill; adverse selection shows as the mid
      moves against the position afterwards.

    Both sum to the same P&L once every position is closed: they differ only in when it is credited.
    """

    EXIT = "exit"
    MID = "mid"


class SessionEnv(gym.Env[Obs, np.int64]):
    """What every trading environment shares: the spaces, the step, the decision cadence and the
    reward. A subclass says where an episode's session comes from (``_start_session``) and what
    names it in ``info`` (``_source_info``)."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012  # gymnasium's class attribute

    def __init__(
        self,
        config: SessionConfig | None,
        *,
        passive: bool,
        reward_scale_dollars: float,
        reward_mark: RewardMark = RewardMark.EXIT,
    ) -> None:
        self.config = config or SessionConfig()
        self.passive = passive
        self.reward_mark = RewardMark(reward_mark)
        self.reward_scale = reward_scale_dollars * _MONEY_PER_DOLLAR
        self.actions: tuple[Action, ...] = DEFAULT_ACTION_MAP
        self.observation_space = spaces.Box(
            low=np.asarray(SCHEMA_V1.lows, dtype=np.float64),
            high=np.asarray(SCHEMA_V1.highs, dtype=np.float64),
            dtype=np.float64,
        )
        self.action_space = spaces.Discrete(len(self.actions))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: TradingSession | None = None
        self._queue: list[tuple[str, int]] = []
        self._current: tuple[str, int] | None = None
        self._last_obs: Obs = np.zeros(SCHEMA_V1.size, dtype=np.float64)
        self._equity = 0
        self._end_ms = 0

    # ------------------------------------------------------------------ what a subclass provides
    async def _start_session(self, options: dict[str, Any]) -> tuple[TradingSession, int]:
        """A fresh, calibrated session for the next episode and the time (ms) its episode ends."""
        raise NotImplementedError

    def _source_info(self) -> dict[str, Any]:
        """What names the episode's market in ``info`` (a simulator seed, a recorded session)."""
        raise NotImplementedError

    def _mark(self, session: TradingSession) -> int:
        """The mark-to-market equity (Money) after this step, as ``reward_mark`` values positions."""
        return self._equity_of(session)

    def _equity_of(self, session: TradingSession) -> int:
        if self.reward_mark is RewardMark.MID:
            return int(session.equity_at_mid())
        return int(session.equity())

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Obs, dict[str, Any]]:
        super().reset(seed=seed)
        self._close_session()
        loop = self._loop = asyncio.new_event_loop()
        session, self._end_ms = loop.run_until_complete(self._start_session(options or {}))
        self._session = session
        self._queue = []
        self._current = None
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

    # ------------------------------------------------------------------ internals
    async def _act_and_observe(self, session: TradingSession, chosen: Action) -> bool:
        """The chosen action on the current market, then the next observation: one trip through
        the event loop per step (each ``run_until_complete`` costs a task and a loop cycle)."""
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

    def _info(self) -> dict[str, Any]:
        session = self._session
        return {
            **self._source_info(),
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


class TradingEnv(SessionEnv):
    """One trader on one seeded simulated exchange; see the module docstring."""

    def __init__(
        self,
        seeds: Sequence[int] = TRAIN_SEEDS,
        episode_s: float = 1_800.0,
        config: SessionConfig | None = None,
        *,
        passive: bool = False,
        reward_scale_dollars: float = 1.0,
        reward_mark: RewardMark = RewardMark.EXIT,
    ) -> None:
        if not seeds:
            raise ValueError("TradingEnv needs at least one simulator seed")
        super().__init__(
            config, passive=passive, reward_scale_dollars=reward_scale_dollars, reward_mark=reward_mark
        )
        self.seeds = tuple(int(s) for s in seeds)
        self.episode_ms = round(episode_s * 1000)
        self.sim_seed: int | None = None

    async def _start_session(self, options: dict[str, Any]) -> tuple[TradingSession, int]:
        sim_seed = options.get("sim_seed")
        if sim_seed is None:
            sim_seed = self.seeds[int(self.np_random.integers(len(self.seeds)))]
        self.sim_seed = int(sim_seed)
        session = await TradingSession.start(self.sim_seed, self.config)
        return session, session.now_ms() + self.episode_ms

    def _source_info(self) -> dict[str, Any]:
        return {"sim_seed": self.sim_seed}


def register() -> None:
    """Register ``kalshiflow/Trading-v1`` with gymnasium (idempotent), for ``gym.make`` and vector envs."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="kalshiflow.train.env:TradingEnv")
