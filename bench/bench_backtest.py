"""Backtest throughput: wall time of ``kalshiflow backtest`` for seeds x hours x policies.

Usage: ``PYTHONPATH=src python bench/bench_backtest.py [--seeds 1-20] [--hours 2] [--policies hold,random,rules]
[--jobs 2]``. Prints the wall time, the simulated hours per wall second, and the issue's target
(20 seeds x 2 h x 3 policies under 5 minutes) extrapolated from the measured rate when a smaller
run is asked for. Also the CPU seconds of all processes (this one and the workers, from
``getrusage``): on a shared machine the wall time mostly measures the neighbours, the CPU time
divided by the cores is what the same run takes when the cores are free. Prints the load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from kalshiflow.commands.backtest.runner import BacktestOptions, backtest, parse_seeds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1-20")
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--policies", default="hold,random,rules")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    policies = args.policies.split(",")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    summaries, _ = backtest(BacktestOptions(policies, seeds, args.hours, jobs=args.jobs))
    wall = time.perf_counter() - started
    cpu = sum(
        u.ru_utime + u.ru_stime
        for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )
    sim_hours = len(seeds) * args.hours * len(policies)
    print(
        f"{len(seeds)} seeds x {args.hours:g} h x {len(policies)} policies, {args.jobs} processes: {wall:.1f} s wall"
    )
    print(
        f"  load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end, {os.cpu_count()} cpus"
    )
    print(f"  {sim_hours / wall * 3600:.0f} simulated hours per wall hour ({sim_hours:g} h in total)")
    print(
        f"  CPU {cpu:.1f} s in all processes: {cpu / args.jobs:.1f} s on {args.jobs} free cores; "
        f"20 x 2 h x 3 at that rate: {cpu / args.jobs * 120 / sim_hours / 60:.1f} min"
    )
    print(
        f"  20 seeds x 2 h x 3 policies at this rate: {wall * 120 / sim_hours / 60:.1f} min (target < 5 min)"
    )
    for s in summaries:
        print(f"  {s.policy}: {s.fills} fills, P&L {s.pnl_mean:+.2f} ± {s.pnl_ci95:.2f} $")


if __name__ == "__main__":
    main()
