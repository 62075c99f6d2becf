"""The body of ``kalshiflow train``: PPO on the simulator or on recorded sessions, exported to ``mlp:OUT``.

Needs the optional extra ``rl`` (torch CPU, stable-baselines3): without it the command says how to
install it instead of failing on an import. ``--sessions PATH [--session-ids 1,3-5]`` (or
``PATH#1,3-5``) trains over recorded sessions with ``RecordedTradingEnv``; the flags are read by the
backtest's own parser (``parse_sessions``), so they take the same values and fail with the same
one-line messages -- and they are checked before the extra, so a wrong path is reported as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from kalshiflow.commands.backtest.recorded import parse_sessions
from kalshiflow.commands.backtest.runner import BacktestUsageError
from kalshiflow.commands.paths import DataDirError, prepare_dir
from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.base import PolicyLoadError
from kalshiflow.policy.registry import exit_overrides, load_policy
from kalshiflow.store.db import redact_url
from kalshiflow.textfmt import plural

if TYPE_CHECKING:  # the training modules import gymnasium, which a plain install has not got
    from kalshiflow.train.ppo import TrainConfig

RL_EXTRA_MISSING = "training needs the extra 'rl' (torch CPU, stable-baselines3): pip install -e '.[rl]'"


class TrainUsageError(ValueError):
    """A flag value or a missing extra; the message says what to do."""


@dataclass(frozen=True)
class PpoFlags:
    """The flags that shape PPO itself (None: ``TrainConfig``'s default).

    ``init_from``: a rule policy spec to behaviour-clone first; the environment then runs with that
    policy's exit overrides (``maker``: no take profit, stop loss or max hold), as it trades live.
    ``passive``: trades rest post-only inside the touch (the manifest records it; ``mlp:OUT`` trades so).
    ``reward_mark``: ``exit`` or ``mid``, where the reward values open positions (``RewardMark``);
    ``gamma``: PPO's discount (a longer horizon credits an unwind further from its decision).
    """

    init_from: str | None = None
    passive: bool = False
    learning_rate: float | None = None
    clip_range: float | None = None
    ent_coef: float | None = None
    reward_mark: str | None = None
    gamma: float | None = None


def train_config(
    timesteps: int,
    seed: int,
    envs: int,
    episode_s: float,
    markets: int,
    sessions: str | None = None,
    session_ids: str | None = None,
    flags: PpoFlags | None = None,
) -> TrainConfig:
    """The run the flags describe; ``TrainUsageError`` (one line) for bad session or policy flags."""
    flags = flags or PpoFlags()
    numbers = {
        "--episode-s": episode_s,
        "--learning-rate": flags.learning_rate,
        "--clip-range": flags.clip_range,
        "--ent-coef": flags.ent_coef,
    }
    for flag, value in numbers.items():
        if value is not None and not math.isfinite(value):
            raise TrainUsageError(f"{flag} {value}: must be a finite number")
    overrides: dict[str, bool] = {}
    if flags.init_from is not None:
        if sessions is not None:
            raise TrainUsageError(
                "--init-from: behaviour cloning rolls the policy out on the simulator, not with --sessions"
            )
        try:
            load_policy(flags.init_from, SCHEMA_V1)
        except PolicyLoadError as exc:
            raise TrainUsageError(f"--init-from {flags.init_from}: {exc}") from None
        overrides = dict(exit_overrides(flags.init_from))
    recorded: tuple[tuple[str, int], ...] = ()
    if sessions is not None:
        try:
            source = parse_sessions(sessions, session_ids)
        except BacktestUsageError as exc:
            raise TrainUsageError(str(exc)) from None
        recorded = tuple((source.url, session_id) for session_id, _ in source.sessions)
    elif session_ids is not None:
        raise TrainUsageError("--session-ids: only with --sessions PATH")
    try:
        from kalshiflow.train.ppo import TrainConfig
    except ImportError:
        raise TrainUsageError(RL_EXTRA_MISSING) from None
    defaults = TrainConfig(timesteps=timesteps, seed=seed)
    return TrainConfig(
        timesteps=timesteps,
        seed=seed,
        envs=envs,
        episode_s=episode_s,
        n_markets=markets,
        sessions=recorded,
        passive=flags.passive,
        exit_overrides=overrides,
        init_from=flags.init_from,
        learning_rate=defaults.learning_rate if flags.learning_rate is None else flags.learning_rate,
        clip_range=defaults.clip_range if flags.clip_range is None else flags.clip_range,
        ent_coef=defaults.ent_coef if flags.ent_coef is None else flags.ent_coef,
        gamma=defaults.gamma if flags.gamma is None else flags.gamma,
        reward_mark=defaults.reward_mark if flags.reward_mark is None else _reward_mark(flags.reward_mark),
    )


def _reward_mark(value: str) -> str:
    from kalshiflow.train.env import RewardMark

    try:
        return RewardMark(value.strip().lower()).value
    except ValueError:
        choices = ", ".join(m.value for m in RewardMark)
        raise TrainUsageError(f"--reward-mark {value}: expected one of {choices}") from None


def _describe(config: TrainConfig) -> str:
    if config.sessions:
        url = redact_url(config.sessions[0][0])
        ids = ", ".join(str(session_id) for _, session_id in config.sessions)
        data = f"recorded sessions {ids} of {url}"
    else:
        data = (
            f"{plural(config.n_markets, 'market')}, simulator seeds {config.seed_low}-{config.seed_high - 1}"
        )
    start = f", behaviour-cloned from {config.init_from}" if config.init_from else ""
    return (
        f"PPO: {config.timesteps:,} steps, seed {config.seed}, {config.envs} env(s), "
        f"{config.episode_s:g} s episodes, {data}{', passive' if config.passive else ''}{start}, "
        f"reward marked at the {config.reward_mark}, gamma {config.gamma:g}"
    )


def _check_out_dir(out_dir: Path) -> None:
    """A file where ``--out`` or one of its parents should be a directory is a usage error at once,
    like every other flag (before the ``rl`` extra is looked for); nothing is created here."""
    for path in (out_dir, *out_dir.parents):
        if path.exists():
            if not path.is_dir():
                where = "" if path == out_dir else f" ({path} is a file)"
                raise TrainUsageError(f"--out {out_dir}: not a directory{where}")
            return


def run_train_command(
    timesteps: int,
    seed: int,
    out_dir: Path,
    envs: int,
    episode_s: float,
    markets: int,
    console: Console,
    *,
    sessions: str | None = None,
    session_ids: str | None = None,
    flags: PpoFlags | None = None,
) -> Path:
    _check_out_dir(out_dir)
    config = train_config(timesteps, seed, envs, episode_s, markets, sessions, session_ids, flags)
    try:
        import stable_baselines3  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise TrainUsageError(RL_EXTRA_MISSING) from None
    from kalshiflow.train.ppo import train

    try:  # the model is written after the training: an --out that cannot be used costs no training
        prepare_dir(out_dir, "--out")
    except DataDirError as exc:
        raise TrainUsageError(str(exc)) from None

    console.print(_describe(config))
    manifest = train(config, out_dir)
    console.print(
        f"wrote {manifest} (policy spec mlp:{out_dir}); logs: tensorboard --logdir {out_dir / 'logs'}"
    )
    return manifest
