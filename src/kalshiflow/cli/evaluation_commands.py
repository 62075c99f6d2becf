"""Evaluation and training: ``backtest`` runs policies through the trader core against the simulated
market or recorded sessions, ``train`` fits a PPO policy (extra ``rl``).

The bodies import matplotlib, the simulator and torch: each is imported when its command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kalshiflow.cli.app import app, err, fail, out

INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C (128 + SIGINT)
# Worker processes a command may start (--jobs, --envs): each holds a simulator (100+ MB), so
# `--jobs 1000` with as many runs forked a thousand of them and ran the machine out of memory.
MAX_PROCESSES = 64


def _given(ctx: typer.Context, *names: str) -> list[str]:
    """The flags among ``names`` that the user typed (not left at their default), as ``--flag``."""
    typed = []
    for name in names:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name != "DEFAULT":
            typed.append("--" + name.replace("_", "-"))
    return typed


def _no_simulator_flags_with_sessions(ctx: typer.Context, *names: str) -> None:
    """With ``--sessions`` the simulator's flags do not apply: one typed anyway (``--hours 0.5`` to
    shorten a replay) is a usage error instead of being ignored without a word."""
    typed = _given(ctx, *names)
    if typed:
        fail(
            f"{', '.join(typed)}: the simulator's setting{'s' if len(typed) > 1 else ''}, not used with "
            "--sessions (a recorded session is replayed whole; --session-ids selects sessions)"
        )


@app.command()
def backtest(
    ctx: typer.Context,
    policy: Annotated[
        str,
        typer.Option(
            metavar="SPEC[,SPEC...]",
            help="Policies: hold, random, rules, rules:signal, mm, longshot, maker, ppo, mlp:PATH "
            "(default: the baselines and run's default, hold,random,rules,ppo).",
        ),
    ] = "hold,random,rules,ppo",
    seeds: Annotated[str, typer.Option(help="Simulator seeds: 1-20, 7 or 1,4,9-12.")] = "1-5",
    hours: Annotated[float, typer.Option(min=0.01, help="Simulated hours per run.")] = 2.0,
    markets: Annotated[int, typer.Option(min=1, help="Markets live at any time in the simulator.")] = 20,
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_PROCESSES, help="Parallel processes (default: up to 2).", show_default=False
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Directory for report.html, report.json and PNGs.")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML settings (exit rules, risk, run).")] = None,
    sessions: Annotated[
        str | None,
        typer.Option(
            metavar="PATH",
            help="Replay recorded sessions instead of seeds: a SQLite file or database URL as 'record' "
            "writes (PATH#1,3-5 selects sessions).",
        ),
    ] = None,
    session_ids: Annotated[
        str | None, typer.Option(help="With --sessions: the sessions to replay (1,3-5); default all.")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Start even when the runs are estimated to take over 12 h.")
    ] = False,
) -> None:
    """Run policies through the real trader core against the simulated market seed by seed, or against
    recorded sessions (--sessions)."""
    from kalshiflow.commands.backtest.command import run_backtest_command
    from kalshiflow.commands.backtest.runner import BacktestInterrupted, BacktestUsageError

    if sessions is not None:
        _no_simulator_flags_with_sessions(ctx, "seeds", "hours", "markets")
    try:
        run_backtest_command(
            policy,
            seeds,
            hours,
            markets,
            jobs,
            out_dir,
            config,
            out,
            sessions=sessions,
            session_ids=session_ids,
            yes=yes,
        )
    except BacktestUsageError as exc:
        fail(str(exc))
    except BacktestInterrupted as exc:  # Ctrl-C: say how far it got, exit as an interrupted command does
        err.print(str(exc), markup=False)
        raise typer.Exit(INTERRUPTED) from None


@app.command()
def train(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out", help="Model directory to write (policy spec mlp:OUT).")],
    timesteps: Annotated[int, typer.Option(min=1, help="Environment steps (decisions) in total.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of PPO and of the environments.")] = 0,
    envs: Annotated[
        int, typer.Option(min=1, max=MAX_PROCESSES, help="Parallel environments (processes when > 1).")
    ] = 2,
    episode_s: Annotated[float, typer.Option(min=1.0, help="Simulated seconds per episode.")] = 1800.0,
    markets: Annotated[int, typer.Option(min=1, help="Markets live at any time in each simulator.")] = 4,
    sessions: Annotated[
        str | None,
        typer.Option(
            metavar="PATH",
            help="Train on recorded sessions instead of the simulator: a SQLite file or database URL as "
            "'record' writes (PATH#1,3-5 selects sessions).",
        ),
    ] = None,
    session_ids: Annotated[
        str | None, typer.Option(help="With --sessions: the sessions to train on (1,3-5); default all.")
    ] = None,
    init_from: Annotated[
        str | None,
        typer.Option(
            metavar="SPEC",
            help="Behaviour-clone this rule policy (e.g. maker) before PPO; the environment takes its exits.",
        ),
    ] = None,
    passive: Annotated[
        bool, typer.Option(help="Trades rest post-only inside the touch (as maker's).")
    ] = False,
    learning_rate: Annotated[float | None, typer.Option(min=0.0, help="PPO's learning rate (3e-4).")] = None,
    clip_range: Annotated[float | None, typer.Option(min=0.0, help="PPO's clip range (0.2).")] = None,
    ent_coef: Annotated[float | None, typer.Option(min=0.0, help="PPO's entropy coefficient (0.01).")] = None,
    gamma: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="PPO's discount (0.95).")] = None,
    reward_mark: Annotated[
        str | None,
        typer.Option(
            metavar="exit|mid",
            help="Where the reward values open positions: the public mid (mid, the default) or the exit price (exit).",
        ),
    ] = None,
) -> None:
    """Train a PPO policy on the simulator or on recorded sessions (extra 'rl') and export it for mlp:OUT."""
    from kalshiflow.commands.train import PpoFlags, TrainUsageError, run_train_command

    if sessions is not None:
        _no_simulator_flags_with_sessions(ctx, "markets")
    flags = PpoFlags(init_from, passive, learning_rate, clip_range, ent_coef, reward_mark, gamma)
    try:
        run_train_command(
            timesteps,
            seed,
            out_dir,
            envs,
            episode_s,
            markets,
            out,
            sessions=sessions,
            session_ids=session_ids,
            flags=flags,
        )
    except TrainUsageError as exc:
        fail(str(exc))
