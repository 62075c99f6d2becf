"""The body of ``kalshiflow train``: PPO on the simulator, exported to ``mlp:OUT``.

Needs the optional extra ``rl`` (torch CPU, stable-baselines3): without it the command says how to
install it instead of failing on an import.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console


class TrainUsageError(ValueError):
    """A flag value or a missing extra; the message says what to do."""


def run_train_command(
    timesteps: int, seed: int, out_dir: Path, envs: int, episode_s: float, markets: int, console: Console
) -> Path:
    try:
        import stable_baselines3  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise TrainUsageError(
            "training needs the extra 'rl' (torch CPU, stable-baselines3): pip install -e '.[rl]'"
        ) from None
    from kalshiflow.train.ppo import TrainConfig, train

    config = TrainConfig(timesteps=timesteps, seed=seed, envs=envs, episode_s=episode_s, n_markets=markets)
    console.print(
        f"PPO: {timesteps:,} steps, seed {seed}, {envs} env(s), {markets} markets, "
        f"{episode_s:g} s episodes, simulator seeds {config.seed_low}-{config.seed_high - 1}"
    )
    manifest = train(config, out_dir)
    console.print(f"wrote {manifest} (policy spec mlp:{out_dir}); logs: tensorboard --logdir {out_dir / 'logs'}")
    return manifest
