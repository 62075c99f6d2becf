"""The simulator's commands: ``sim`` serves the local exchange, ``sim-report`` compares its market with
real Kalshi.

Each command imports its own body when it runs (as every command module here): the simulator's
server, the report's market model are seconds of imports that ``--help`` would otherwise pay.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from kalshiflow.cli.app import app, fail, out, package_version, process_environ

# The simulator's --account format (``commands.simulator.ACCOUNT_FORMAT``, which its errors quote;
# a test keeps the two equal) and the sim report's defaults (``ReportOptions``'s, likewise tested),
# spelled here so that building the command line imports neither.
ACCOUNT_FORMAT = "KEY_ID:PUBLIC_KEY_PEM_PATH:BALANCE_DOLLARS"
DEFAULT_REPORT_HOURS = 8.0
DEFAULT_REPORT_MARKETS = 480


@app.command()
def sim(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 8900,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same run.")] = 0,
    markets: Annotated[int, typer.Option(min=1, help="Markets listed (kept live as they settle).")] = 20,
    speed: Annotated[float, typer.Option(min=0.001, help="Sim seconds per wall second.")] = 1.0,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory for the generated API key (default: sim/ in the data directory: "
            "KALSHIFLOW_DATA_DIR, else ./.kalshiflow)."
        ),
    ] = None,
    account: Annotated[
        list[str] | None,
        typer.Option(metavar=ACCOUNT_FORMAT, help="Register an API key (repeatable)."),
    ] = None,
    profile: Annotated[Path | None, typer.Option(help="TOML market profile (default: built-in).")] = None,
) -> None:
    """Run the local Kalshi Trade API v2 simulator until Ctrl-C."""
    import asyncio

    from kalshiflow.commands import paths
    from kalshiflow.commands.simulator import SimulatorUsageError, serve, simulator_config

    if not math.isfinite(speed):
        fail(f"--speed {speed:g}: must be a finite number of sim seconds per wall second")
    if data_dir is None:  # inside the one data directory `run` uses, wherever the environment puts it
        data_dir = paths.data_dir(None, process_environ()) / paths.SIM_DIR
    try:
        config = simulator_config(host, port, seed, markets, speed, data_dir, account or [], profile)
        asyncio.run(serve(config, out, package_version()))
    except SimulatorUsageError as exc:
        fail(str(exc))
    except KeyboardInterrupt:  # a Ctrl-C before the signal handlers were installed
        pass
    out.print("simulator stopped")


@app.command("sim-report")
def sim_report(
    seed: Annotated[int, typer.Option(help="Seed of the simulated market.")] = 1,
    hours: Annotated[float, typer.Option(min=0.01, help="Simulated hours to run.")] = DEFAULT_REPORT_HOURS,
    markets: Annotated[int, typer.Option(min=1, help="Markets live at any time.")] = DEFAULT_REPORT_MARKETS,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Directory for report.json and the PNG plots (default: <data dir>/sim-report)."
        ),
    ] = None,
    life_scale: Annotated[
        float, typer.Option(min=0.001, help="Multiplies market lifetimes (short lives settle more markets).")
    ] = 0.05,
    profile: Annotated[Path | None, typer.Option(help="TOML market profile (default: built-in).")] = None,
) -> None:
    """Run the simulated market headless and report how it compares with real Kalshi."""
    from kalshiflow.commands import paths
    from kalshiflow.sim.market.profile import ProfileError
    from kalshiflow.sim.market.report_cmd import render as render_report
    from kalshiflow.sim.market.report_cmd import sim_report as run_sim_report

    if not math.isfinite(hours) or not math.isfinite(life_scale):
        fail(f"--hours {hours:g} --life-scale {life_scale:g}: both must be finite numbers")
    try:
        target = (
            out_dir if out_dir is not None else paths.data_dir(None, process_environ()) / paths.SIM_REPORT_DIR
        )
        # The files are written after the run: a --out that cannot be used is found now, not after it.
        paths.prepare_dir(target, "--out")
        report, files = run_sim_report(seed, hours, markets, target, life_scale, profile, process_environ())
    except ProfileError as exc:
        fail(f"--profile {profile}: {exc}")
    except (paths.DataDirError, OSError) as exc:
        fail(str(exc))
    out.print(render_report(report), highlight=False)
    for path in files:
        out.print(f"wrote {path}")
