"""PPO on the trading environment with stable-baselines3 (extra ``rl``), vectorised across processes.

Why these choices:

* ``SubprocVecEnv`` with ``envs`` workers: the simulator is pure Python, so cores are used by
  processes, not threads; one worker runs in process (``DummyVecEnv``), which is also what tests use.
  Torch gets one thread per process (``torch.set_num_threads(1)``): the network is tiny and the
  cores belong to the simulators.
* ``VecNormalize`` (observations and rewards): the schema's features have different scales and the
  reward is a few cents; the observation statistics are exported with the weights.
* Deterministic by seed: PPO's ``seed`` seeds torch, numpy and the action space, and every worker
  ``rank`` resets first with ``seed + rank``; each environment then draws its simulator seeds from
  its own ``np_random``. The same seed, envs and timesteps give the same weights.
* Logs: SB3's logger writes ``progress.csv`` and TensorBoard event files under ``OUT/logs``
  (``tensorboard --logdir OUT/logs``); ``learning_curve.png`` is drawn from the CSV.

Simulator seeds trained on are ``TRAIN_SEEDS`` (1000-1999), disjoint from the backtest's evaluation
seeds (1-999); they are recorded in the manifest with the whole training config. With ``sessions``
(recording database URL, session id) the environments are ``RecordedTradingEnv`` over those
recorded sessions instead (each episode one session drawn by the environment's seeded
``np_random``, truncated at ``episode_s`` or the recording's end); the manifest names the sessions,
with credentials redacted from the URLs.
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kalshiflow.domain.units import Count, Money
from kalshiflow.features import SCHEMA_V1, ObservationScales
from kalshiflow.policy.registry import load_policy
from kalshiflow.store.db import redact_url
from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.core import CoreConfig
from kalshiflow.train.env import TRAIN_SEEDS, RewardMark, TradingEnv
from kalshiflow.train.export import export_ppo
from kalshiflow.train.imitation import collect_demonstrations
from kalshiflow.train.recorded_env import RecordedTradingEnv
from kalshiflow.train.session import SessionConfig


@dataclass(frozen=True)
class TrainConfig:
    """One PPO run.

    * ``timesteps``: environment steps (decisions) in total; ``seed``: PPO's and the workers' seed.
    * ``envs`` (2): parallel environments (processes when > 1).
    * ``episode_s`` (1800, simulated s) and ``n_markets`` (4): each episode's session.
    * ``seed_low``/``seed_high`` (1000, 2000): simulator seeds trained on, ``[low, high)``.
    * ``net_arch`` ((64, 64)): hidden layers of the actor and the critic (tanh).
    * ``n_steps`` (512 per env), ``batch_size`` (128), ``n_epochs`` (10), ``learning_rate`` (3e-4),
      ``gamma`` (0.95), ``ent_coef`` (0.01): PPO's hyperparameters. The discount is short because the
      reward marks inventory at the mid: over ~200 decisions (0.995) a decision's return is mostly
      the noise of inventory marked later, which the critic cannot predict; over ~20 (0.95) it is
      mostly the spread caught and the first adverse move. Refining ``maker``, 0.95 kept the start
      (+0.20 $ per 2 h on tuning seeds 1-10, mean of three training seeds) where 0.995 did not (+0.16;
      models/ppo/README.md).
    * ``passive`` (False): trades rest post-only inside the touch instead of crossing.
    * ``exit_overrides`` (none): ``[exit_rules]`` flags the environment's trader runs with (e.g.
      ``maker``'s: no take profit, stop loss or max hold); recorded in the manifest so ``run`` and
      ``backtest`` apply the same exits to the exported model.
    * ``init_from`` (None): a rule policy spec (``maker``) to behaviour-clone before PPO starts
      (``train.cloning``); ``bc_episodes`` (32) episodes of it on training seeds, ``bc_epochs`` (30)
      passes of the fit. PPO then refines with the hyperparameters above (pick a small
      ``learning_rate``/``clip_range`` so it refines rather than forgets).
    * ``clip_range`` (0.2): PPO's clip.
    * ``bankroll_dollars`` (1000), ``max_position_contracts`` (50): observation scales, as ``run``'s.
    * ``reward_mark`` ("mid"): where the reward values open positions (``train.env.RewardMark``):
      ``mid`` the public mid, which credits a passive quote's spread at its fill; ``exit`` the exit
      price, as the trader's equity, which credits it only at the unwind. The default is ``mid``
      because PPO refining ``maker`` on ``exit`` lowered its tuning P&L on every training seed
      (+0.03..+0.13 $ per 2 h from +0.15..+0.17 before PPO) and on ``mid`` it did not
      (+0.12..+0.19; models/ppo/README.md).
    * ``sessions`` (empty): recorded sessions ``(database URL, session id)`` to train on instead of
      the simulator (``n_markets`` and the simulator seeds then play no part).
    """

    timesteps: int
    seed: int
    envs: int = 2
    episode_s: float = 1_800.0
    n_markets: int = 4
    seed_low: int = TRAIN_SEEDS.start
    seed_high: int = TRAIN_SEEDS.stop
    net_arch: tuple[int, ...] = (64, 64)
    n_steps: int = 512
    batch_size: int = 128
    n_epochs: int = 10
    learning_rate: float = 3e-4
    gamma: float = 0.95
    ent_coef: float = 0.01
    passive: bool = False
    exit_overrides: dict[str, bool] = field(default_factory=dict)
    init_from: str | None = None
    bc_episodes: int = 32
    bc_epochs: int = 30
    clip_range: float = 0.2
    bankroll_dollars: int = 1_000
    max_position_contracts: int = 50
    sessions: tuple[tuple[str, int], ...] = ()
    reward_mark: str = RewardMark.MID.value
    extra: dict[str, Any] = field(default_factory=dict)

    def scales(self) -> ObservationScales:
        return ObservationScales(
            Money.dollars(self.bankroll_dollars), Count.contracts(self.max_position_contracts)
        )

    def session(self) -> SessionConfig:
        exits = ExitRulesConfig.model_validate(self.exit_overrides)  # validated: a typo is an error
        return SessionConfig(
            core=CoreConfig(exit_rules=exits), scales=self.scales(), n_markets=self.n_markets
        )


def make_env(config: TrainConfig) -> TradingEnv | RecordedTradingEnv:
    """One environment of the run (module-level so ``SubprocVecEnv`` can pickle its factory)."""
    if config.sessions:
        return RecordedTradingEnv(
            config.sessions,
            episode_s=config.episode_s,
            config=config.session(),
            passive=config.passive,
            reward_mark=RewardMark(config.reward_mark),
        )
    return TradingEnv(
        seeds=range(config.seed_low, config.seed_high),
        episode_s=config.episode_s,
        config=config.session(),
        passive=config.passive,
        reward_mark=RewardMark(config.reward_mark),
    )


def _factory(config: TrainConfig) -> Any:
    return lambda: make_env(config)


def train(config: TrainConfig, out_dir: Path, *, progress_bar: bool = True) -> Path:
    """Train, export to ``out_dir`` (``mlp:out_dir``) and return the manifest's path."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor, VecNormalize

    torch.set_num_threads(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    factories = [_factory(config) for _ in range(config.envs)]
    workers = SubprocVecEnv(factories) if config.envs > 1 else DummyVecEnv(factories)
    venv = VecNormalize(
        VecMonitor(workers), norm_obs=True, norm_reward=True, clip_obs=10.0, gamma=config.gamma
    )
    try:
        model = PPO(
            "MlpPolicy",
            venv,
            seed=config.seed,
            n_steps=config.n_steps,
            batch_size=config.batch_size,
            n_epochs=config.n_epochs,
            learning_rate=config.learning_rate,
            gamma=config.gamma,
            ent_coef=config.ent_coef,
            clip_range=config.clip_range,
            policy_kwargs={"net_arch": list(config.net_arch)},
            device="cpu",
            verbose=0,
        )
        model.set_logger(configure(str(out_dir / "logs"), ["csv", "tensorboard"]))
        started = time.perf_counter()
        cloned = None if config.init_from is None else _behaviour_clone(config, model, venv, out_dir)
        model.learn(total_timesteps=config.timesteps, progress_bar=progress_bar)
        elapsed = time.perf_counter() - started
        recorded = [[redact_url(url), session_id] for url, session_id in config.sessions]
        training = {
            "algorithm": "PPO (stable-baselines3)",
            "reward": {"mark": config.reward_mark, "scale_dollars": 1.0, "gamma": config.gamma},
            "config": {**asdict(config), "net_arch": list(config.net_arch), "sessions": recorded},
            "simulator_seeds": None if recorded else [config.seed_low, config.seed_high],
            "recorded_sessions": recorded or None,
            "timesteps_done": int(model.num_timesteps),
            "wall_seconds": round(elapsed, 1),
            "steps_per_second": round(model.num_timesteps / elapsed, 1) if elapsed > 0 else None,
            "behaviour_cloning": cloned,
        }
        manifest = export_ppo(
            model,
            venv,
            out_dir,
            scales=config.scales(),
            training=training,
            passive=config.passive,
            exit_overrides=config.exit_overrides or None,
        )
    finally:
        venv.close()
    plot_learning_curve(out_dir / "logs" / "progress.csv", out_dir / "learning_curve.png")
    return manifest


def _behaviour_clone(config: TrainConfig, model: Any, venv: Any, out_dir: Path) -> dict[str, Any]:
    """Demonstrations of ``config.init_from`` (plus one held-out episode) fitted into ``model``."""
    from kalshiflow.train.cloning import clone_into

    teacher = load_policy(config.init_from or "", SCHEMA_V1)
    env = make_env(config)
    if not isinstance(env, TradingEnv):
        raise ValueError(
            "behaviour cloning rolls the rule policy out on the simulator, not on recorded sessions"
        )
    try:
        # Its own seed stream: the demonstrations' episodes are not the first PPO workers' ones.
        demos = collect_demonstrations(
            teacher, env, episodes=config.bc_episodes + 1, seed=config.seed + config.envs
        )
    finally:
        env.close()
    report = clone_into(
        model,
        venv,
        demos,
        env.actions,
        epochs=config.bc_epochs,
        seed=config.seed,
        gamma=config.gamma,
        log_csv=out_dir / "logs" / "bc.csv",
    )
    return {"teacher": config.init_from, "sim_seeds": list(demos.sim_seeds), **report.to_json()}


def plot_learning_curve(progress_csv: Path, png: Path) -> bool:
    """Mean episode return (dollars, after fees) against timesteps, from SB3's CSV log."""
    if not progress_csv.is_file():
        return False
    steps: list[float] = []
    returns: list[float] = []
    with progress_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            value, step = row.get("rollout/ep_rew_mean") or "", row.get("time/total_timesteps") or ""
            if value and step:
                steps.append(float(step))
                returns.append(float(value))
    if not steps:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3), dpi=80)
    ax.plot(steps, returns)
    ax.set_xlabel("timesteps")
    ax.set_ylabel("mean episode return ($)")
    ax.set_title(png.parent.name)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
    return True
