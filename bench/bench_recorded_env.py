"""Training environment throughput over a recorded session: env steps/s, single process.

    PYTHONPATH=src:. python bench/bench_recorded_env.py [--minutes 30] [--markets 4 20] [--seed 1000]
                                                          [--repeat 3] [--plumbing direct wire]
                                                          [--modes hold random maker]

Records ``--minutes`` simulated minutes of the seeded simulator's books into a temporary SQLite
database (``record_simulated_session``, the ``record`` library path), then runs one episode of
``RecordedTradingEnv`` over the whole session per action mode: ``hold`` (replay, observation and the
loop only) and ``random`` (uniform over the five actions: orders, fills, cancels and closes through
the real trader core and the simulator's exchange) and ``maker`` (the passive market-making rule
policy as behaviour cloning rolls it out: post-only quotes, its exit overrides, its decision timed
too -- the rate a trained policy that trades like it would see). A step is one decision on a market whose
recorded book changed. Each figure is repeated ``--repeat`` times, as episodes (``reset``) of one
environment, as training runs them: the session is read and decoded at the first reset (not timed)
and replayed from memory by every episode. The median is printed with the
load average at the time, as steps per wall second and per CPU second of this process (the latter
moves less with the load of other processes on a shared machine). Say how busy the machine was.
``--plumbing``: how the trader reaches the replayed exchange (``train.inprocess``): ``direct`` (the
environment's default: handlers called in process, typed book deltas) and/or ``wire`` (signed REST
over the simulator's ASGI app, JSON frames); the runs of both are interleaved, run by run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from kalshiflow.commands.record_sim import record_simulated_session
from kalshiflow.features import SCHEMA_V1
from kalshiflow.policy.registry import exit_overrides, load_policy
from kalshiflow.trader.config import ExitRulesConfig
from kalshiflow.trader.core import CoreConfig
from kalshiflow.train.inprocess import Plumbing
from kalshiflow.train.recorded_env import RecordedTradingEnv
from kalshiflow.train.session import SessionConfig

MODES = ("hold", "random", "maker")


def make_env(url: str, session_id: int, mode: str, plumbing: Plumbing) -> RecordedTradingEnv:
    """``maker`` trades as it does live and in behaviour cloning: passive, with its exit overrides."""
    if mode != "maker":
        return RecordedTradingEnv([(url, session_id)], config=SessionConfig(plumbing=plumbing))
    exits = ExitRulesConfig.model_validate(dict(exit_overrides("maker")))
    config = SessionConfig(plumbing=plumbing, core=CoreConfig(exit_rules=exits))
    return RecordedTradingEnv([(url, session_id)], config=config, passive=True)


def run_episode(env: RecordedTradingEnv, mode: str, seed: int) -> tuple[int, float, float, float]:
    rng = np.random.default_rng(seed)
    maker = load_policy("maker", SCHEMA_V1) if mode == "maker" else None
    index = {action: i for i, action in enumerate(env.actions)}
    obs, info = env.reset(seed=0)
    start_ms = info["now_ms"]
    steps = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while True:
        if maker is not None:  # its decision is timed too, as a trained policy's forward pass would be
            action = index[maker.decide(obs.tolist()).action]
        else:
            action = 0 if mode == "hold" else int(rng.integers(0, 5))
        obs, _, _, truncated, info = env.step(action)
        steps += 1
        if truncated:
            break
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    simulated_s = (info["now_ms"] - start_ms) / 1000
    return steps, elapsed, simulated_s, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--markets", type=int, nargs="+", default=[4, 20])
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--plumbing", nargs="+", choices=[p.value for p in Plumbing], default=["direct"])
    args = parser.parse_args()
    plumbings = [Plumbing(p) for p in args.plumbing]
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    print(
        f"{'markets':>8}{'messages':>9}{'mode':>8}{'plumbing':>9}{'steps':>8}{'wall s':>8}{'sim s/s':>9}"
        f"{'steps/s':>9}{'cpu s':>8}{'steps/cpu s':>12}  load"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for markets in args.markets:
            url = f"sqlite:///{Path(tmp) / f'rec-{markets}.db'}"
            recording = record_simulated_session(url, args.seed, args.minutes, n_markets=markets)
            for mode in args.modes:
                runs: dict[Plumbing, list[tuple[int, float, float, float]]] = {p: [] for p in plumbings}
                envs = {p: make_env(url, recording.session_id, mode, p) for p in plumbings}
                for _ in range(args.repeat):
                    for plumbing in plumbings:
                        runs[plumbing].append(run_episode(envs[plumbing], mode, args.seed))
                for env in envs.values():
                    env.close()
                for plumbing, done in runs.items():
                    steps = done[0][0]
                    wall = statistics.median(r[1] for r in done)
                    cpu = statistics.median(r[3] for r in done)
                    simulated = done[0][2]
                    print(
                        f"{markets:>8}{recording.messages:>9}{mode:>8}{plumbing.value:>9}{steps:>8}{wall:>8.2f}"
                        f"{simulated / wall:>9.0f}{steps / wall:>9.0f}{cpu:>8.2f}{steps / cpu:>12.0f}"
                        f"  {os.getloadavg()[0]:.2f}"
                    )


if __name__ == "__main__":
    main()
