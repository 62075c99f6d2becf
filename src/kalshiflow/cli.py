"""The ``kalshiflow`` command line: parses flags, reports errors in one line, delegates to the runner.

Exit codes: 0 on success and on a clean Ctrl-C/SIGTERM stop, 2 on a usage error (bad flag value,
unreadable key file, port in use). Error messages name the flag and what to fix; no traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

# Each command imports its own body when it runs: the backtest's report pulls in matplotlib, the
# simulator its server, `run` the whole trader -- about 2 s of imports that `--help`, `status` or
# `ctl` would otherwise pay on every call, and a window in which Ctrl-C printed an import traceback.

try:  # typer >= 0.2x carries its own copy of click; older typer uses click itself
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - depends on the installed typer
    from click.exceptions import NoArgsIsHelpError, UsageError  # type: ignore[assignment]

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

USAGE_ERROR = 2
# The simulator's --account format (``commands.simulator.ACCOUNT_FORMAT``, which its errors quote;
# a test keeps the two equal) and the sim report's defaults (``ReportOptions``'s, likewise tested),
# spelled here so that building the command line imports neither.
ACCOUNT_FORMAT = "KEY_ID:PUBLIC_KEY_PEM_PATH:BALANCE_DOLLARS"
DEFAULT_REPORT_HOURS = 8.0
DEFAULT_REPORT_MARKETS = 480


def _fail(message: str) -> NoReturn:
    # The message is text, not markup: '.[rl]' or '[run] db' must print as written.
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise typer.Exit(USAGE_ERROR)


class _OneLineUsageErrors(TyperGroup):
    """A flag that does not parse (``--duration abc``, ``--sim-markets -3``, an unknown option) is
    one line naming it and exit code 2, like every other wrong setting, instead of click's framed
    usage box: a script or a person reading stderr sees the same shape of error whatever was wrong."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        prog_name = prog_name or "kalshiflow"  # as the user typed it, also under ``python -c``
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:  # bare `kalshiflow`: the error's message is the help
            typer.echo(exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "kalshiflow"
            message = f"{exc.format_message()} (see {command} --help)"
            err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
            sys.exit(USAGE_ERROR)
        except typer.Abort:
            err.print("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineUsageErrors,
    add_completion=False,
    no_args_is_help=True,
    help="Kalshi trader and local simulator.",
    rich_markup_mode=None,
)


def split_tickers(values: Sequence[str] | None) -> tuple[str, ...]:
    """``["A,B", "C"]`` -> ``("A", "B", "C")``: commas and repeated flags both work."""
    return tuple(dict.fromkeys(t.strip() for v in values or () for t in v.split(",") if t.strip()))


def process_environ() -> Mapping[str, str]:
    """The environment the commands read (``config.process_environ``, imported when a command runs)."""
    from kalshiflow.config import process_environ as environ

    return environ()


def _version() -> str:
    try:
        return version("kalshiflow")
    except PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        out.print(f"kalshiflow {_version()}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Kalshi trader and local simulator."""


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

    if data_dir is None:  # inside the one data directory `run` uses, wherever the environment puts it
        data_dir = paths.data_dir(None, process_environ()) / paths.SIM_DIR
    try:
        config = simulator_config(host, port, seed, markets, speed, data_dir, account or [], profile)
        asyncio.run(serve(config, out, _version()))
    except SimulatorUsageError as exc:
        _fail(str(exc))
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

    try:
        target = out_dir if out_dir is not None else paths.data_dir(None, process_environ()) / paths.SIM_REPORT_DIR
        report, files = run_sim_report(seed, hours, markets, target, life_scale, profile, process_environ())
    except (ProfileError, OSError) as exc:
        _fail(str(exc))
    out.print(render_report(report), highlight=False)
    for path in files:
        out.print(f"wrote {path}")


@app.command()
def backtest(
    policy: Annotated[
        str, typer.Option(metavar="SPEC[,SPEC...]", help="Policies: hold, random, rules, rules:signal, mm, longshot, maker, mlp:PATH.")
    ] = "hold,random,rules",
    seeds: Annotated[str, typer.Option(help="Simulator seeds: 1-20, 7 or 1,4,9-12.")] = "1-5",
    hours: Annotated[float, typer.Option(min=0.01, help="Simulated hours per run.")] = 2.0,
    markets: Annotated[int, typer.Option(min=1, help="Markets live at any time in the simulator.")] = 20,
    jobs: Annotated[int | None, typer.Option(min=1, help="Parallel processes (default: up to 2).")] = None,
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
) -> None:
    """Run policies through the real trader core against the simulated market seed by seed, or against
    recorded sessions (--sessions)."""
    from kalshiflow.commands.backtest.command import run_backtest_command
    from kalshiflow.commands.backtest.runner import BacktestUsageError

    try:
        run_backtest_command(
            policy, seeds, hours, markets, jobs, out_dir, config, out, sessions=sessions, session_ids=session_ids
        )
    except BacktestUsageError as exc:
        _fail(str(exc))


@app.command()
def train(
    out_dir: Annotated[Path, typer.Option("--out", help="Model directory to write (policy spec mlp:OUT).")],
    timesteps: Annotated[int, typer.Option(min=1, help="Environment steps (decisions) in total.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of PPO and of the environments.")] = 0,
    envs: Annotated[int, typer.Option(min=1, help="Parallel environments (processes when > 1).")] = 2,
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
    passive: Annotated[bool, typer.Option(help="Trades rest post-only inside the touch (as maker's).")] = False,
    learning_rate: Annotated[float | None, typer.Option(min=0.0, help="PPO's learning rate (3e-4).")] = None,
    clip_range: Annotated[float | None, typer.Option(min=0.0, help="PPO's clip range (0.2).")] = None,
    ent_coef: Annotated[float | None, typer.Option(min=0.0, help="PPO's entropy coefficient (0.01).")] = None,
) -> None:
    """Train a PPO policy on the simulator or on recorded sessions (extra 'rl') and export it for mlp:OUT."""
    from kalshiflow.commands.train import PpoFlags, TrainUsageError, run_train_command

    flags = PpoFlags(init_from, passive, learning_rate, clip_range, ent_coef)
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
        _fail(str(exc))


@app.command()
def record(
    exchange: Annotated[
        str | None, typer.Option(help="sim, demo or prod (env KALSHIFLOW_EXCHANGE; default sim).")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(help="REST base URL (env KALSHIFLOW_URL); sim without a URL starts its own simulator."),
    ] = None,
    key_id: Annotated[str | None, typer.Option(help="API key id (env KALSHIFLOW_KEY_ID).")] = None,
    key_file: Annotated[
        str | None,
        typer.Option(
            help="PEM private key file (env KALSHIFLOW_KEY_FILE, or the PEM in KALSHI_PRIVATE_KEY)."
        ),
    ] = None,
    markets: Annotated[
        list[str] | None,
        typer.Option(metavar="T1,T2", help="Tickers to record (comma-separated or repeated)."),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(min=0, help="Add the N most traded open markets (default 20; 0 with --markets)."),
    ] = None,
    series: Annotated[
        list[str] | None, typer.Option(help="Only markets of this series (repeatable).")
    ] = None,
    event: Annotated[list[str] | None, typer.Option(help="Only markets of this event (repeatable).")] = None,
    db: Annotated[
        str | None,
        typer.Option(
            help="Database URL (sqlite:///FILE or postgresql+psycopg://...; env KALSHIFLOW_DB, "
            "default <data dir>/kalshiflow.db, data dir ./.kalshiflow)."
        ),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    refresh: Annotated[
        float, typer.Option(help="Seconds between market discovery refreshes (0: never).")
    ] = 60.0,
) -> None:
    """Record live order books (snapshots and deltas) into the database."""
    from kalshiflow.commands.record import RecordOptions, RecordUsageError, run_record

    options = RecordOptions(
        exchange=exchange,
        url=url,
        key_id=key_id,
        key_file=key_file,
        markets=split_tickers(markets),
        series=split_tickers(series),
        events=split_tickers(event),
        top=top,
        db_url=db,
        duration_s=duration,
        refresh_s=refresh,
    )
    try:
        run_record(options, out)
    except RecordUsageError as exc:
        _fail(str(exc))


@app.command()
def run(
    exchange: Annotated[
        str | None, typer.Option(help="sim, demo or prod (env KALSHIFLOW_EXCHANGE; default sim).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="REST URL of a running simulator (env KALSHIFLOW_URL); none: embedded.")
    ] = None,
    key_id: Annotated[str | None, typer.Option(help="API key id (env KALSHIFLOW_KEY_ID).")] = None,
    key_file: Annotated[
        str | None, typer.Option(help="PEM private key file (env KALSHIFLOW_KEY_FILE or KALSHI_PRIVATE_KEY).")
    ] = None,
    policy: Annotated[
        str | None, typer.Option(help="hold, rules, rules:signal, mm, longshot, maker, random or mlp:PATH (default maker).")
    ] = None,
    paper: Annotated[
        bool | None,
        typer.Option("--paper/--live", help="Paper mode records decisions and sends nothing (default paper)."),
    ] = None,
    markets: Annotated[
        list[str] | None,
        typer.Option(metavar="T1,T2", help="Markets to trade (comma-separated or repeated)."),
    ] = None,
    top: Annotated[int | None, typer.Option(min=0, help="Trade the N most traded active markets.")] = None,
    db: Annotated[
        str | None, typer.Option(help="Store URL (env KALSHIFLOW_DB; default <data dir>/kalshiflow.db).")
    ] = None,
    data_dir: Annotated[
        str | None,
        typer.Option(help="Database, logs and simulator files (env KALSHIFLOW_DATA_DIR; default ./.kalshiflow)."),
    ] = None,
    config: Annotated[str | None, typer.Option(help="TOML settings file.")] = None,
    speed: Annotated[float, typer.Option(help="Embedded simulator only: clock speed.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Embedded simulator only: seed.")] = 0,
    sim_markets: Annotated[int, typer.Option(min=1, help="Embedded simulator only: markets listed.")] = 20,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    view: Annotated[bool, typer.Option(help="Live terminal view (off: one line per status change).")] = True,
    dashboard: Annotated[bool, typer.Option(help="Serve the web dashboard (--no-dashboard: off).")] = True,
    dashboard_host: Annotated[
        str | None,
        typer.Option(help="Dashboard interface (env KALSHIFLOW_DASHBOARD_HOST; default 127.0.0.1)."),
    ] = None,
    dashboard_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Dashboard port (env KALSHIFLOW_DASHBOARD_PORT; default 8000)."),
    ] = None,
) -> None:
    """Run the trader (default: against the embedded simulator, policy maker, paper mode)."""
    from kalshiflow.commands.run import RunFlags, RunUsageError, run_trader

    flags = RunFlags(
        exchange=exchange,
        url=url,
        key_id=key_id,
        key_file=key_file,
        config=config,
        policy=policy,
        paper=paper,
        markets=split_tickers(markets),
        top=top,
        db=db,
        speed=speed,
        seed=seed,
        sim_markets=sim_markets,
        duration_s=duration,
        view=view,
        data_dir=data_dir,
        dashboard=dashboard,
        dashboard_host=dashboard_host,
        dashboard_port=dashboard_port,
    )
    try:
        code = run_trader(flags, out, process_environ())
    except RunUsageError as exc:
        _fail(str(exc))
    raise typer.Exit(code)


@app.command()
def ctl(
    command: Annotated[str, typer.Argument(help="pause, resume, flatten, kill, unkill, calibrate or close.")],
    ticker: Annotated[str | None, typer.Argument(help="close only: the market to close.")] = None,
    url: Annotated[
        str | None, typer.Option(help="Dashboard URL (env KALSHIFLOW_DASHBOARD_URL; default http://127.0.0.1:8000).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Control token (env KALSHIFLOW_DASHBOARD_TOKEN; printed by run).")
    ] = None,
) -> None:
    """Steer a running trader through its dashboard: pause, resume, flatten, kill switch, calibrate."""
    from kalshiflow.commands.ctl import DEFAULT_URL, CtlCommand, CtlError, send_control

    try:
        parsed = CtlCommand(command)
    except ValueError:
        _fail(f"unknown control {command!r}; choose one of {', '.join(c.value for c in CtlCommand)}")
    try:
        reply = send_control(
            parsed,
            url or process_environ().get("KALSHIFLOW_DASHBOARD_URL", DEFAULT_URL),
            token or process_environ().get("KALSHIFLOW_DASHBOARD_TOKEN"),
            ticker,
        )
    except CtlError as exc:
        _fail(str(exc))
    out.print(f"{parsed.value}: {'done' if reply.ok else 'not done'} ({reply.detail})", markup=False)
    raise typer.Exit(0 if reply.ok else 1)


@app.command()
def status(
    db: Annotated[
        str | None, typer.Option(help="Store URL (env KALSHIFLOW_DB; default <data dir>/kalshiflow.db).")
    ] = None,
    data_dir: Annotated[
        str | None, typer.Option(help="Where `run` keeps its files (env KALSHIFLOW_DATA_DIR; default ./.kalshiflow).")
    ] = None,
    config: Annotated[str | None, typer.Option(help="TOML settings file (its [run] db).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The trader's last known state, cash, positions, resting orders and last calibration."""
    from kalshiflow.commands import paths
    from kalshiflow.commands.status import MissingDatabaseError, format_status, read_status, status_json
    from kalshiflow.config import SettingsError, load_settings
    from kalshiflow.store.db import DatabaseConfigError, DatabaseUnavailableError

    environ = process_environ()
    try:
        settings_db = load_settings(config, environ).run.db  # [run] db: the file or KALSHIFLOW_RUN__DB
    except SettingsError as exc:
        _fail(str(exc))
    url = paths.db_url(db, settings_db, environ, paths.data_dir(data_dir, environ))
    try:
        snapshot = read_status(url)
    except MissingDatabaseError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True)
        raise typer.Exit(1) from None
    except (DatabaseConfigError, DatabaseUnavailableError) as exc:
        _fail(str(exc))
    out.print(status_json(snapshot) if as_json else format_status(snapshot), markup=False)
