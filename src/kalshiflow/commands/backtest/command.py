"""The body of ``kalshiflow backtest``: flags in, progress bar while running, table and files out."""

from __future__ import annotations

import math
import os
from pathlib import Path

from rich.console import Console

from kalshiflow.commands.backtest.progress import with_progress
from kalshiflow.commands.backtest.recorded import run_recorded_command
from kalshiflow.commands.backtest.report import render_text
from kalshiflow.commands.backtest.runner import (
    BacktestOptions,
    BacktestUsageError,
    backtest,
    parse_policies,
    parse_seeds,
    seed_count,
)
from kalshiflow.commands.paths import DataDirError, prepare_dir
from kalshiflow.config import SettingsError, load_settings
from kalshiflow.textfmt import plural

# CPU seconds one simulated hour of one run takes with 20 markets (bench_backtest, README "Speed":
# 313.8 CPU s for 120 simulated hours, 2.6 s; rounded up for a machine doing other work too).
CPU_S_PER_SIM_HOUR = 3.0
LONG_BACKTEST_S = 12 * 3600  # a backtest estimated to take longer starts only with --yes


def estimated_wall_s(runs: int, hours: float, markets: int, jobs: int) -> float:
    """Rough wall time of ``runs`` runs: the cost grows with the markets; ``jobs`` divide it, up to
    the number of cores and of runs (one run is never split)."""
    parallel = max(1, min(jobs, os.cpu_count() or 1, runs))
    return runs * hours * CPU_S_PER_SIM_HOUR * (markets / 20) / parallel


def describe_duration(seconds: float) -> str:
    """``about 3 min``, ``about 5.2 h``, ``about 2,315 days``: what a person plans around."""
    if seconds < 3600:
        return f"about {max(1, round(seconds / 60))} min"
    if seconds < 3 * 86_400:
        return f"about {seconds / 3600:.1f} h"
    return f"about {seconds / 86_400:,.0f} days"


def _check_size(policies: int, seeds: str, hours: float, markets: int, jobs: int) -> None:
    """A backtest that would run for days (``--seeds 1-1000000``) is refused before it starts,
    naming its size and time, unless ``--yes`` says it is meant."""
    count = seed_count(seeds)
    runs = policies * count
    wall_s = estimated_wall_s(runs, hours, markets, jobs)
    if wall_s > LONG_BACKTEST_S:
        raise BacktestUsageError(
            f"--seeds {seeds} --hours {hours:g}: {plural(runs, 'run')} ({plural(policies, 'policy', 'policies')}"
            f" x {plural(count, 'seed')}) of {hours:g} simulated h, {describe_duration(wall_s)} of wall time "
            f"with {plural(jobs, 'job')}; add --yes to start it anyway, or name fewer seeds, policies or hours"
        )


def run_backtest_command(
    policy: str,
    seeds: str,
    hours: float,
    markets: int,
    jobs: int | None,
    out_dir: Path | None,
    config: Path | None,
    console: Console,
    sessions: str | None = None,
    session_ids: str | None = None,
    yes: bool = False,
) -> None:
    """Raises ``BacktestUsageError`` naming the flag for anything wrong before the first run.

    With ``sessions`` (a recording database) the runs are over recorded sessions instead of seeds
    (``commands.backtest.recorded``); ``seeds``, ``hours`` and ``markets`` do not apply then.
    """
    try:
        settings = load_settings(config)
    except SettingsError as exc:
        raise BacktestUsageError(str(exc)) from None
    # What `run` reads from the same file but a backtest cannot use: said once, not dropped silently.
    unused = [f"[run] {key}" for key in ("policy", "paper") if key in settings.run.model_fields_set]
    unused += [f"[markets] {key}" for key in sorted(settings.markets.model_fields_set)]
    if unused:
        console.print(
            f"note: {', '.join(unused)} of the settings do not apply to a backtest (--policy names the "
            "policies, each trades (no paper mode) the simulated or recorded markets)",
            highlight=False,
            markup=False,
        )
    if not math.isfinite(hours):
        raise BacktestUsageError(f"--hours {hours}: must be a finite number of simulated hours")
    if out_dir is not None:
        # The report is written after the last run: a --out that cannot be used is found now, not
        # as a traceback after hours of runs whose results would be lost with it.
        try:
            prepare_dir(out_dir, "--out")
        except DataDirError as exc:
            raise BacktestUsageError(str(exc)) from None
    if sessions is not None:
        run_recorded_command(policy, sessions, session_ids, settings, jobs, out_dir, console)
        return
    if session_ids is not None:
        raise BacktestUsageError("--session-ids: only with --sessions PATH")
    policies = parse_policies(policy)
    jobs = jobs if jobs is not None else max(1, min(2, os.cpu_count() or 1))
    if not yes:
        _check_size(len(policies), seeds, hours, markets, jobs)
    options = BacktestOptions(
        policies=policies,
        seeds=parse_seeds(seeds),
        hours=hours,
        settings=settings,
        markets=markets,
        jobs=jobs,
        out_dir=out_dir,
    )
    total = len(options.policies) * len(options.seeds)
    summaries, files = with_progress(console, "backtest", "seed", total, lambda done: backtest(options, done))
    console.print(render_text(summaries), highlight=False)
    for path in files:
        console.print(f"wrote {path}")
