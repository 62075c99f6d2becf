"""Training environment throughput: env steps/s over the live in-process simulator, and PPO's.

    PYTHONPATH=src:. python bench/bench_train_env.py [--seconds 1800] [--markets 4 20] [--seeds 1000 1001]
                                                       [--ppo-steps 0] [--envs 2] [--plumbing direct wire]
                                                       [--repeat 1]

Env part: one process, one ``TradingEnv`` per (markets, seed, action mode), one episode of
``--seconds`` simulated seconds. A step is one decision of the actor on a market whose book changed,
with everything live does around it (risk gate, execution over the simulator's REST application,
exits, calibration every 60 s, the participants' reactions). Action modes: ``hold`` (the simulator,
observation and the loop only) and ``random`` (uniform over the five actions: orders, fills,
cancels and closes too). Reports steps, simulated seconds per wall second, steps per wall second
and per CPU second of this process (which moves less with other processes' load), with the load
average. ``--plumbing``: how the trader reaches the simulator (``train.inprocess``): ``direct``
(the environment's default) and/or ``wire`` (signed REST over ASGI, JSON frames), interleaved run
by run; ``--repeat`` runs each figure that many times and prints the median.

PPO part (``--ppo-steps N``, needs the extra ``rl``): ``kalshiflow.train.ppo.train`` on ``--envs``
worker processes into a temporary directory; reports timesteps per second including the updates.
Wall-clock figures: run on a quiet machine and say how busy it was.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from kalshiflow.train.env import TradingEnv
from kalshiflow.train.inprocess import Plumbing
from kalshiflow.train.session import SessionConfig


def bench_env(
    markets: int, seed: int, seconds: float, mode: str, plumbing: Plumbing
) -> tuple[int, float, float]:
    config = SessionConfig(n_markets=markets, plumbing=plumbing)
    env = TradingEnv(seeds=(seed,), episode_s=seconds, config=config)
    rng = np.random.default_rng(seed)
    env.reset(seed=0)
    steps = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while True:
        action = 0 if mode == "hold" else int(rng.integers(0, 5))
        *_, truncated, _ = env.step(action)
        steps += 1
        if truncated:
            break
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    env.close()
    return steps, elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=1800.0)
    parser.add_argument("--markets", type=int, nargs="+", default=[4, 20])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001])
    parser.add_argument("--ppo-steps", type=int, default=0)
    parser.add_argument("--envs", type=int, default=2)
    parser.add_argument("--plumbing", nargs="+", choices=[p.value for p in Plumbing], default=["direct"])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    plumbings = [Plumbing(p) for p in args.plumbing]
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    print(
        f"{'markets':>8}{'mode':>8}{'seed':>6}{'plumbing':>9}{'steps':>8}{'wall s':>8}{'sim s/s':>9}"
        f"{'steps/s':>9}{'cpu s':>8}{'steps/cpu s':>12}  load"
    )
    for markets in args.markets:
        for mode in ("hold", "random"):
            for seed in args.seeds:
                runs: dict[Plumbing, list[tuple[int, float, float]]] = {p: [] for p in plumbings}
                for _ in range(args.repeat):
                    for plumbing in plumbings:
                        runs[plumbing].append(bench_env(markets, seed, args.seconds, mode, plumbing))
                for plumbing, done in runs.items():
                    steps = done[0][0]
                    elapsed = statistics.median(r[1] for r in done)
                    cpu = statistics.median(r[2] for r in done)
                    print(
                        f"{markets:>8}{mode:>8}{seed:>6}{plumbing.value:>9}{steps:>8}{elapsed:>8.2f}"
                        f"{args.seconds / elapsed:>9.0f}{steps / elapsed:>9.0f}{cpu:>8.2f}{steps / cpu:>12.0f}"
                        f"  {os.getloadavg()[0]:.2f}"
                    )
    if args.ppo_steps:
        from kalshiflow.train.ppo import TrainConfig, train

        config = TrainConfig(timesteps=args.ppo_steps, seed=0, envs=args.envs)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            train(config, Path(tmp) / "bench", progress_bar=False)
            elapsed = time.perf_counter() - started
        print(
            f"PPO: {args.ppo_steps} timesteps on {args.envs} env processes in {elapsed:.1f} s: "
            f"{args.ppo_steps / elapsed:.0f} timesteps/s (updates included)"
        )


if __name__ == "__main__":
    main()
