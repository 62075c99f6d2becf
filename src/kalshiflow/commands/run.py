"""``kalshiflow run``: settings and connection from flags, files and variables; the live view.

With no connection settings it starts the embedded simulator and trades it; with ``--exchange
demo|prod`` and a key it trades Kalshi; ``--exchange sim --url`` trades a running simulator. A
setting that is wrong stops it before anything is sent, with one line naming the setting (exit 2).
Ctrl-C or SIGTERM stops cleanly (resting orders cancelled, store flushed, exit 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console, RenderableType
from rich.live import Live

from kalshiflow.commands.app_state import AppState
from kalshiflow.commands.dashboard_wiring import build_dashboard
from kalshiflow.commands.decider import build_decider
from kalshiflow.commands.paths import SIM_DIR, DataDirError, data_dir, db_url, log_path, prepare_data_dir
from kalshiflow.commands.run_app import RunOptions, TraderApp
from kalshiflow.commands.startup import StartupError
from kalshiflow.commands.status import running_trader
from kalshiflow.commands.terminal_view import render
from kalshiflow.config import ENV_PREFIX, NESTED, SettingsError, load_settings, policy_exit_rules
from kalshiflow.dashboard.server import DEFAULT_PORT, DashboardBindError, DashboardConfig
from kalshiflow.dashboard.webhook import WebhookNotifier
from kalshiflow.exchange.auth import KeyConfigError
from kalshiflow.exchange.environments import ConnectionConfigError, Environment, ExchangeConnection
from kalshiflow.features import SCHEMA_V1
from kalshiflow.logs import LogConfig, start_logging
from kalshiflow.policy.base import PolicyLoadError
from kalshiflow.policy.registry import load_policy
from kalshiflow.store.db import DatabaseConfigError, DatabaseUnavailableError, normalize_url, redact_url
from kalshiflow.textfmt import plural


class RunUsageError(Exception):
    """A setting is wrong or the exchange cannot be reached; the message names what to fix."""


@dataclass(frozen=True)
class RunFlags:
    exchange: str | None = None
    url: str | None = None
    key_id: str | None = None
    key_file: str | None = None
    config: str | None = None
    policy: str | None = None
    paper: bool | None = None
    markets: tuple[str, ...] = ()
    top: int | None = None
    db: str | None = None
    speed: float = 1.0
    seed: int = 0
    sim_markets: int = 20
    duration_s: float | None = None
    view: bool = True
    data_dir: str | None = None
    dashboard: bool = True
    dashboard_host: str | None = None
    dashboard_port: int | None = None
    # The embedded simulator's flags the user typed (``--speed``, ``--seed``, ``--sim-markets``):
    # against another exchange they would do nothing, so they are refused instead.
    sim_flags_typed: tuple[str, ...] = ()


def _overrides(flags: RunFlags) -> dict[str, dict[str, Any]]:
    run: dict[str, Any] = {}
    markets: dict[str, Any] = {}
    if flags.policy is not None:
        run["policy"] = flags.policy
    if flags.paper is not None:
        run["paper"] = flags.paper
    if flags.markets:
        markets["tickers"] = list(flags.markets)
        markets.setdefault("top_n", 0)
    if flags.top is not None:
        markets["top_n"] = flags.top
    return {k: v for k, v in {"run": run, "markets": markets}.items() if v}


def _tickers_setting(flags: RunFlags, environ: Mapping[str, str]) -> str:
    """Where the tickers to trade came from (flag, variable or file), as an error names it."""
    if flags.markets:
        return "--markets"
    variable = f"{ENV_PREFIX}MARKETS{NESTED}TICKERS"
    for name in environ:
        if name.upper() == variable:
            return name
    return f"[markets] tickers in {flags.config}"


def _setting_source(
    flag: str, typed: bool, section: str, key: str, value: object, flags: RunFlags, environ: Mapping[str, str]
) -> str:
    """A setting and its value as the user wrote them -- ``--top 0``, ``KALSHIFLOW_MARKETS__TOP_N=0``
    or ``[markets] top_n = 0 in FILE`` -- so an error names what there is to change."""
    if typed:
        return f"{flag} {value}"
    variable = f"{ENV_PREFIX}{section.upper()}{NESTED}{key.upper()}"
    for name in environ:
        if name.upper() == variable:
            return f"{name}={environ[name]}"
    if flags.config is not None:
        shown = f'"{value}"' if isinstance(value, str) else value
        return f"[{section}] {key} = {shown} in {flags.config}"
    return f"{flag} {value}"


def build_options(flags: RunFlags, environ: Mapping[str, str]) -> tuple[RunOptions, Path]:
    """Everything that can be checked before anything starts: settings, markets, duration, policy,
    key, data directory and log file. Nothing is opened, started or contacted here."""
    try:
        settings = load_settings(flags.config, environ, _overrides(flags))
    except SettingsError as exc:
        raise RunUsageError(str(exc)) from None
    if flags.duration_s is not None and not (math.isfinite(flags.duration_s) and flags.duration_s >= 0):
        raise RunUsageError(f"--duration {flags.duration_s:g}: must be >= 0 seconds (none: until Ctrl-C)")
    if settings.markets.top_n == 0 and not settings.markets.tickers:
        top = _setting_source("--top", flags.top is not None, "markets", "top_n", 0, flags, environ)
        raise RunUsageError(
            f"no markets to trade: {top} trades only the markets named with --markets, and none are named"
        )
    try:
        load_policy(settings.run.policy, SCHEMA_V1)  # a bad policy stops startup before anything runs
    except PolicyLoadError as exc:
        policy = _setting_source(
            "--policy", flags.policy is not None, "run", "policy", settings.run.policy, flags, environ
        )
        raise RunUsageError(f"{policy}: {exc}") from None
    # The exits the policy was measured with (``maker``: none that cross), where the config sets none.
    settings = settings.model_copy(
        update={"exit_rules": policy_exit_rules(settings.exit_rules, settings.run.policy)}
    )
    exchange = flags.exchange or environ.get("KALSHIFLOW_EXCHANGE") or Environment.SIM.value
    url = flags.url or environ.get("KALSHIFLOW_URL")
    connection: ExchangeConnection | None = None
    if not (exchange.strip().lower() == Environment.SIM.value and not url):
        try:
            connection = ExchangeConnection.from_settings(
                flags.exchange, flags.url, flags.key_id, flags.key_file, environ
            )
            connection.signer()  # load the key now: a wrong key stops startup, naming the setting
        except (ConnectionConfigError, KeyConfigError) as exc:
            raise RunUsageError(str(exc)) from None
        if flags.sim_flags_typed:
            typed = ", ".join(flags.sim_flags_typed)
            raise RunUsageError(
                f"{typed}: for the embedded simulator only; this run trades {connection.rest_url}, whose "
                "clock and markets are its own (start `kalshiflow sim` with them instead)"
            )
    if not (math.isfinite(flags.speed) and flags.speed > 0):
        raise RunUsageError(f"--speed {flags.speed:g}: must be a positive, finite clock speed")
    try:
        directory = prepare_data_dir(data_dir(flags.data_dir, environ))
        log_file = log_path(settings.run.log_file, directory)
    except DataDirError as exc:
        raise RunUsageError(str(exc)) from None
    store_url = db_url(flags.db, settings.run.db, environ, directory)
    _check_db_url(store_url)
    options = RunOptions(
        settings=settings,
        db_url=store_url,
        connection=connection,
        url_setting="--url" if flags.url else "KALSHIFLOW_URL",
        tickers_setting=_tickers_setting(flags, environ),
        sim_seed=flags.seed,
        sim_markets=flags.sim_markets,
        sim_speed=flags.speed,
        sim_data_dir=directory / SIM_DIR,
        duration_s=flags.duration_s,
    )
    return options, log_file


def _check_db_url(url: str) -> None:
    """A database URL of an unsupported kind, or a SQLite file in a directory that does not exist,
    stops startup here, before the dashboard binds or the simulator starts (opening it comes later)."""
    try:
        parsed = normalize_url(url)
    except DatabaseConfigError as exc:
        raise RunUsageError(str(exc)) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise RunUsageError(f"--db {url}: directory {folder} does not exist")


def _check_no_other_trader(store_url: str | None) -> None:
    """One trader per store: a second ``run`` on the same data directory or ``--db`` would take the
    first one's orders in flight as its own and cancel them when it stops."""
    if store_url is None:
        return
    try:
        other = running_trader(store_url)
    except (DatabaseConfigError, DatabaseUnavailableError) as exc:
        raise RunUsageError(str(exc)) from None
    if other is not None:
        started = datetime.fromtimestamp(other.started_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise RunUsageError(
            f"another trader is running on {redact_url(store_url)} (pid {other.pid} on {other.host}, "
            f"started {started}): stop it first, or give this one its own --data-dir or --db"
        )


# ---------------------------------------------------------------------- dashboard wiring
def webhook_url(environ: Mapping[str, str]) -> str | None:
    """``KALSHIFLOW_WEBHOOK_URL``, checked now: a URL that cannot work would otherwise be found only
    when the first notice fails -- when the trader pauses, the moment it is needed."""
    url = environ.get("KALSHIFLOW_WEBHOOK_URL") or None
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed [IPv6] host
        usable = False
    if not usable:
        raise RunUsageError(
            "KALSHIFLOW_WEBHOOK_URL: expected an http(s) URL with a host, e.g. https://hooks.example.com/... "
            "(the value is not shown: webhook URLs often carry a secret)"
        )
    return url


def dashboard_config(flags: RunFlags, environ: Mapping[str, str]) -> DashboardConfig | None:
    """Where the dashboard listens (flag, then ``KALSHIFLOW_DASHBOARD_*``, then 127.0.0.1:8000)."""
    if not flags.dashboard:
        return None
    port = flags.dashboard_port
    if port is None:
        text = environ.get("KALSHIFLOW_DASHBOARD_PORT", str(DEFAULT_PORT))
        try:
            port = int(text)
        except ValueError:
            raise RunUsageError(f"KALSHIFLOW_DASHBOARD_PORT={text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise RunUsageError(f"dashboard port {port} is not in 0..65535 (--dashboard-port)")
    return DashboardConfig(
        host=flags.dashboard_host or environ.get("KALSHIFLOW_DASHBOARD_HOST", "127.0.0.1"),
        port=port,
        token=environ.get("KALSHIFLOW_DASHBOARD_TOKEN") or None,
        webhook_url=webhook_url(environ),
    )


def _announce_dashboard(app: TraderApp, console: Console, token_configured: bool) -> None:
    """The URL, and the token once (never logged): the only place it is ever shown."""
    dashboard = app.dashboard
    if dashboard is None:
        return
    console.print(f"dashboard {dashboard.url}")
    if token_configured:
        console.print("dashboard token: from KALSHIFLOW_DASHBOARD_TOKEN")
    else:
        console.print(f"dashboard token: {dashboard.token}")
    if not dashboard.loopback:
        console.print(
            f"[bold red]WARNING: the dashboard listens on {dashboard.config.host}, not loopback: anyone "
            "who can reach this address sees the trader, and with the token can steer it.[/]",
            markup=True,
        )


# ---------------------------------------------------------------------- run
def run_trader(flags: RunFlags, console: Console, environ: Mapping[str, str]) -> int:
    options, log_file = build_options(flags, environ)
    board = dashboard_config(flags, environ)
    hook = webhook_url(environ)
    _check_no_other_trader(options.db_url)
    live_view = flags.view and console.is_terminal
    run = options.settings.run
    handler = start_logging(
        LogConfig(
            path=log_file,
            max_bytes=run.log_max_mb * 1_000_000,
            backups=run.log_backups,
            stderr_level=None if live_view else logging.WARNING,  # a short line when no view shows it
        )
    )
    try:
        return asyncio.run(_main(options, console, flags.view, board, hook))
    except DashboardBindError as exc:
        raise RunUsageError(str(exc)) from None
    except (StartupError, PolicyLoadError) as exc:
        raise RunUsageError(str(exc)) from None
    except (DatabaseConfigError, DatabaseUnavailableError) as exc:
        raise RunUsageError(str(exc)) from None
    finally:
        handler.close()


async def _main(
    options: RunOptions, console: Console, view: bool, board: DashboardConfig | None, hook: str | None = None
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = TraderApp(options, build_decider)
    if board is not None:
        app.dashboard = build_dashboard(app, board)  # binds now: a busy port stops us before any order
        _announce_dashboard(app, console, board.token is not None)
    elif hook is not None:  # --no-dashboard turns the page off, not the notifications
        app.webhook = WebhookNotifier(hook, app.bus, app.state)
    loop.add_signal_handler(signal.SIGUSR1, app.resume)  # operator: resume a paused trader
    ready = asyncio.Event()

    def on_ready(state: AppState) -> None:
        console.print(
            f"trading {plural(len(state.core.markets) if state.core else 0, 'market')} at {state.rest_url}"
        )
        ready.set()

    viewer = asyncio.create_task(_show(app.state, console, stop, ready, view))
    try:
        return await app.run(stop, on_ready)
    finally:
        stop.set()
        printed: int | None = None
        with contextlib.suppress(asyncio.CancelledError):
            printed = await viewer
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
            loop.remove_signal_handler(sig)
        # status text is data ('[run]' is not a style). Without the live view every line was
        # printed as it came: print the ones the stop added, in order, and nothing twice; after
        # the live view (gone from the screen), the last three, newest first, as its console showed.
        lifecycle = app.state.lifecycle
        lines = (
            lifecycle.console(3)
            if printed is None
            else [entry.console_line() for entry in lifecycle.entries_after(printed)]
        )
        for line in lines:
            console.print(line, markup=False)
        report = app.state.stop_report
        if report is not None:
            console.print(f"summary: {report.summary()}", markup=False)
        if app.state.actor is not None:
            console.print(app.state.actor.metrics.summary(app.state.actor.paper), markup=False)


async def _show(
    state: AppState, console: Console, stop: asyncio.Event, ready: asyncio.Event, view: bool
) -> int | None:
    """The live view on a terminal (returns None); elsewhere one status line per state change
    (returns how many history entries it printed, so the stop's own lines follow without repeats).

    Counted by ``Lifecycle.recorded``, not the history's length: the history is bounded (500), and
    counted by its length the lines stopped after the 500th entry -- a soak run's console went
    silent after 2 of its 20 minutes, the stop's own lines included."""
    if not (view and console.is_terminal):
        seen = 0
        lifecycle = state.lifecycle
        while not stop.is_set():
            for entry in lifecycle.entries_after(seen):
                console.print(entry.console_line(), markup=False)
            seen = lifecycle.recorded
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        return seen

    def frame() -> RenderableType:  # fits the terminal as it is now (it may have been resized)
        return render(state, width=console.size.width, height=console.size.height)

    with Live(frame(), console=console, refresh_per_second=2, transient=False) as live:
        while not stop.is_set():
            live.update(frame())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    return None
