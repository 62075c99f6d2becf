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
)
from kalshiflow.commands.paths import DataDirError, prepare_dir
from kalshiflow.config import SettingsError, load_settings


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
    options = BacktestOptions(
        policies=parse_policies(policy),
        seeds=parse_seeds(seeds),
        hours=hours,
        settings=settings,
        markets=markets,
        jobs=jobs if jobs is not None else max(1, min(2, os.cpu_count() or 1)),
        out_dir=out_dir,
    )
    total = len(options.policies) * len(options.seeds)
    summaries, files = with_progress(console, "backtest", "seed", total, lambda done: backtest(options, done))
    console.print(render_text(summaries), highlight=False)
    for path in files:
        console.print(f"wrote {path}")
