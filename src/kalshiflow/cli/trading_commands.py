"""The commands that work against an exchange: ``record`` its books, ``run`` the trader, steer it
(``ctl``) and read its last known state (``status``).

The trader, the store and the client are imported when a command runs, not to build the CLI.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kalshiflow.cli.app import app, fail, out, print_error, process_environ, split_tickers


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
        fail(str(exc))


@app.command()
def run(
    ctx: typer.Context,
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
        str | None,
        typer.Option(
            help="hold, rules, rules:signal, mm, longshot, maker, random, ppo or mlp:PATH (default ppo)."
        ),
    ] = None,
    paper: Annotated[
        bool | None,
        typer.Option(
            "--paper/--live",
            help="Paper mode records decisions and sends nothing (default: live on the simulator and demo, "
            "paper on prod).",
        ),
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
        typer.Option(
            help="Database, logs and simulator files (env KALSHIFLOW_DATA_DIR; default ./.kalshiflow)."
        ),
    ] = None,
    config: Annotated[str | None, typer.Option(help="TOML settings file.")] = None,
    speed: Annotated[float, typer.Option(help="Embedded simulator only: clock speed.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Embedded simulator only: seed.")] = 0,
    sim_markets: Annotated[int, typer.Option(min=1, help="Embedded simulator only: markets listed.")] = 20,
    duration: Annotated[
        float | None,
        typer.Option(
            help="Stop after this many wall-clock seconds, counted from the end of the startup "
            "calibration (also under --speed; default: until Ctrl-C)."
        ),
    ] = None,
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
    """Run the trader (default: against the embedded simulator, the shipped PPO policy, trading)."""
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
        sim_flags_typed=tuple(
            "--" + name.replace("_", "-")
            for name in ("speed", "seed", "sim_markets")
            if (source := ctx.get_parameter_source(name)) is not None and source.name != "DEFAULT"
        ),
    )
    try:
        code = run_trader(flags, out, process_environ())
    except RunUsageError as exc:
        fail(str(exc))
    raise typer.Exit(code)


@app.command()
def ctl(
    command: Annotated[str, typer.Argument(help="pause, resume, flatten, kill, unkill, calibrate or close.")],
    ticker: Annotated[str | None, typer.Argument(help="close only: the market to close.")] = None,
    url: Annotated[
        str | None,
        typer.Option(help="Dashboard URL (env KALSHIFLOW_DASHBOARD_URL; default http://127.0.0.1:8000)."),
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
        fail(f"unknown control {command!r}; choose one of {', '.join(c.value for c in CtlCommand)}")
    try:
        reply = send_control(
            parsed,
            url or process_environ().get("KALSHIFLOW_DASHBOARD_URL", DEFAULT_URL),
            token or process_environ().get("KALSHIFLOW_DASHBOARD_TOKEN"),
            ticker,
        )
    except CtlError as exc:
        fail(str(exc))
    out.print(f"{parsed.value}: {'done' if reply.ok else 'not done'} ({reply.detail})", markup=False)
    raise typer.Exit(0 if reply.ok else 1)


@app.command()
def status(
    db: Annotated[
        str | None, typer.Option(help="Store URL (env KALSHIFLOW_DB; default <data dir>/kalshiflow.db).")
    ] = None,
    data_dir: Annotated[
        str | None,
        typer.Option(help="Where `run` keeps its files (env KALSHIFLOW_DATA_DIR; default ./.kalshiflow)."),
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
        fail(str(exc))
    url = paths.db_url(db, settings_db, environ, paths.data_dir(data_dir, environ))
    try:
        snapshot = read_status(url)
    except MissingDatabaseError as exc:
        print_error(str(exc))
        raise typer.Exit(1) from None
    except (DatabaseConfigError, DatabaseUnavailableError) as exc:
        fail(str(exc))
    out.print(status_json(snapshot) if as_json else format_status(snapshot), markup=False)
