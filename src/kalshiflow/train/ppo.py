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
from kalshiflow.features import ObservationScales
from kalshiflow.store.db import redact_url
from kalshiflow.train.env import TRAIN_SEEDS, TradingEnv
from kalshiflow.train.export import export_ppo
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
      ``gamma`` (0.995), ``ent_coef`` (0.01): PPO's hyperparameters.
    * ``passive`` (False): trades rest post-only inside the touch instead of crossing.
    * ``bankroll_dollars`` (1000), ``max_position_contracts`` (50): observation scales, as ``run``'s.
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
    gamma: float = 0.995
    ent_coef: float = 0.01
    passive: bool = False
    bankroll_dollars: int = 1_000
    max_position_contracts: int = 50
    sessions: tuple[tuple[str, int], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def scales(self) -> ObservationScales:
        return ObservationScales(Money.dollars(self.bankroll_dollars), Count.contracts(self.max_position_contracts))

    def session(self) -> SessionConfig:
        return SessionConfig(scales=self.scales(), n_markets=self.n_markets)


def make_env(config: TrainConfig) -> TradingEnv | RecordedTradingEnv:
    """One environment of the run (module-level so ``SubprocVecEnv`` can pickle its factory)."""
    if config.sessions:
        return RecordedTradingEnv(
            config.sessions, episode_s=config.episode_s, config=config.session(), passive=config.passive
        )
    return TradingEnv(
        seeds=range(config.seed_low, config.seed_high),
        episode_s=config.episode_s,
        config=config.session(),
        passive=config.passive,
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
    venv = VecNormalize(VecMonitor(workers), norm_obs=True, norm_reward=True, clip_obs=10.0, gamma=config.gamma)
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
            policy_kwargs={"net_arch": list(config.net_arch)},
            device="cpu",
            verbose=0,
        )
        model.set_logger(configure(str(out_dir / "logs"), ["csv", "tensorboard"]))
        started = time.perf_counter()
        model.learn(total_timesteps=config.timesteps, progress_bar=progress_bar)
        elapsed = time.perf_counter() - started
        recorded = [[redact_url(url), session_id] for url, session_id in config.sessions]
        training = {
            "algorithm": "PPO (stable-baselines3)",
            "config": {**asdict(config), "net_arch": list(config.net_arch), "sessions": recorded},
            "simulator_seeds": None if recorded else [config.seed_low, config.seed_high],
            "recorded_sessions": recorded or None,
            "timesteps_done": int(model.num_timesteps),
            "wall_seconds": round(elapsed, 1),
            "steps_per_second": round(model.num_timesteps / elapsed, 1) if elapsed > 0 else None,
        }
        manifest = export_ppo(model, venv, out_dir, scales=config.scales(), training=training)
    finally:
        venv.close()
    plot_learning_curve(out_dir / "logs" / "progress.csv", out_dir / "learning_curve.png")
    return manifest


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
