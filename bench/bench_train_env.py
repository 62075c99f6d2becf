"""Training environment throughput: env steps/s over the live in-process simulator, and PPO's.

    PYTHONPATH=src:. python bench/bench_train_env.py [--seconds 1800] [--markets 4 20] [--seeds 1000 1001]
                                                       [--ppo-steps 0] [--envs 2]

Env part: one process, one ``TradingEnv`` per (markets, seed, action mode), one episode of
``--seconds`` simulated seconds. A step is one decision of the actor on a market whose book changed,
with everything live does around it (risk gate, execution over the simulator's REST application,
exits, calibration every 60 s, the participants' reactions). Action modes: ``hold`` (the simulator,
observation and the loop only) and ``random`` (uniform over the five actions: orders, fills,
cancels and closes too). Reports steps, simulated seconds per wall second and steps per second.

PPO part (``--ppo-steps N``, needs the extra ``rl``): ``kalshiflow.train.ppo.train`` on ``--envs``
worker processes into a temporary directory; reports timesteps per second including the updates.
Wall-clock figures: run on a quiet machine and say how busy it was.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from kalshiflow.train.env import TradingEnv
from kalshiflow.train.session import SessionConfig


def bench_env(markets: int, seed: int, seconds: float, mode: str) -> tuple[int, float]:
    env = TradingEnv(seeds=(seed,), episode_s=seconds, config=SessionConfig(n_markets=markets))
    rng = np.random.default_rng(seed)
    env.reset(seed=0)
    steps = 0
    started = time.perf_counter()
    while True:
        action = 0 if mode == "hold" else int(rng.integers(0, 5))
        *_, truncated, _ = env.step(action)
        steps += 1
        if truncated:
            break
    elapsed = time.perf_counter() - started
    env.close()
    return steps, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1800.0)
    parser.add_argument("--markets", type=int, nargs="+", default=[4, 20])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001])
    parser.add_argument("--ppo-steps", type=int, default=0)
    parser.add_argument("--envs", type=int, default=2)
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'markets':>8}{'mode':>8}{'seed':>6}{'steps':>8}{'wall s':>8}{'sim s/s':>9}{'steps/s':>9}")
    for markets in args.markets:
        for mode in ("hold", "random"):
            for seed in args.seeds:
                steps, elapsed = bench_env(markets, seed, args.seconds, mode)
                print(
                    f"{markets:>8}{mode:>8}{seed:>6}{steps:>8}{elapsed:>8.2f}"
                    f"{args.seconds / elapsed:>9.0f}{steps / elapsed:>9.0f}"
                )
    if args.ppo_steps:
        from kalshiflow.train.ppo import TrainConfig, train

        config = TrainConfig(timesteps=args.ppo_steps, seed=0, envs=args.envs)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            train(config, Path(tmp) / "bench", progress_bar=False)
            elapsed = time.perf_counter() - started
        print(f"PPO: {args.ppo_steps} timesteps on {args.envs} env processes in {elapsed:.1f} s: "
              f"{args.ppo_steps / elapsed:.0f} timesteps/s (updates included)")


if __name__ == "__main__":
    main()
